package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestTakeGoesOnPastAFileItCannotTake: a file of an inbound folder that
// cannot be taken fails its stage, naming the file, but only once the
// folder's other files, and the other folders', are taken: one bad file does
// not hold back the rest of a night's input. Collect meets a file that
// cannot be opened; settle, on a night holding money, the bank's answer to a
// batch whose delivery began in an unfinished run, and says why this run
// cannot finish that one.
func TestTakeGoesOnPastAFileItCannotTake(t *testing.T) {
	ctx := context.Background()
	t.Run("Collect", func(t *testing.T) {
		in := &memFolder{url: "mem:///in", files: map[string]string{"a.csv": "R1", "b.csv": "R2", "c.csv": "R3"},
			broken: map[string]error{"b.csv": errors.New("input/output error")}}
		feed := &memFolder{url: "mem:///feed", files: map[string]string{"d.csv": "C1"}}
		st := &takeStore{}
		r := &Runner{Store: st, Formats: takeFormats(),
			Inboxes: []Inbox{{Kind: KindRegistrations, Location: in}, {Kind: KindCertificates, Location: feed}}}
		res := &Result{}
		counts, err := r.collect(ctx, 1, res)
		if err == nil || !strings.Contains(err.Error(), "open registrations mem:///in/b.csv: input/output error") {
			t.Fatalf("collect with a file it cannot open: %v", err)
		}
		if !slices.Equal(st.taken, []string{"a.csv", "c.csv", "d.csv"}) || counts != "taken=3 quarantined=0" || len(res.Files) != 3 {
			t.Fatalf("taken %q (%s, %d in the result); want a.csv and c.csv, before and after the broken one, "+
				"and the next folder's d.csv", st.taken, counts, len(res.Files))
		}
	})
	t.Run("BeingWritten", func(t *testing.T) {
		// A file that changes while it is read is left for the next run,
		// said as such, and the stage goes on and succeeds.
		in := &memFolder{url: "mem:///in", files: map[string]string{"a.csv": "R1", "b.csv": "R2"},
			growing: map[string]string{"a.csv": "\nR3"}}
		st := &takeStore{}
		r := &Runner{Store: st, Formats: takeFormats(), Inboxes: []Inbox{{Kind: KindRegistrations, Location: in}}}
		res := &Result{}
		counts, err := r.collect(ctx, 1, res)
		if err != nil || !slices.Equal(st.taken, []string{"b.csv"}) || counts != "taken=1 quarantined=0 not-taken=1" ||
			len(res.Files) != 2 || !strings.Contains(res.Files[0].NotTaken, "it changed while it was being read (still being written?): nothing of it taken") {
			t.Fatalf("collect with a file being written: %v, taken %q (%s), %+v", err, st.taken, counts, res.Files)
		}
	})
	t.Run("SettleWhileMoneyHeld", func(t *testing.T) {
		in := &memFolder{url: "mem:///results", files: map[string]string{"ZTRES_B1.txt": "B1", "ZTRES_B2.txt": "B2"}}
		st := &takeStore{refuse: map[string]error{"ZTRES_B1.txt": &UnfinishedDeliveryError{BatchID: "B1", Run: 7}}}
		r := &Runner{Store: st, Formats: takeFormats(), Bank: Banking{Results: in}}
		res := &Result{Held: "no money moves while the books do not agree: ledger entry 5 was changed"}
		counts, err := r.settle(ctx, 8, res)
		if err == nil || !strings.Contains(err.Error(), "take ZTRES_B1.txt: it answers batch B1, whose delivery began in run 7") ||
			!strings.Contains(err.Error(), "(this run could not: no money moves while the books do not agree: ledger entry 5 "+
				"was changed; once the books agree, zhutui rerun 8)") {
			t.Fatalf("settle meeting the answer to an unfinished delivery while money is held: %v", err)
		}
		if !slices.Equal(st.taken, []string{"ZTRES_B2.txt"}) || counts != "files=1" {
			t.Fatalf("taken %q (%s); want the other batch's answer taken", st.taken, counts)
		}
		// Not held, the same refusal says only to finish run 7.
		st = &takeStore{refuse: st.refuse}
		r.Store = st
		_, err = r.settle(ctx, 8, &Result{})
		if err == nil || strings.Contains(err.Error(), "this run could not") || !slices.Equal(st.taken, []string{"ZTRES_B2.txt"}) {
			t.Fatalf("settle not holding money: %v, taken %q", err, st.taken)
		}
	})
}

// memFolder is a folder of files held in memory. It keeps the names put
// into it in their order; opening a file named in broken fails with its
// error.
type memFolder struct {
	url      string
	files    map[string]string
	broken   map[string]error
	growing  map[string]string // what a file has more once it is rewound
	names    []string
	unlisted error // List's error: a folder zhutui may write to but not read
}

