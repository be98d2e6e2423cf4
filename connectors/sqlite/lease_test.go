package sqlite_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"zhutui/connectors/sqlite"
	"zhutui/pipeline"
)

// TestStatusOfTheLease: zhutui status says whether the lease's holder still
// works. It does while it heartbeats (on this host: while its process
// lives); it was cut off when its process here is gone or its heartbeat
// stopped.
func TestStatusOfTheLease(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	now := time.Date(2014, 2, 1, 2, 30, 0, 0, pipeline.Beijing)
	st.Now = func() time.Time { return now }
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		host      string
		pid       int
		heartbeat time.Duration // before now
		cutOff    bool
		command   string
		hint      string // what status tells the operator to type
	}{
		{"this host, its process alive", "here", os.Getpid(), 5 * time.Second, false, "run", "zhutui rerun 7"},
		{"this host, its process gone", "here", gone.Process.Pid, 5 * time.Second, true, "run", "zhutui rerun 7"},
		{"another host, heartbeating", "there", 1, 5 * time.Second, false, "run", "zhutui rerun 7"},
		{"another host, silent", "there", 1, 2 * time.Minute, true, "run", "zhutui rerun 7"},
		// Within LeaseTTL means less than it: silent for LeaseTTL is gone.
		{"another host, silent a second short of LeaseTTL", "there", 1, sqlite.LeaseTTL - time.Second, false, "run", "zhutui rerun 7"},
		{"another host, silent for LeaseTTL", "there", 1, sqlite.LeaseTTL, true, "run", "zhutui rerun 7"},
		// Another host's pid means nothing here.
		{"another host, heartbeating, a pid gone here", "there", gone.Process.Pid, 5 * time.Second, false, "run", "zhutui rerun 7"},
		{"this host, no pid", "here", 0, 5 * time.Second, true, "run", "zhutui rerun 7"},
		{"an ingest, its process gone", "here", gone.Process.Pid, 5 * time.Second, true, "ingest", "take them with zhutui ingest"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := st.DB().Exec(`INSERT OR REPLACE INTO lease (id, holder, host, pid, run_id, command, started_at,
				heartbeat_at) VALUES (1, 'ops@' || ?, ?, ?, 7, ?, ?, ?)`, c.host, c.host, c.pid, c.command,
				pipeline.FormatTime(now.Add(-time.Hour)), pipeline.FormatTime(now.Add(-c.heartbeat))); err != nil {
				t.Fatal(err)
			}
			r, err := st.Status(ctx, 5, "here")
			if err != nil {
				t.Fatal(err)
			}
			if r.LeaseHolder == "" || r.LeaseRunID != 7 || r.LeaseCutOff != c.cutOff {
				t.Errorf("holder %q, run %d, cut off %v; want run 7, cut off %v", r.LeaseHolder, r.LeaseRunID, r.LeaseCutOff, c.cutOff)
			}
			if hint := pipeline.FinishHint(r.LeaseRunID, r.LeaseRunBy); !strings.Contains(hint, c.hint) {
				t.Errorf("hint %q, want %q", hint, c.hint)
			}
		})
	}
	st.DB().Exec(`DELETE FROM lease`)
	if r, err := st.Status(ctx, 5, "here"); err != nil || r.LeaseHolder != "" || r.LeaseCutOff {
		t.Errorf("no lease: %+v, %v", r, err)
	}
}

