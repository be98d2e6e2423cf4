package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"zhutui/pipeline/crashpoint"
)

// Location is a folder files are exchanged through: file:///abs/dir or
// sftp://user@host:port/abs/dir. Implementations live in connectors.
type Location interface {
	// String is the location's URL, without credentials.
	String() string
	// List returns the names of the files in the folder, sorted.
	List(ctx context.Context) ([]string, error)
	// Open returns a local, seekable copy of a file (for a remote folder, a
	// downloaded copy checked against the remote size). Close releases it.
	Open(ctx context.Context, name string) (io.ReadSeekCloser, error)
	// Put writes a file so that no reader ever sees part of it: under a
	// temporary name, checked, then renamed into place. When the final name
	// already holds the same bytes it does nothing and reports already; when
	// it holds other bytes it fails with ErrClash and overwrites nothing.
	Put(ctx context.Context, name string, data []byte) (already bool, err error)
}

// A Stamper is a location that can tell, without reading a file, that it has
// not changed: a file's stamp changes whenever its bytes may have (a local
// file's inode, size, mtime and ctime, as the kernel sets ctime on every
// write; a remote file's size and mtime, which a sender could set back). A
// file whose stamp is the one recorded when it was taken is not read again.
type Stamper interface {
	Stamp(ctx context.Context, name string) (string, error)
}

// A FolderChecker is a location that can tell whether its folder itself is
// there, by a stat that a folder that may not be listed still answers.
// Deliver asks it before it takes a payment file's absence for the bank
// having taken the file: a folder gone (a mount that failed, a share moved)
// says nothing of the files that were in it.
type FolderChecker interface {
	// CheckFolder returns nil when the folder is there, an error wrapping
	// fs.ErrNotExist when it is not, and any other error it meets.
	CheckFolder(ctx context.Context) error
}

// ErrClash means a file of the same name with other bytes is already at a
// location: zhutui never overwrites it.
var ErrClash = errors.New("a file of that name with other content is already there")

// A Stager is a location that puts a file in Put's two steps, so that the
// caller can record between them that the file is about to appear: Stage
// writes the file under its temporary name and checks it, Commit renames it
// into place. The staged copy stays until Commit, across a crash too, so
// after one the caller can tell a file never committed (its staged copy is
// there) from one committed and then taken away by its reader (neither is).
type Stager interface {
	// Stage writes and checks data under name's temporary name, replacing
	// any staged copy. When the final name already holds the same bytes it
	// writes nothing and reports already; other bytes there fail with ErrClash.
	Stage(ctx context.Context, name string, data []byte) (already bool, err error)
	// Commit renames the staged copy of data into place, never overwriting:
	// already when the final name holds the same bytes, ErrClash when it holds
	// others, ErrNotStaged when neither the final name nor a staged copy is
	// there, and an error when the staged copy holds other bytes.
	Commit(ctx context.Context, name string, data []byte) (already bool, err error)
}

// ErrNotStaged means Commit found neither the file nor a staged copy of it.
var ErrNotStaged = errors.New("neither the file nor a staged copy of it is there")

// CheckPutName refuses a name that a location must not put: one that is not
// a plain file name (a folder in it), or a hidden one, as the names of
// temporary and staged copies are.
func CheckPutName(name string) error {
	if name != path.Base(name) || strings.HasPrefix(name, ".") {
		return errors.New("not a plain file name")
	}
	return nil
}

// Inspection is what one pass over a file tells: size, SHA-256 and encoding.
type Inspection struct {
	Size     int64
	SHA256   string
	Encoding string
}

// Formats reads the inbound file formats; connectors provide them.
type Formats struct {
	// Inspect reads a file once, hashing it and telling its encoding.
	Inspect func(r io.Reader) (Inspection, error)
	// Registrations and Certificates return a source that reads one file.
	Registrations func(file string, r io.Reader, encoding string) RegistrationSource
	Certificates  func(file string, r io.Reader, encoding string) CertificateSource
	// Result reads a bank result file.
	Result func(file string, r io.Reader) (*ResultFile, error)
}

// IngestStore is the part of the store that takes inbound files.
type IngestStore interface {
	// CheckFile says what to do with a file; for FileQuarantinedBefore it
	// also returns why it was quarantined. When the same bytes were seen
	// before, it remembers stamp (if any) for them.
	CheckFile(ctx context.Context, location, name, sha, stamp string) (FileVerdict, string, error)
	// TakenWithStamp says whether the file of that name was taken with this
	// stamp. A file quarantined before is read again: its sender may have
	// corrected it under the same name, and a remote stamp could miss that.
	TakenWithStamp(ctx context.Context, location, name, stamp string) (bool, error)
	Quarantine(ctx context.Context, f InboundFile, reason string) error
	IngestRegistrations(ctx context.Context, f InboundFile, read RegistrationSource) (FileOutcome, error)
	IngestCertificates(ctx context.Context, f InboundFile, read CertificateSource) (FileOutcome, error)
	IngestResult(ctx context.Context, f InboundFile, rf *ResultFile) (FileOutcome, error)
}

