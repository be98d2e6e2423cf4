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
	ctx := context.Background()
	data, err := os.ReadFile("../../fixtures/samples/night1/registrations.csv")
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "zhutui.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	loc := &flakyFolder{data: data, broken: true}
	now := time.Date(2014, 2, 1, 2, 30, 0, 0, pipeline.Beijing)
	took, err := pipeline.TakeFile(ctx, st, formats, pipeline.KindRegistrations, loc, "export.csv", 0, now)
	if err == nil || !strings.Contains(err.Error(), "read: input/output error") || took.Quarantined != "" {
		t.Fatalf("a read that fails half-way: %v, quarantined %q", err, took.Quarantined)
	}
	if v, _, err := st.CheckFile(ctx, loc.String(), "export.csv", took.SHA256, ""); err != nil || v != pipeline.FileNew {
		t.Fatalf("after the failed read the file is %v (%v), want new: nothing recorded", v, err)
	}
	loc.broken = false
	took, err = pipeline.TakeFile(ctx, st, formats, pipeline.KindRegistrations, loc, "export.csv", 0, now)
	if rows := took.Applied + took.Unchanged + took.Rejected; err != nil || took.Quarantined != "" || took.Applied == 0 || rows != 31 {
		t.Fatalf("the same file read whole: %v, quarantined %q, %d of its 31 rows read (%+v)", err, took.Quarantined, rows, took.FileOutcome)
	}
}

// flakyFolder holds one file; while broken, reading it again after the
// first pass fails half-way.
type flakyFolder struct {
	data   []byte
	broken bool
}

func (f *flakyFolder) String() string                         { return "file:///flaky" }
func (f *flakyFolder) List(context.Context) ([]string, error) { return []string{"export.csv"}, nil }
func (f *flakyFolder) Put(context.Context, string, []byte) (bool, error) {
	return false, errors.New("flakyFolder: read-only")
}
func (f *flakyFolder) Open(context.Context, string) (io.ReadSeekCloser, error) {
	return &rereadBreaks{data: f.data, broken: f.broken, r: bytes.NewReader(f.data)}, nil
}

// rereadBreaks reads data; once rewound, when broken, it gives half of it
// and then an error.
type rereadBreaks struct {
	data   []byte
	broken bool
	r      io.Reader
}

func (b *rereadBreaks) Read(p []byte) (int, error) { return b.r.Read(p) }
func (b *rereadBreaks) Close() error               { return nil }
func (b *rereadBreaks) Seek(offset int64, whence int) (int64, error) {
	if offset != 0 || whence != io.SeekStart {
		return 0, errors.New("rereadBreaks: only rewinds")
	}
	b.r = bytes.NewReader(b.data)
	if b.broken {
		b.r = io.MultiReader(bytes.NewReader(b.data[:len(b.data)/2]), iotest.ErrReader(errors.New("input/output error")))
	}
	return 0, nil
}

// TestFileBeingWrittenIsLeftForTheNextRun: an export its sender is still
// writing changes between the pass that hashes it and the pass that reads
// its rows. Nothing of it is recorded, and the finished file is taken whole
// the next time; quarantined, as it was before session 26, the finished
// bytes met the half's name and were quarantined too.
func TestFileBeingWrittenIsLeftForTheNextRun(t *testing.T) {
	ctx := context.Background()
	data, err := os.ReadFile("../../fixtures/samples/night1/registrations.csv")
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "zhutui.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	loc := &growingFolder{data: data, writing: true}
	now := time.Date(2014, 2, 1, 2, 30, 0, 0, pipeline.Beijing)
	took, err := pipeline.TakeFile(ctx, st, formats, pipeline.KindRegistrations, loc, "export.csv", 0, now)
	if err != nil || took.Quarantined != "" || !strings.Contains(took.NotTaken, "it changed while it was being read") {
		t.Fatalf("a file being written: %v, %+v", err, took)
	}
	if v, _, err := st.CheckFile(ctx, loc.String(), "export.csv", took.SHA256, ""); err != nil || v != pipeline.FileNew {
		t.Fatalf("after it the half is %v (%v), want new: nothing recorded", v, err)
	}
	loc.writing = false
	took, err = pipeline.TakeFile(ctx, st, formats, pipeline.KindRegistrations, loc, "export.csv", 0, now)
	if rows := took.Applied + took.Unchanged + took.Rejected; err != nil || took.Quarantined != "" || took.NotTaken != "" || took.Applied == 0 || rows != 31 {
		t.Fatalf("the finished file: %v, %+v", err, took)
	}
}

// growingFolder holds one file; while its sender is writing, the first pass
// reads half of it and the second, a moment later, the whole.
type growingFolder struct {
	data    []byte
	writing bool
}

func (f *growingFolder) String() string                         { return "file:///growing" }
func (f *growingFolder) List(context.Context) ([]string, error) { return []string{"export.csv"}, nil }
func (f *growingFolder) Put(context.Context, string, []byte) (bool, error) {
	return false, errors.New("growingFolder: read-only")
}
func (f *growingFolder) Open(context.Context, string) (io.ReadSeekCloser, error) {
	first := f.data
	if f.writing {
		first = f.data[:len(f.data)/2]
	}
	return &rereadGrows{data: f.data, r: bytes.NewReader(first)}, nil
}

// rereadGrows reads what was there at first; rewound, it reads data whole.
type rereadGrows struct {
	data []byte
	r    io.Reader
}

func (g *rereadGrows) Read(p []byte) (int, error) { return g.r.Read(p) }
func (g *rereadGrows) Close() error               { return nil }
func (g *rereadGrows) Seek(offset int64, whence int) (int64, error) {
	if offset != 0 || whence != io.SeekStart {
		return 0, errors.New("rereadGrows: only rewinds")
	}
	g.r = bytes.NewReader(g.data)
	return 0, nil
}

// TestRunSaysNotTaken: the run's output names a file left for the next run.
func TestRunSaysNotTaken(t *testing.T) {
	var out bytes.Buffer
	app := &App{stdout: &out}
	app.printResult(&pipeline.Result{RunID: 3, Failed: pipeline.StageCollect, Files: []pipeline.Taken{{
		InboundFile: pipeline.InboundFile{Kind: pipeline.KindRegistrations, Name: "export.csv"},
		NotTaken:    "it changed while it was being read (still being written?): nothing of it taken; the next run takes it"}}})
	want := "run 3\n  registrations export.csv: NOT TAKEN: it changed while it was being read (still being written?): " +
		"nothing of it taken; the next run takes it\n"
	if out.String() != want {
		t.Errorf("output:\n%q\nwant\n%q", out.String(), want)
	}
}
