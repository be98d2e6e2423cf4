package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"zhutui/connectors/sqlite"
	"zhutui/pipeline"
)

// TestReadFailureIsNotAQuarantine: a registration export whose reading
// fails half-way (a disk's error, after the pass that hashed it) fails its
// take with nothing recorded; it is not quarantined, which would refuse the
// same bytes for ever after. Read whole the next time, it is taken.
func TestReadFailureIsNotAQuarantine(t *testing.T) {
	st, loc := takeSetup(t)
	loc.again = func(data []byte) io.Reader {
		return io.MultiReader(bytes.NewReader(data[:len(data)/2]), iotest.ErrReader(errors.New("input/output error")))
	}
	took, err := loc.take(st)
	if err == nil || !strings.Contains(err.Error(), "read: input/output error") || took.Quarantined != "" {
		t.Fatalf("a read that fails half-way: %v, quarantined %q", err, took.Quarantined)
	}
	loc.nothingRecorded(t, st, took)
	loc.again = nil
	loc.takenWhole(t, st)
}

// TestFileBeingWrittenIsLeftForTheNextRun: an export its sender is still
// writing changes between the pass that hashes it and the pass that reads
// its rows. Nothing of it is recorded, and the finished file is taken whole
// the next time; quarantined, as it was before session 26, the finished
// bytes met the half's name and were quarantined too.
func TestFileBeingWrittenIsLeftForTheNextRun(t *testing.T) {
	st, loc := takeSetup(t)
	loc.first = func(data []byte) io.Reader { return bytes.NewReader(data[:len(data)/2]) }
	took, err := loc.take(st)
	if err != nil || took.Quarantined != "" || !strings.Contains(took.NotTaken, "it changed while it was being read") {
		t.Fatalf("a file being written: %v, %+v", err, took)
	}
	loc.nothingRecorded(t, st, took)
	loc.first = nil
	loc.takenWhole(t, st)
}

// takeSetup opens an empty store and a folder holding night 1's
// registration export, read whole both times.
func takeSetup(t *testing.T) (*sqlite.Store, *oneFile) {
	t.Helper()
	data, err := os.ReadFile("../../fixtures/samples/night1/registrations.csv")
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "zhutui.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, &oneFile{data: data}
}

// oneFile is a folder holding export.csv: its first read gives first(data),
// a read after it is rewound again(data), each the data itself when nil.
type oneFile struct {
	data         []byte
	first, again func([]byte) io.Reader
}

func (f *oneFile) String() string                         { return "file:///one" }
func (f *oneFile) List(context.Context) ([]string, error) { return []string{"export.csv"}, nil }
func (f *oneFile) Put(context.Context, string, []byte) (bool, error) {
	return false, errors.New("oneFile: read-only")
}
func (f *oneFile) Open(context.Context, string) (io.ReadSeekCloser, error) {
	r := &rereading{f: f}
	r.r = r.read(f.first)
	return r, nil
}

func (f *oneFile) take(st *sqlite.Store) (pipeline.Taken, error) {
	now := time.Date(2014, 2, 1, 2, 30, 0, 0, pipeline.Beijing)
	return pipeline.TakeFile(context.Background(), st, formats, pipeline.KindRegistrations, f, "export.csv", 0, now)
}

// nothingRecorded fails the test unless the store knows no file of the
// bytes took saw.
func (f *oneFile) nothingRecorded(t *testing.T, st *sqlite.Store, took pipeline.Taken) {
	t.Helper()
	if v, _, err := st.CheckFile(context.Background(), f.String(), "export.csv", took.SHA256, ""); err != nil || v != pipeline.FileNew {
		t.Fatalf("after it the file is %v (%v), want new: nothing recorded", v, err)
	}
}

// takenWhole fails the test unless the file, read whole, is taken: all 31
// rows applied or rejected, nothing quarantined.
func (f *oneFile) takenWhole(t *testing.T, st *sqlite.Store) {
	t.Helper()
	took, err := f.take(st)
	if rows := took.Applied + took.Unchanged + took.Rejected; err != nil || took.Quarantined != "" || took.NotTaken != "" ||
		took.Applied == 0 || rows != 31 {
		t.Fatalf("the file read whole: %v, %d of its 31 rows read (%+v)", err, rows, took)
	}
}

type rereading struct {
	f *oneFile
	r io.Reader
}

func (r *rereading) read(how func([]byte) io.Reader) io.Reader {
	if how == nil {
		return bytes.NewReader(r.f.data)
	}
	return how(r.f.data)
}
func (r *rereading) Read(p []byte) (int, error) { return r.r.Read(p) }
func (r *rereading) Close() error               { return nil }
func (r *rereading) Seek(offset int64, whence int) (int64, error) {
	if offset != 0 || whence != io.SeekStart {
		return 0, errors.New("rereading: only rewinds")
	}
	r.r = r.read(r.f.again)
	return 0, nil
}

// TestRunSaysNotTaken: the run's output names a file left for the next run.
func TestRunSaysNotTaken(t *testing.T) {
	var out bytes.Buffer
	app := &App{stdout: &out}
	app.printResult(&pipeline.Result{RunID: 3, Failed: pipeline.StageCollect, Files: []pipeline.Taken{{
		InboundFile: pipeline.InboundFile{Kind: pipeline.KindRegistrations, Name: "export.csv"},
		NotTaken:    "it changed while it was being read (still being written?): nothing of it taken"}}})
	want := "run 3\n  registrations export.csv: NOT TAKEN: it changed while it was being read (still being written?): " +
		"nothing of it taken; the next run takes it\n"
	if out.String() != want {
		t.Errorf("output:\n%q\nwant\n%q", out.String(), want)
	}
}