func (f *memFolder) String() string { return f.url }
func (f *memFolder) List(context.Context) ([]string, error) {
	if f.unlisted != nil {
		return nil, f.unlisted
	}
	return slices.Sorted(maps.Keys(f.files)), nil
}
func (f *memFolder) Open(_ context.Context, name string) (io.ReadSeekCloser, error) {
	if err := f.broken[name]; err != nil {
		return nil, err
	}
	data, ok := f.files[name]
	if !ok {
		return nil, fs.ErrNotExist
	}
	if more, ok := f.growing[name]; ok {
		return &growing{nopCloser: nopCloser{bytes.NewReader([]byte(data))}, whole: data + more}, nil
	}
	return nopCloser{bytes.NewReader([]byte(data))}, nil
}

// growing is a file its sender is still writing: rewound, it has more.
type growing struct {
	nopCloser
	whole string
}

func (g *growing) Seek(offset int64, whence int) (int64, error) {
	g.Reader = bytes.NewReader([]byte(g.whole))
	return g.Reader.Seek(offset, whence)
}
func (f *memFolder) Put(_ context.Context, name string, data []byte) (bool, error) {
	if f.files == nil {
		f.files = map[string]string{}
	}
	f.files[name] = string(data)
	f.names = append(f.names, name)
	return false, nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// takeFormats reads a registration or certificate file's bytes as they are,
// and a result file's as the batch it answers.
func takeFormats() Formats {
	return Formats{
		Inspect: func(r io.Reader) (Inspection, error) {
			h := sha256.New()
			n, err := io.Copy(h, r)
			return Inspection{Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), Encoding: "UTF-8"}, err
		},
		Registrations: func(_ string, r io.Reader, _ string) RegistrationSource {
			return func(RegistrationSink, RejectSink) error {
				_, err := io.ReadAll(r)
				return err
			}
		},
		Certificates: func(_ string, r io.Reader, _ string) CertificateSource {
			return func(CertificateSink, RejectSink) error {
				_, err := io.ReadAll(r)
				return err
			}
		},
		Result: func(_ string, r io.Reader) (*ResultFile, error) {
			b, err := io.ReadAll(r)
			return &ResultFile{BatchID: string(b)}, err
		},
	}
}

// takeStore takes every new file, but refuses a result file named in refuse
// as the SQLite store does (nothing recorded, the error wrapped with the
// file's name); it keeps the names of the files it took.
type takeStore struct {
	Store  // the collect and settle stages use only the methods below
	refuse map[string]error
	taken  []string
}

func (s *takeStore) CheckFile(context.Context, string, string, string, string) (FileVerdict, string, error) {
	return FileNew, "", nil
}
func (s *takeStore) TakenWithStamp(context.Context, string, string, string) (bool, error) {
	return false, nil
}
func (s *takeStore) Quarantine(_ context.Context, f InboundFile, reason string) error {
	return fmt.Errorf("takeStore: %s quarantined (%s); no file here should be", f.Name, reason)
}
func (s *takeStore) IngestRegistrations(_ context.Context, f InboundFile, read RegistrationSource) (FileOutcome, error) {
	if err := read(func(int, *Registration) error { return nil }, func(Reject) error { return nil }); err != nil {
		return FileOutcome{}, err
	}
	s.taken = append(s.taken, f.Name)
	return FileOutcome{}, nil
}
func (s *takeStore) IngestCertificates(_ context.Context, f InboundFile, read CertificateSource) (FileOutcome, error) {
	if err := read(func(int, *Certificate) error { return nil }, func(Reject) error { return nil }); err != nil {
		return FileOutcome{}, err
	}
	s.taken = append(s.taken, f.Name)
	return FileOutcome{}, nil
}
func (s *takeStore) IngestResult(_ context.Context, f InboundFile, _ *ResultFile) (FileOutcome, error) {
	if err := s.refuse[f.Name]; err != nil {
		return FileOutcome{}, fmt.Errorf("take %s: %w", f.Name, err)
	}
	s.taken = append(s.taken, f.Name)
	return FileOutcome{}, nil
}

// TestStageErrorRepeats: zhutui status shows a failed stage's error, and the
// run's own error only when it says more than that stage's.
func TestStageErrorRepeats(t *testing.T) {
	cause := errors.New("list sftp://bank/out: connection refused")
	failed := StageRecord{Stage: string(StageCollect), Outcome: OutcomeFailed, Error: cause.Error()}
	runErr := StageFailed(4, StageCollect, cause).Error()
	if runErr != "run 4, stage collect: list sftp://bank/out: connection refused" {
		t.Errorf("StageFailed = %q", runErr)
	}
	for _, c := range []struct {
		s      StageRecord
		runID  int64
		runErr string
		want   bool
	}{
		{failed, 4, runErr, true},
		{failed, 4, cause.Error(), true},                           // a manual ingest's
		{failed, 5, runErr, false},                                 // another run's words
		{failed, 4, runErr + "\nrecord the run: disk full", false}, // the run's error says more
		{StageRecord{Stage: "deliver", Outcome: OutcomeFailed, Error: cause.Error()}, 4, runErr, false},
		{StageRecord{Stage: "collect", Outcome: OutcomeRunning, Error: cause.Error()}, 4, runErr, false},
		{StageRecord{Stage: "collect", Outcome: OutcomeFailed}, 4, "run 4, stage collect: ", false},
	} {
		if got := c.s.Repeats(c.runID, c.runErr); got != c.want {
			t.Errorf("%+v.Repeats(%d, %q) = %v, want %v", c.s, c.runID, c.runErr, got, c.want)
		}
	}
}