// Taken is the account of one inbound file found at a location.
type Taken struct {
	InboundFile
	Skipped bool // taken or quarantined before (then Quarantined says why): nothing done
	// NotTaken says why a file was left, with nothing recorded, to be
	// taken again: it changed while it was read (ErrChangedWhileRead).
	NotTaken string
	FileOutcome
}

// ErrChangedWhileRead is a file whose bytes changed between the pass that
// hashed it and the pass that read its rows: its sender is most likely still
// writing it. Nothing of it is recorded, so that the next run takes it whole;
// quarantined, its finished bytes would meet the half's name and be
// quarantined too.
var ErrChangedWhileRead = errors.New("it changed while it was being read (still being written?)")

// FutureSkew is how far past the clock a row's updated_at may lie: the
// clocks of the sender and of zhutui may disagree, by hours at most. A row
// dated later than that (a typed year, a clock far ahead) would win against
// every correction sent after it, since an equal or older version changes
// nothing (§2.1); it is rejected instead, with its line, for its sender to
// mend.
const FutureSkew = 24 * time.Hour

// TakeFile takes one file of a location: it inspects it, skips it when the
// same name and bytes were taken before, quarantines it when a taken file of
// the same name had other bytes, and otherwise applies it in one transaction.
// Registration and certificate rows dated more than FutureSkew after now are
// rejected.
func TakeFile(ctx context.Context, st IngestStore, formats Formats, kind FileKind, loc Location, name string, runID int64, now time.Time) (Taken, error) {
	t := Taken{InboundFile: InboundFile{Kind: kind, Location: loc.String(), Name: name, RunID: runID}}
	// The stamp is read before the bytes: a file that changes while it is
	// read has another stamp the next night, and is read again then.
	if s, ok := loc.(Stamper); ok {
		stamp, err := s.Stamp(ctx, name)
		if err != nil {
			return t, fmt.Errorf("stat %s %s/%s: %w", kind, loc, name, err)
		}
		t.Stamp = stamp
	}
	if t.Stamp != "" {
		taken, err := st.TakenWithStamp(ctx, t.Location, name, t.Stamp)
		if err != nil {
			return t, err
		}
		if taken {
			t.Skipped = true
			return t, nil
		}
	}
	f, err := loc.Open(ctx, name)
	if err != nil {
		return t, fmt.Errorf("open %s %s/%s: %w", kind, loc, name, err)
	}
	defer f.Close()
	in, err := formats.Inspect(f)
	if err != nil {
		return t, fmt.Errorf("read %s %s/%s: %w", kind, loc, name, err)
	}
	t.SHA256, t.Size, t.Encoding = in.SHA256, in.Size, in.Encoding
	verdict, why, err := st.CheckFile(ctx, t.Location, name, in.SHA256, t.Stamp)
	if err != nil {
		return t, err
	}
	if t.seen(verdict, why) {
		return t, nil
	}
	switch verdict {
	case FileNameClash:
		t.Quarantined = "a file of this name with other content was taken before; not applied"
		if kind != KindResults {
			// Rows are versions (§2.1): taking the whole file again is safe.
			t.Quarantined += " (to take its rows, put it in under another name: rows taken before change nothing)"
		}
		return t, st.Quarantine(ctx, t.InboundFile, t.Quarantined)
	}
	crashpoint.Here("take:second-pass")
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return t, fmt.Errorf("read %s/%s: %w", loc, name, err)
	}
	// The second pass hashes again: a file that changed between the passes
	// is not applied.
	h := sha256.New()
	body := &sameBytes{r: io.TeeReader(f, h), h: h, want: in.SHA256, file: name}
	dated := notFuture{file: name, latest: now.Add(FutureSkew)}
	switch kind {
	case KindRegistrations:
		t.FileOutcome, err = st.IngestRegistrations(ctx, t.InboundFile,
			body.registrations(dated.registrations(formats.Registrations(name, body, in.Encoding))).Pipelined())
	case KindCertificates:
		t.FileOutcome, err = st.IngestCertificates(ctx, t.InboundFile,
			body.certificates(dated.certificates(formats.Certificates(name, body, in.Encoding))).Pipelined())
	case KindResults:
		rf, perr := formats.Result(name, body)
		if perr == nil {
			perr = body.check()
		}
		// A misnamed file, taken, would keep its name from the right file
		// for its batch: that one would then clash with it (§2.3).
		if perr == nil && !strings.EqualFold(name, ResultFileName(rf.BatchID)) {
			perr = &FileError{File: name, Reason: fmt.Sprintf("answers batch %s (its header) but is not named %s",
				rf.BatchID, ResultFileName(rf.BatchID))}
		}
		if IsFileError(perr) {
			t.Quarantined = perr.Error()
			return t, st.Quarantine(ctx, t.InboundFile, t.Quarantined)
		}
		if perr != nil {
			err = fmt.Errorf("read %s/%s: %w", loc, name, perr)
			break
		}
		t.FileOutcome, err = st.IngestResult(ctx, t.InboundFile, rf)
	default:
		return t, fmt.Errorf("take %s: unknown kind %q", name, kind)
	}
	if errors.Is(err, ErrChangedWhileRead) {
		t.FileOutcome, t.NotTaken = FileOutcome{}, ErrChangedWhileRead.Error()+": nothing of it taken"
		return t, nil
	}
	return t, err
}

