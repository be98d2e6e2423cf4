package pipeline_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"zhutui/pipeline"
)

func TestInbound(t *testing.T) {
	for _, tc := range []struct {
		kind pipeline.FileKind
		name string
		want bool
	}{
		{pipeline.KindRegistrations, "export-20140201.csv", true},
		{pipeline.KindCertificates, "FEED.CSV", true},
		{pipeline.KindRegistrations, ".export.csv", false},         // hidden
		{pipeline.KindRegistrations, "export.csv.tmp", false},      // being written
		{pipeline.KindRegistrations, "export.csv.part", false},     // being downloaded
		{pipeline.KindRegistrations, "export.xlsx", false},         // not CSV
		{pipeline.KindResults, "ZTRES_B2014020101.txt", true},      // the bank's answer
		{pipeline.KindResults, "ZTRES_B2014020101.TXT", true},      //
		{pipeline.KindResults, "ZTPAY_B2014020101.txt", false},     // our own payment file
		{pipeline.KindResults, "ZTRES_B2014020101.txt.tmp", false}, // being written
		{pipeline.KindResults, "ztres_B2014020101.txt", false},     // the name is fixed by §4.2
		{pipeline.KindResults, "ZTRES_B2014020101.csv", false},     // not the result file's form
	} {
		if got := pipeline.Inbound(tc.kind, tc.name); got != tc.want {
			t.Errorf("Inbound(%s, %q) = %v, want %v", tc.kind, tc.name, got, tc.want)
		}
	}
}

// TestFileChangedWhileRead: a file whose bytes change between the pass that
// hashes it and the pass that reads its rows (its sender still writing it)
// is not taken: the store gets ErrChangedWhileRead, which records nothing,
// and the take says so, with no error, for the next run to take it whole.
func TestFileChangedWhileRead(t *testing.T) {
	loc := &changingDir{first: "registration_id\nR1\n", then: "registration_id\nR2\n"}
	st := &recordingStore{}
	formats := hashingFormats()
	got, err := pipeline.TakeFile(context.Background(), st, formats, pipeline.KindRegistrations, loc, "a.csv", 1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(st.readErr, pipeline.ErrChangedWhileRead) || pipeline.IsFileError(st.readErr) ||
		!strings.Contains(st.readErr.Error(), "a.csv: it changed while it was being read") {
		t.Fatalf("the store's read returned %v, want ErrChangedWhileRead and no file error", st.readErr)
	}
	if got.NotTaken != "it changed while it was being read (still being written?): nothing of it taken" || got.Quarantined != "" || got.Skipped {
		t.Fatalf("taken %+v", got)
	}
	// The same file read the same both times is taken.
	loc.then = loc.first
	st.readErr = errors.New("not read")
	if got, err := pipeline.TakeFile(context.Background(), st, formats, pipeline.KindRegistrations, loc, "a.csv", 1, time.Now()); err != nil || st.readErr != nil || got.NotTaken != "" {
		t.Fatalf("a steady file: %v, read %v, %+v", err, st.readErr, got)
	}
}

// TestFutureRows: a row dated up to FutureSkew after the clock is taken; a
// second later it is rejected, naming its file, line and field.
func TestFutureRows(t *testing.T) {
	now := time.Date(2014, 2, 1, 2, 30, 0, 0, pipeline.Beijing)
	formats := hashingFormats()
	formats.Registrations = func(file string, r io.Reader, encoding string) pipeline.RegistrationSource {
		return func(row pipeline.RegistrationSink, _ pipeline.RejectSink) error {
			if _, err := io.ReadAll(r); err != nil {
				return err
			}
			for i, skew := range []time.Duration{pipeline.FutureSkew, pipeline.FutureSkew + time.Second} {
				if err := row(i+2, &pipeline.Registration{ID: fmt.Sprintf("R%d", i+1), UpdatedAt: now.Add(skew)}); err != nil {
					return err
				}
			}
			return nil
		}
	}
	st := &recordingStore{}
	loc := &changingDir{first: "registration_id\nR1\nR2\n", then: "registration_id\nR1\nR2\n"}
	if _, err := pipeline.TakeFile(context.Background(), st, formats, pipeline.KindRegistrations, loc, "a.csv", 1, now); err != nil || st.readErr != nil {
		t.Fatalf("take: %v, read %v", err, st.readErr)
	}
	want := "a.csv:3: updated_at: 2014-02-02 02:30:01 lies in the future (later than 2014-02-02 02:30:00): " +
		"such a version would win against every correction sent after it"
	if !slices.Equal(st.rows, []string{"R1"}) || !slices.Equal(st.rejects, []string{want}) {
		t.Errorf("rows %q, rejects %q; want R1, and R2 rejected", st.rows, st.rejects)
	}
}

// hashingFormats hashes a file and reads its registrations as bytes only.
func hashingFormats() pipeline.Formats {
	return pipeline.Formats{
		Inspect: func(r io.Reader) (pipeline.Inspection, error) {
			h := sha256.New()
			n, err := io.Copy(h, r)
			return pipeline.Inspection{Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), Encoding: "UTF-8"}, err
		},
		Registrations: func(file string, r io.Reader, encoding string) pipeline.RegistrationSource {
			return func(pipeline.RegistrationSink, pipeline.RejectSink) error {
				_, err := io.ReadAll(r)
				return err
			}
		},
	}
}

