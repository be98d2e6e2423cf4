package report

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"zhutui/pipeline"
)

// The registrations' state is registrations.csv's lines with each one's level
// and station, kept in Dir/.state. A report starts from the last one and
// reads from the store only the registrations noted as changed since
// (ReportSource.ReportChanges), so that a night's report costs what the night
// changed rather than every registration ever taken. The store records the
// state's SHA-256 and rows; a state that does not match them, no state, a
// state of another format, or more changes than maxChanged mean that every
// registration is read, as a first night does. Either way registrations.csv
// has the same bytes.
//
// The state is binary, not CSV: after stateMagic, one record per line, each
// field length-prefixed (see appendStateRecord). Reading and writing a
// million CSV lines took 1 s of a 6.5 s second night.
const (
	stateFolder = ".state"
	stateFile   = "registrations.state"
	stateMagic  = "zhutui report state 2\n"
)

// maxChanged is how many noted changes are merged at most: they are held in
// memory (about 200 bytes each) while the state streams past.
const maxChanged = 250000

// registrationLines is where a report's registration lines come from.
type registrationLines struct {
	each    func(fn func(pipeline.RegistrationLine) error) error
	how     string // for the log: "all" or "changed since the last report"
	changes pipeline.ReportChanges
	path    string // the state file, "" when no state is kept
}

// registrationLines chooses between the state and the changes since, or
// every registration (keep: whether a state is read and written at all).
func (w *Writer) registrationLines(ctx context.Context, src pipeline.ReportSource, keep bool) (*registrationLines, error) {
	all := func(reason string) *registrationLines {
		return &registrationLines{how: "every registration (" + reason + ")",
			each: func(fn func(pipeline.RegistrationLine) error) error { return src.EachRegistration(ctx, fn) }}
	}
	if !keep {
		return all("no state kept for this folder"), nil
	}
	ch, err := src.ReportChanges(ctx)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(w.Dir, stateFolder, stateFile)
	use := func(l *registrationLines) *registrationLines {
		l.changes, l.path = ch, path
		return l
	}
	switch {
	case ch.State.SHA256 == "":
		return use(all("no state yet")), nil
	case ch.Notes > maxChanged:
		return use(all(fmt.Sprintf("%d changes noted, more than %d", ch.Notes, maxChanged))), nil
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return use(all(fmt.Sprintf("state unreadable: %v", err))), nil
	}
	if sum != ch.State.SHA256 {
		return use(all(fmt.Sprintf("state %s is not the one recorded", path))), nil
	}
	return use(&registrationLines{how: fmt.Sprintf("state and %d changes noted since", ch.Notes),
		each: func(fn func(pipeline.RegistrationLine) error) error { return merge(ctx, src, path, ch, fn) }}), nil
}