// TestAcquireLease: a live holder keeps the lease, and whoever is refused
// is told who holds it; a holder that stopped is replaced, the run it was
// working on recorded as cut off (a run it had finished stays as it was);
// and a holder whose lease was taken over gives up nothing when it ends.
func TestAcquireLease(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	me := pipeline.Holder{User: "ops", Host: "here", PID: os.Getpid(), Command: "run"}
	a, err := st.AcquireLease(ctx, me)
	if err != nil {
		t.Fatal(err)
	}
	running, err := st.BeginRun(ctx, pipeline.MustDate("2014-02-01"), pipeline.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetRun(ctx, running); err != nil {
		t.Fatal(err)
	}
	if err := st.StartStage(ctx, running, pipeline.StageReconcile); err != nil {
		t.Fatal(err)
	}
	_, err = st.AcquireLease(ctx, pipeline.Holder{User: "ops2", Host: "here", PID: os.Getpid(), Command: "batch"})
	var busy *pipeline.BusyError
	if !errors.As(err, &busy) || busy.Holder != me.String() || busy.RunID != running || busy.Command != "run" {
		t.Fatalf("a second taker while the first lives: %v", err)
	}

	// The holder's process is gone (kill -9): its run was cut off.
	if _, err := st.DB().Exec(`UPDATE lease SET pid = ?`, gone.Process.Pid); err != nil {
		t.Fatal(err)
	}
	b, err := st.AcquireLease(ctx, pipeline.Holder{User: "ops2", Host: "here", PID: os.Getpid() + 1, Command: "rerun"})
	if err != nil {
		t.Fatalf("taking over from a holder that is gone: %v", err)
	}
	if r, err := st.Run(ctx, running); err != nil || r.Outcome != "failed" || r.Error != "interrupted: its process stopped without recording how the run ended" ||
		len(r.Stages) != 1 || r.Stages[0].Outcome != "failed" || r.Stages[0].Error != r.Error || r.Stages[0].FinishedAt == "" {
		t.Errorf("the cut-off run and the stage it was in: %+v, %v", r, err)
	}
	// The first holder wakes up and ends: the lease is no longer its own.
	if err := a.Release(); err != nil {
		t.Fatal(err)
	}
	var holder string
	if err := st.DB().Get(&holder, `SELECT holder FROM lease`); err != nil || holder != "ops2@here pid "+strconv.Itoa(os.Getpid()+1) {
		t.Fatalf("after the old holder's release the lease is %q, %v", holder, err)
	}

	// A holder killed after its run finished: the run stays succeeded.
	done, err := st.BeginRun(ctx, pipeline.MustDate("2014-02-02"), pipeline.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.FinishRun(ctx, done, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().Exec(`UPDATE lease SET pid = ?, run_id = ?`, gone.Process.Pid, done); err != nil {
		t.Fatal(err)
	}
	b.Release() // its row no longer matches: nothing is given up
	c, err := st.AcquireLease(ctx, me)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	if r, err := st.Run(ctx, done); err != nil || r.Outcome != "succeeded" {
		t.Errorf("a finished run under a dead holder's lease: %+v, %v", r, err)
	}
}

// TestRunLeftRunning: a run whose process could not record how it ended (a
// full disk failed the stage and then the record of its failure) and then
// gave the lease up is still recorded as running, with no holder working on
// it. The next to take the lease records it failed, with its stage, saying
// so; before, it stayed running for ever in zhutui status.
func TestRunLeftRunning(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	me := pipeline.Holder{User: "ops", Host: "here", PID: os.Getpid(), Command: "run"}
	a, err := st.AcquireLease(ctx, me)
	if err != nil {
		t.Fatal(err)
	}
	left, err := st.BeginRun(ctx, pipeline.MustDate("2014-02-01"), pipeline.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetRun(ctx, left); err != nil {
		t.Fatal(err)
	}
	if err := st.StartStage(ctx, left, pipeline.StageDeliver); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(); err != nil {
		t.Fatal(err)
	}
	b, err := st.AcquireLease(ctx, me)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	const why = "interrupted: it ended without recording how (its process stopped, or could not write to the database)"
	if r, err := st.Run(ctx, left); err != nil || r.Outcome != "failed" || r.Error != why || r.FinishedAt == "" ||
		len(r.Stages) != 1 || r.Stages[0].Outcome != "failed" || r.Stages[0].Error != why {
		t.Errorf("the run left running: %+v, %v", r, err)
	}
}

// TestLeaseHeartbeat: a held lease's heartbeat keeps its row's time fresh,
// several times within LeaseTTL, and touches its own row alone: a lease
// another process took over meanwhile is not kept alive by the old holder.
func TestLeaseHeartbeat(t *testing.T) {
	if every := sqlite.HeartbeatEvery(); every <= 0 || every*3 > sqlite.LeaseTTL {
		t.Errorf("the lease heartbeats every %s: want at least three times in %s", every, sqlite.LeaseTTL)
	}
	defer sqlite.SetHeartbeatEvery(5 * time.Millisecond)()
	ctx := context.Background()
	st := MustOpen(t)
	// Each reading of the clock is a second later: the heartbeat reads it
	// once before each of its updates.
	var ticks atomic.Int64
	start := time.Date(2014, 2, 1, 2, 30, 0, 0, pipeline.Beijing)
	st.Now = func() time.Time { return start.Add(time.Duration(ticks.Add(1)) * time.Second) }
	l, err := st.AcquireLease(ctx, pipeline.Holder{User: "ops", Host: "here", PID: os.Getpid(), Command: "run"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	heartbeat := func() string {
		t.Helper()
		var at string
		if err := st.DB().Get(&at, `SELECT heartbeat_at FROM lease`); err != nil {
			t.Fatal(err)
		}
		return at
	}
	// waitTicks returns once the heartbeat has read the clock n more times:
	// at least n-1 of its updates have run by then.
	waitTicks := func(n int64) {
		t.Helper()
		for from, deadline := ticks.Load(), time.Now().Add(10*time.Second); ticks.Load() < from+n; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the lease's heartbeat did not run in 10 s (%d readings of the clock)", ticks.Load()-from)
			}
		}
	}
	taken := heartbeat()
	waitTicks(3)
	if now := heartbeat(); now <= taken {
		t.Errorf("after its heartbeats the lease's time is %s, taken at %s", now, taken)
	}
	// Another process, here or on another host, took the lease over.
	for _, other := range []string{`pid = pid + 1`, `host = 'there'`} {
		if _, err := st.DB().Exec(`UPDATE lease SET ` + other + `, heartbeat_at = '2000-01-01 00:00:00'`); err != nil {
			t.Fatal(err)
		}
		waitTicks(3)
		if at := heartbeat(); at != "2000-01-01 00:00:00" {
			t.Errorf("with %s, the old holder's heartbeat touched the new holder's lease: its time is %s", other, at)
		}
		if _, err := st.DB().Exec(`UPDATE lease SET pid = ?, host = 'here'`, os.Getpid()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestProcessOfAnotherUser: a lease holder's process that belongs to
// another user (a daemon run as zhutui, an operator's rerun as root) is
// alive though this process may not signal it (EPERM); taking it for gone
// would hand its lease to a second night. Run as root, the test runs its
// own binary again as nobody to ask about this (root's) process.
func TestProcessOfAnotherUser(t *testing.T) {
	if pid := os.Getenv("ZHUTUI_TEST_ALIVE_PID"); pid != "" {
		n, _ := strconv.Atoi(pid)
		if !sqlite.ProcessAlive(n) {
			t.Fatalf("uid %d: process %d of another user taken for gone", os.Getuid(), n)
		}
		return
	}
	if os.Getuid() != 0 {
		// Not root: init (pid 1) is another user's process already.
		if !sqlite.ProcessAlive(1) {
			t.Fatal("process 1, another user's, taken for gone")
		}
		return
	}
	// The test binary, where nobody may run it.
	dir, err := os.MkdirTemp("", "zhutui-eperm-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "sqlite.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		pid  int
		want bool
	}{{os.Getpid(), true}, {gonePID(t), false}} {
		cmd := exec.Command(bin, "-test.run=^TestProcessOfAnotherUser$", "-test.count=1")
		cmd.Dir = "/"
		cmd.Env = append(os.Environ(), "ZHUTUI_TEST_ALIVE_PID="+strconv.Itoa(c.pid))
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if alive := err == nil; alive != c.want {
			t.Errorf("process %d seen by nobody: alive %v, want %v (%v)\n%s", c.pid, alive, c.want, err, out)
		}
	}
}

// gonePID returns the id of a process that has ended.
func gonePID(t *testing.T) int {
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	return gone.Process.Pid
}