// changingDir is a location whose one file reads as first until it is
// rewound, and as then after.
type changingDir struct{ first, then string }

func (d *changingDir) String() string                         { return "file:///changing" }
func (d *changingDir) List(context.Context) ([]string, error) { return []string{"a.csv"}, nil }
func (d *changingDir) Put(context.Context, string, []byte) (bool, error) {
	return false, errors.New("read-only")
}
func (d *changingDir) Open(context.Context, string) (io.ReadSeekCloser, error) {
	return &changingFile{Reader: bytes.NewReader([]byte(d.first)), then: d.then}, nil
}

type changingFile struct {
	*bytes.Reader
	then string
}

func (f *changingFile) Seek(offset int64, whence int) (int64, error) {
	f.Reader = bytes.NewReader([]byte(f.then))
	return f.Reader.Seek(offset, whence)
}

func (f *changingFile) Close() error { return nil }

// recordingStore takes every file as new and keeps what reading it returned,
// and the registrations and rejects it was given.
type recordingStore struct {
	readErr error
	rows    []string
	rejects []string
}

func (s *recordingStore) CheckFile(context.Context, string, string, string, string) (pipeline.FileVerdict, string, error) {
	return pipeline.FileNew, "", nil
}

func (s *recordingStore) TakenWithStamp(context.Context, string, string, string) (bool, error) {
	return false, nil
}

func (s *recordingStore) Quarantine(context.Context, pipeline.InboundFile, string) error { return nil }

func (s *recordingStore) IngestRegistrations(_ context.Context, _ pipeline.InboundFile, read pipeline.RegistrationSource) (pipeline.FileOutcome, error) {
	s.readErr = read(func(_ int, r *pipeline.Registration) error {
		s.rows = append(s.rows, r.ID)
		return nil
	}, func(r pipeline.Reject) error {
		s.rejects = append(s.rejects, r.Error())
		return nil
	})
	// As the store does: a file error quarantines, another one is returned.
	if s.readErr != nil && !pipeline.IsFileError(s.readErr) {
		return pipeline.FileOutcome{}, s.readErr
	}
	return pipeline.FileOutcome{}, nil
}

func (s *recordingStore) IngestCertificates(context.Context, pipeline.InboundFile, pipeline.CertificateSource) (pipeline.FileOutcome, error) {
	return pipeline.FileOutcome{}, errors.New("not used")
}