// seen marks a file seen before as skipped, saying why when it was
// quarantined then; it reports whether the verdict was one of those.
func (t *Taken) seen(verdict FileVerdict, why string) bool {
	switch verdict {
	case FileSeen:
		t.Skipped = true
	case FileQuarantinedBefore:
		t.Skipped = true
		t.Quarantined = "quarantined before, nothing applied: " + why
	default:
		return false
	}
	return true
}

// sameBytes checks, once a source has read a file, that its bytes still hash
// to what the first pass saw.
type sameBytes struct {
	r    io.Reader
	h    interface{ Sum([]byte) []byte }
	want string
	file string
}

func (s *sameBytes) Read(p []byte) (int, error) { return s.r.Read(p) }

func (s *sameBytes) check() error {
	if _, err := io.Copy(io.Discard, s.r); err != nil {
		return err
	}
	if got := hex.EncodeToString(s.h.Sum(nil)); got != s.want {
		return fmt.Errorf("%s: %w", s.file, ErrChangedWhileRead)
	}
	return nil
}

func (s *sameBytes) registrations(src RegistrationSource) RegistrationSource {
	return func(row RegistrationSink, reject RejectSink) error {
		if err := src(row, reject); err != nil {
			return err
		}
		return s.check()
	}
}

func (s *sameBytes) certificates(src CertificateSource) CertificateSource {
	return func(row CertificateSink, reject RejectSink) error {
		if err := src(row, reject); err != nil {
			return err
		}
		return s.check()
	}
}

// notFuture rejects the rows of a file dated after latest (see FutureSkew).
type notFuture struct {
	file   string
	latest time.Time
}

func (n notFuture) registrations(src RegistrationSource) RegistrationSource {
	return func(row RegistrationSink, reject RejectSink) error {
		return src(func(line int, r *Registration) error {
			if r.UpdatedAt.After(n.latest) {
				return reject(n.rejection(line, r.UpdatedAt))
			}
			return row(line, r)
		}, reject)
	}
}

func (n notFuture) certificates(src CertificateSource) CertificateSource {
	return func(row CertificateSink, reject RejectSink) error {
		return src(func(line int, c *Certificate) error {
			if c.UpdatedAt.After(n.latest) {
				return reject(n.rejection(line, c.UpdatedAt))
			}
			return row(line, c)
		}, reject)
	}
}

func (n notFuture) rejection(line int, at time.Time) Reject {
	return Reject{File: n.file, Line: line, Field: "updated_at", Reason: fmt.Sprintf(
		"%s lies in the future (later than %s): such a version would win against every correction sent after it",
		FormatTime(at), FormatTime(n.latest))}
}

// Inbound says whether a name found at an inbound location is a file of the
// given kind to take: hidden and temporary files never are.
func Inbound(kind FileKind, name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".tmp") || strings.HasSuffix(name, ".part") {
		return false
	}
	lower := strings.ToLower(name)
	switch kind {
	case KindResults:
		return strings.HasPrefix(name, "ZTRES_") && strings.HasSuffix(lower, ".txt")
	default:
		return strings.HasSuffix(lower, ".csv")
	}
}

// IsFileError reports whether err means a file was not to be trusted.
func IsFileError(err error) bool {
	var fe *FileError
	return errors.As(err, &fe)
}
