package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"

	"zhutui/pipeline"
)

// LeaseTTL is how long a lease lives without a heartbeat.
const LeaseTTL = 60 * time.Second

// heartbeatEvery is how often a held lease heartbeats: several times within
// LeaseTTL, so that a late tick or a long write transaction it waits behind
// does not make a live holder look dead (tests shorten it).
var heartbeatEvery = LeaseTTL / 6

// Lease is the database's run lease, held by one process.
type Lease struct {
	st     *Store
	holder pipeline.Holder
	stop   chan struct{}
	done   chan struct{}
}

// AcquireLease takes the run lease for a holder in an immediate transaction.
// A lease held by a live process is not taken: the error (a
// *pipeline.BusyError) names its holder. A lease whose holder stopped
// heartbeating for LeaseTTL, or whose process on this host is gone, is taken
// over. The lease is refused, too, on a database that a newer zhutui has
// migrated since this one opened it. The lease heartbeats until Release.
func (s *Store) AcquireLease(ctx context.Context, h pipeline.Holder) (*Lease, error) {
	now := s.Now()
	// Read first, without the write lock: a live holder may be inside a long
	// transaction, and waiting for it would end in "database is locked"
	// instead of naming it.
	var cur leaseRow
	if err := s.db.GetContext(ctx, &cur, leaseQuery); err == nil && cur.alive(now, h.Host) {
		return nil, cur.busy()
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var cur leaseRow
		err := tx.GetContext(ctx, &cur, leaseQuery)
		if err != nil && !isNoRows(err) {
			return err
		}
		if err == nil && cur.alive(now, h.Host) {
			return cur.busy()
		}
		// No run is under way now, so every run still recorded as running
		// ended without recording how: the dead holder's, if any, in the
		// stage it was running (zhutui status shows that stage failed), and
		// any other whose process could not write (a full disk) or stopped
		// between recording the run and taking it under the lease. Left so,
		// zhutui status showed those running for ever.
		if err := endRunning(ctx, tx, s.now(), cur.RunID.Int64); err != nil {
			return err
		}
		// A newer zhutui may have migrated the database since this process
		// opened it (a daemon started before an upgrade): it must not work.
		if err := checkSchema(ctx, tx); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO lease (id, holder, host, pid, run_id, command, started_at, heartbeat_at)
			VALUES (1, ?, ?, ?, NULL, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, host = excluded.host,
			pid = excluded.pid, run_id = NULL, command = excluded.command, started_at = excluded.started_at,
			heartbeat_at = excluded.heartbeat_at`, h.String(), h.Host, h.PID, h.Command, s.now(), s.now())
		return err
	})
	if err != nil {
		var busy *pipeline.BusyError
		if errors.As(err, &busy) {
			return nil, busy
		}
		return nil, fmt.Errorf("take the run lease: %w", err)
	}
	l := &Lease{st: s, holder: h, stop: make(chan struct{}), done: make(chan struct{})}
	go l.heartbeat(heartbeatEvery)
	return l, nil
}

// endRunning records every run still running as failed, with its running
// stages: the dead lease holder's run (0: none) as its process stopped, the
// others as ended without a record.
func endRunning(ctx context.Context, tx *sqlx.Tx, now string, holders int64) error {
	const why = `CASE %s WHEN ?2 THEN 'interrupted: its process stopped without recording how the run ended'
		ELSE 'interrupted: it ended without recording how (its process stopped, or could not write to the database)' END`
	for _, q := range []string{
		`UPDATE stages SET outcome = 'failed', finished_at = ?1, error = ` + fmt.Sprintf(why, "run_id") + `
			WHERE outcome = 'running' AND run_id IN (SELECT id FROM runs WHERE outcome = 'running')`,
		`UPDATE runs SET outcome = 'failed', finished_at = ?1, error = ` + fmt.Sprintf(why, "id") + ` WHERE outcome = 'running'`,
	} {
		if _, err := tx.ExecContext(ctx, q, now, holders); err != nil {
			return err
		}
	}
	return nil
}

func (l *Lease) heartbeat(every time.Duration) {
	defer close(l.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.st.db.Exec(`UPDATE lease SET heartbeat_at = ? WHERE id = 1 AND pid = ? AND host = ?`, l.st.now(), l.holder.PID, l.holder.Host)
		}
	}
}

// SetRun records which run the lease holder is working on.
func (l *Lease) SetRun(ctx context.Context, runID int64) error {
	_, err := l.st.db.ExecContext(ctx, `UPDATE lease SET run_id = ? WHERE id = 1 AND pid = ? AND host = ?`, runID, l.holder.PID, l.holder.Host)
	if err != nil {
		return fmt.Errorf("run %d: record it under the run lease: %w", runID, err)
	}
	return nil
}

// Release gives the lease up.
func (l *Lease) Release() error {
	close(l.stop)
	<-l.done
	_, err := l.st.db.Exec(`DELETE FROM lease WHERE id = 1 AND pid = ? AND host = ?`, l.holder.PID, l.holder.Host)
	return err
}

// leaseRow is the lease table's one row (leaseQuery reads it).
type leaseRow struct {
	Holder    string        `db:"holder"`
	Host      string        `db:"host"`
	PID       int           `db:"pid"`
	RunID     sql.NullInt64 `db:"run_id"`
	Command   string        `db:"command"`
	StartedAt string        `db:"started_at"`
	Heartbeat string        `db:"heartbeat_at"`
}

const leaseQuery = `SELECT holder, host, pid, run_id, command, started_at, heartbeat_at FROM lease WHERE id = 1`

// alive says whether the holder may still be working, seen from host (this
// process's) at now: it beat its heartbeat within LeaseTTL and, when it runs
// on host, its process is there (not so after kill -9 or a power cut).
func (l *leaseRow) alive(now time.Time, host string) bool {
	beat, err := time.ParseInLocation(pipeline.TimeLayout, l.Heartbeat, pipeline.Beijing)
	if err != nil || now.Sub(beat) >= LeaseTTL {
		return false
	}
	return l.Host != host || processAlive(l.PID)
}

// busy is the error that refuses the lease to another taker while l holds it.
func (l *leaseRow) busy() *pipeline.BusyError {
	return &pipeline.BusyError{Holder: l.Holder, Command: l.Command, RunID: l.RunID.Int64, Since: l.StartedAt}
}

// describe names the holder and what it works on, for zhutui status.
func (l *leaseRow) describe() string {
	run := ""
	if l.RunID.Valid {
		run = fmt.Sprintf(", run %d", l.RunID.Int64)
	}
	return fmt.Sprintf("%s (zhutui %s%s, since %s, heartbeat %s)", l.Holder, l.Command, run, l.StartedAt, l.Heartbeat)
}

// processAlive reports whether a process of this host is running.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