func (s *recordingStore) IngestResult(context.Context, pipeline.InboundFile, *pipeline.ResultFile) (pipeline.FileOutcome, error) {
	return pipeline.FileOutcome{}, errors.New("not used")
}

// TestTakeFileByStamp: a file taken before with its stamp is not opened;
// one with a new stamp is read, and its stamp goes to the store with it.
func TestTakeFileByStamp(t *testing.T) {
	ctx := context.Background()
	loc := &stampedDir{changingDir: changingDir{first: "registration_id\nR1\n", then: "registration_id\nR1\n"}, stamp: "s1"}
	formats := hashingFormats()
	st := &stampStore{taken: map[string]bool{"s1": true}}
	got, err := pipeline.TakeFile(ctx, st, formats, pipeline.KindRegistrations, loc, "a.csv", 1, time.Now())
	if err != nil || !got.Skipped || got.Quarantined != "" || loc.opened != 0 {
		t.Fatalf("a file taken with this stamp: %+v, opened %d times, %v", got, loc.opened, err)
	}
	loc.stamp = "s2"
	got, err = pipeline.TakeFile(ctx, st, formats, pipeline.KindRegistrations, loc, "a.csv", 1, time.Now())
	if err != nil || got.Skipped || loc.opened != 1 || st.checkedWith != "s2" || st.ingested.Stamp != "s2" {
		t.Fatalf("a new stamp: %+v, opened %d times, checked with %q, ingested %+v, %v", got, loc.opened, st.checkedWith, st.ingested, err)
	}
}

// stampedDir is a changingDir that gives a stamp and counts its opens.
type stampedDir struct {
	changingDir
	stamp  string
	opened int
}

func (d *stampedDir) Stamp(context.Context, string) (string, error) { return d.stamp, nil }

func (d *stampedDir) Open(ctx context.Context, name string) (io.ReadSeekCloser, error) {
	d.opened++
	return d.changingDir.Open(ctx, name)
}

// stampStore knows some stamps; any file read is new.
type stampStore struct {
	recordingStore
	taken       map[string]bool
	checkedWith string
	ingested    pipeline.InboundFile
}

func (s *stampStore) TakenWithStamp(_ context.Context, _, _, stamp string) (bool, error) {
	return s.taken[stamp], nil
}

func (s *stampStore) CheckFile(_ context.Context, _, _, _, stamp string) (pipeline.FileVerdict, string, error) {
	s.checkedWith = stamp
	return pipeline.FileNew, "", nil
}

func (s *stampStore) IngestRegistrations(ctx context.Context, f pipeline.InboundFile, read pipeline.RegistrationSource) (pipeline.FileOutcome, error) {
	s.ingested = f
	return s.recordingStore.IngestRegistrations(ctx, f, read)
}

// TestTakeFileVerdicts: what the store knows of a file decides whether it is
// read: bytes taken or quarantined before are skipped (saying why for the
// latter), a name taken with other bytes is quarantined, unread.
func TestTakeFileVerdicts(t *testing.T) {
	for _, tc := range []struct {
		verdict        pipeline.FileVerdict
		why            string
		skipped        bool
		quarantined    string
		read, recorded bool // the rows read; the quarantine recorded
	}{
		{pipeline.FileNew, "", false, "", true, false},
		{pipeline.FileSeen, "", true, "", false, false},
		{pipeline.FileQuarantinedBefore, "totals disagree", true, "quarantined before, nothing applied: totals disagree", false, false},
		{pipeline.FileNameClash, "", false, "a file of this name with other content was taken before; not applied" +
			" (to take its rows, put it in under another name: rows taken before change nothing)", false, true},
	} {
		st := &verdictStore{verdict: tc.verdict, why: tc.why}
		loc := &changingDir{first: "registration_id\nR1\n", then: "registration_id\nR1\n"}
		got, err := pipeline.TakeFile(context.Background(), st, hashingFormats(), pipeline.KindRegistrations, loc, "a.csv", 1, time.Now())
		if err != nil || got.Skipped != tc.skipped || got.Quarantined != tc.quarantined || st.read != tc.read || (st.quarantined != "") != tc.recorded {
			t.Errorf("verdict %d: %+v (read %v, quarantined %q), %v", tc.verdict, got, st.read, st.quarantined, err)
		}
	}
}