// TestSupersede: a later nightly run that succeeded did a failed run's work;
// otherwise the latest later nightly run is the one to finish; manual
// ingests and earlier runs do not count.
func TestSupersede(t *testing.T) {
	failed := Run{ID: 3, Trigger: TriggerManual, Outcome: OutcomeFailed}
	run := func(id int64, trigger Trigger, outcome string) Run {
		return Run{ID: id, Trigger: trigger, Outcome: outcome}
	}
	for _, c := range []struct {
		name     string
		later    []Run
		by       int64
		done, ok bool
	}{
		{"None", nil, 0, false, false},
		{"OnlyEarlierAndIngests", []Run{run(2, TriggerSchedule, OutcomeSucceeded), run(4, TriggerIngest, OutcomeSucceeded)}, 0, false, false},
		{"LaterFailed", []Run{run(4, TriggerSchedule, OutcomeFailed)}, 4, false, true},
		{"LatestOfTheUnfinished", []Run{run(5, TriggerManual, OutcomeRunning), run(4, TriggerSchedule, OutcomeFailed)}, 5, false, true},
		{"FirstSucceeded", []Run{run(6, TriggerSchedule, OutcomeSucceeded), run(5, "manual+rerun", OutcomeSucceeded),
			run(7, TriggerSchedule, OutcomeFailed)}, 5, true, true},
		{"SucceededAfterAFailure", []Run{run(4, TriggerSchedule, OutcomeFailed), run(5, TriggerSchedule, OutcomeSucceeded)}, 5, true, true},
	} {
		by, done, ok := Supersede(failed, c.later)
		if by.ID != c.by || done != c.done || ok != c.ok {
			t.Errorf("%s: run %d, done %v, ok %v; want run %d, %v, %v", c.name, by.ID, done, ok, c.by, c.done, c.ok)
		}
	}
	// A delivery run 3 began: its rerun finishes it, or the later run that
	// takes it up; after a later run succeeded (holding money), the next.
	for _, c := range []struct {
		later []Run
		want  string
	}{
		{nil, "zhutui rerun 3 finishes it"},
		{[]Run{run(4, TriggerIngest, OutcomeFailed)}, "zhutui rerun 3 finishes it"},
		{[]Run{run(4, TriggerSchedule, OutcomeFailed)}, "zhutui rerun 4 finishes it"},
		{[]Run{run(4, TriggerSchedule, OutcomeSucceeded)}, "the next run finishes it, once the books agree"},
	} {
		if got := FinishDelivery(3, c.later); got != c.want {
			t.Errorf("FinishDelivery(3, %v) = %q, want %q", c.later, got, c.want)
		}
	}
	if got := FinishHintAfter(failed, nil); got != "finish it with: zhutui rerun 3" {
		t.Errorf("no later run: %q", got)
	}
	ingest := Run{ID: 3, Trigger: TriggerIngest, Outcome: OutcomeFailed}
	if got := FinishHintAfter(ingest, []Run{run(4, TriggerSchedule, OutcomeSucceeded)}); !strings.Contains(got, "manual ingest, which is not rerun") {
		t.Errorf("a failed ingest: %q", got)
	}
}

// fullStore is a database whose disk is full: no stage's start can be
// recorded, and how the run ended only when finish is nil.
type fullStore struct {
	Store  // Resume uses only the methods below before its first stage
	finish error
	failed error // the error FinishRun was given
}

var errFull = errors.New("database or disk is full")

func (s *fullStore) StartStage(context.Context, int64, Stage) error { return errFull }
func (s *fullStore) FinishRun(_ context.Context, _ int64, err error) error {
	s.failed = err
	return s.finish
}

// TestStageNotStarted: a stage whose start cannot be recorded (a full disk)
// fails the run at that stage, recorded where it can be, and said with what
// kept it from being recorded. It was the bare driver error ("database or
// disk is full", no run, no stage), and the run was left running.
func TestStageNotStarted(t *testing.T) {
	const want = "run 4, stage collect: record its start: database or disk is full"
	for _, finish := range []error{nil, errFull} {
		st := &fullStore{finish: finish}
		res, err := (&Runner{Store: st}).Resume(context.Background(), 4)
		said := want
		if finish != nil {
			said += " (and recording that failed: database or disk is full)"
		}
		if err == nil || err.Error() != said || !errors.Is(err, errFull) || res.Failed != StageCollect ||
			st.failed == nil || st.failed.Error() != want {
			t.Errorf("recording the run's end fails with %v: the run %v (failed at %q); recorded: %v", finish, err, res.Failed, st.failed)
		}
	}
}