// merge streams the state at path with the changed registrations' lines in
// their place, in registration_id order.
func merge(ctx context.Context, src pipeline.ReportSource, path string, ch pipeline.ReportChanges, fn func(pipeline.RegistrationLine) error) error {
	var changed []pipeline.RegistrationLine
	if err := src.EachChangedRegistration(ctx, ch.Mark, func(l pipeline.RegistrationLine) error {
		changed = append(changed, l)
		return nil
	}); err != nil {
		return err
	}
	r, err := openState(path)
	if err != nil {
		return err
	}
	defer r.close()
	var rows int64
	next := 0
	for {
		var l pipeline.RegistrationLine
		if err := r.read(&l); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("report state %s, line %d: %w", path, rows+1, err)
		}
		rows++
		for ; next < len(changed) && changed[next].RegistrationID < l.RegistrationID; next++ {
			if err := fn(changed[next]); err != nil {
				return err
			}
		}
		if next < len(changed) && changed[next].RegistrationID == l.RegistrationID {
			if err := fn(changed[next]); err != nil {
				return err
			}
			next++
			continue
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	for ; next < len(changed); next++ {
		if err := fn(changed[next]); err != nil {
			return err
		}
	}
	if rows != ch.State.Rows {
		return fmt.Errorf("report state %s: %d lines, the store recorded %d", path, rows, ch.State.Rows)
	}
	return nil
}

// appendStateRecord appends a line's state record: the registration id,
// status, reasons, payment reference, batch and station, each as a uvarint
// length and its bytes; the level as a uvarint; the amount as a byte 0 (none)
// or 1 and a varint.
func appendStateRecord(b []byte, l *pipeline.RegistrationLine) []byte {
	for _, f := range []string{l.RegistrationID, string(l.Status), l.Reasons, l.PaymentRef, l.BatchID, l.Station} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	b = binary.AppendUvarint(b, uint64(l.Level))
	if l.AmountFen == nil {
		return append(b, 0)
	}
	return binary.AppendVarint(append(b, 1), *l.AmountFen)
}

// stateReader reads a state's records. The few distinct statuses, reasons,
// batches and stations are shared rather than copied for every line, and
// the amounts are taken from blocks, not allocated one by one.
type stateReader struct {
	f      *os.File
	r      *bufio.Reader
	buf    []byte
	shared map[string]string
	fens   []int64
}

func openState(path string) (*stateReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r := &stateReader{f: f, r: bufio.NewReaderSize(f, 256<<10), shared: map[string]string{}}
	head := make([]byte, len(stateMagic))
	if _, err := io.ReadFull(r.r, head); err != nil || string(head) != stateMagic {
		f.Close()
		return nil, fmt.Errorf("report state %s: not a state of this version", path)
	}
	return r, nil
}

func (r *stateReader) close() { r.f.Close() }

// read reads the next record into l; io.EOF when there is none.
func (r *stateReader) read(l *pipeline.RegistrationLine) error {
	id, err := r.bytes()
	if err != nil {
		return err // io.EOF at a record's start: the end
	}
	l.RegistrationID = string(id)
	for _, f := range []*string{(*string)(&l.Status), &l.Reasons, &l.PaymentRef, &l.BatchID, &l.Station} {
		b, err := r.bytes()
		if err != nil {
			return truncated(err)
		}
		if f == &l.PaymentRef {
			*f = string(b)
		} else {
			*f = r.share(b)
		}
	}
	level, err := binary.ReadUvarint(r.r)
	if err != nil {
		return truncated(err)
	}
	l.Level = int(level)
	has, err := r.r.ReadByte()
	if err != nil {
		return truncated(err)
	}
	if has == 1 {
		fen, err := binary.ReadVarint(r.r)
		if err != nil {
			return truncated(err)
		}
		if len(r.fens) == 0 {
			r.fens = make([]int64, 4096)
		}
		r.fens[0] = fen
		l.AmountFen, r.fens = &r.fens[0], r.fens[1:]
	} else if has != 0 {
		return fmt.Errorf("bad amount flag %d", has)
	}
	return nil
}

// bytes reads a length-prefixed field; the slice is valid until the next read.
func (r *stateReader) bytes() ([]byte, error) {
	n, err := binary.ReadUvarint(r.r)
	if err != nil {
		return nil, err
	}
	if n > 1<<20 {
		return nil, fmt.Errorf("a field of %d bytes", n)
	}
	if uint64(cap(r.buf)) < n {
		r.buf = make([]byte, n)
	}
	r.buf = r.buf[:n]
	if _, err := io.ReadFull(r.r, r.buf); err != nil {
		return nil, truncated(err)
	}
	return r.buf, nil
}

func (r *stateReader) share(b []byte) string {
	if s, ok := r.shared[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(r.shared) < 10000 {
		r.shared[s] = s
	}
	return s
}

func truncated(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// stateWriter writes the next state beside the current one; commit puts it
// in place.
type stateWriter struct {
	f    *os.File
	h    hash.Hash
	b    *bufio.Writer
	rows int64
	rec  []byte
}

func newStateWriter(path string) (*stateWriter, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".next-*.csv")
	if err != nil {
		return nil, err
	}
	s := &stateWriter{f: f, h: sha256.New()}
	s.b = bufio.NewWriterSize(io.MultiWriter(f, s.h), 256<<10)
	if _, err := s.b.WriteString(stateMagic); err != nil {
		s.abandon()
		return nil, err
	}
	return s, nil
}

func (s *stateWriter) add(l *pipeline.RegistrationLine) error {
	s.rows++
	s.rec = appendStateRecord(s.rec[:0], l)
	_, err := s.b.Write(s.rec)
	return err
}

// commit makes the written state the current one at path.
func (s *stateWriter) commit(path string) (pipeline.ReportState, error) {
	err := s.b.Flush()
	if err == nil {
		err = s.f.Sync()
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(s.f.Name(), path)
	}
	if err != nil {
		os.Remove(s.f.Name())
		return pipeline.ReportState{}, fmt.Errorf("report state: %w", err)
	}
	return pipeline.ReportState{SHA256: hex.EncodeToString(s.h.Sum(nil)), Rows: s.rows}, nil
}

// abandon removes an unfinished state.
func (s *stateWriter) abandon() {
	s.f.Close()
	os.Remove(s.f.Name())
}
