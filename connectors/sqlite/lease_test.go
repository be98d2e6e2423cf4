package sqlite_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

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