// verdictStore gives one verdict for every file and records what TakeFile
// did with it.
type verdictStore struct {
	recordingStore
	verdict     pipeline.FileVerdict
	why         string
	read        bool
	quarantined string
	result      *pipeline.ResultFile
}

func (s *verdictStore) CheckFile(context.Context, string, string, string, string) (pipeline.FileVerdict, string, error) {
	return s.verdict, s.why, nil
}

func (s *verdictStore) Quarantine(_ context.Context, _ pipeline.InboundFile, why string) error {
	s.quarantined = why
	return nil
}

func (s *verdictStore) IngestRegistrations(ctx context.Context, f pipeline.InboundFile, read pipeline.RegistrationSource) (pipeline.FileOutcome, error) {
	s.read = true
	return s.recordingStore.IngestRegistrations(ctx, f, read)
}

func (s *verdictStore) IngestResult(_ context.Context, _ pipeline.InboundFile, rf *pipeline.ResultFile) (pipeline.FileOutcome, error) {
	s.result = rf
	return pipeline.FileOutcome{}, nil
}

// TestTakeResultFile: a result file is taken when it reads whole, unchanged,
// under its batch's name (in any case of its .txt); otherwise it is
// quarantined, and a read that fails for another reason is an error.
func TestTakeResultFile(t *testing.T) {
	formats := hashingFormats()
	formats.Result = func(_ string, r io.Reader) (*pipeline.ResultFile, error) {
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		if string(b) == "broken" {
			return nil, errors.New("connection reset")
		}
		return &pipeline.ResultFile{BatchID: strings.TrimSpace(string(b))}, nil
	}
	for _, tc := range []struct {
		name, first, then string
		taken             bool
		quarantined       string // in the reason
		err               string
	}{
		{"ZTRES_B2014020101.txt", "B2014020101", "B2014020101", true, "", ""},
		{"ZTRES_B2014020101.TXT", "B2014020101", "B2014020101", true, "", ""},
		{"ZTRES_B2014020102.txt", "B2014020101", "B2014020101", false, "answers batch B2014020101 (its header) but is not named ZTRES_B2014020101.txt", ""},
		{"ZTRES_B2014020101.txt", "B2014020101", "B2014020101\n", false, "", ""}, // changed while read: not taken
		{"ZTRES_B2014020101.txt", "broken", "broken", false, "", "connection reset"},
	} {
		st := &verdictStore{verdict: pipeline.FileNew}
		loc := &changingDir{first: tc.first, then: tc.then}
		got, err := pipeline.TakeFile(context.Background(), st, formats, pipeline.KindResults, loc, tc.name, 1, time.Now())
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) || st.quarantined != "" || st.result != nil {
				t.Errorf("%s %s: %+v, %v; want the error %q, nothing quarantined or taken", tc.name, tc.first, got, err, tc.err)
			}
		case err != nil:
			t.Errorf("%s %s: %v", tc.name, tc.first, err)
		case (st.result != nil) != tc.taken || !strings.Contains(st.quarantined, tc.quarantined) || (tc.quarantined != "") != (got.Quarantined != ""):
			t.Errorf("%s %s -> %s: taken %v, quarantined %q; want taken %v, quarantined for %q",
				tc.name, tc.first, tc.then, st.result != nil, st.quarantined, tc.taken, tc.quarantined)
		case (tc.first != tc.then) != (got.NotTaken != ""):
			t.Errorf("%s %s -> %s: not taken %q", tc.name, tc.first, tc.then, got.NotTaken)
		}
	}
}
