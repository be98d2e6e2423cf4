package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jmoiron/sqlx"

	"zhutui/pipeline"
)

var errRolledBack = errors.New("rolled back on purpose")

// JudgedBothWays reads every registration, judged, in both of judge's ways:
// in chunks inside a write transaction, and aside, on a connection of its
// own, while that transaction holds the write lock and has changed every
// decision's groups without committing. Each registration is rendered as
// text; nothing is written.
func (s *Store) JudgedBothWays(ctx context.Context, p *pipeline.Programme) (inTx, aside []string, err error) {
	all := func(next func() ([]judged, error)) ([]string, error) {
		var out []string
		for {
			batch, err := next()
			if err != nil || len(batch) == 0 {
				return out, err
			}
			for _, j := range batch {
				out = append(out, fmt.Sprintf("%+v", j))
			}
		}
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, q := range []string{
			`CREATE TEMP TABLE IF NOT EXISTS todo (registration_id TEXT PRIMARY KEY) WITHOUT ROWID`,
			`DELETE FROM temp.todo`,
			`INSERT INTO temp.todo SELECT registration_id FROM registrations`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		if inTx, err = all(judgeChunks(ctx, tx, p)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE decisions SET cert_key = 'changed', person_key = 'changed'`); err != nil {
			return err
		}
		next, stop := s.judgeAllAside(ctx, p)
		defer stop()
		if aside, err = all(next); err != nil {
			return err
		}
		return errRolledBack
	})
	if errors.Is(err, errRolledBack) {
		err = nil
	}
	return inTx, aside, err
}

// CutChainSmall makes VerifyNewEntries cut the chain into up to walkers
// stretches of at least minPart entries, until the test ends.
func CutChainSmall(t interface{ Cleanup(func()) }, walkers int, minPart int64) {
	w, m := chainWalkers, chainMinPart
	chainWalkers, chainMinPart = walkers, minPart
	t.Cleanup(func() { chainWalkers, chainMinPart = w, m })
}

// SetReaderExitsHook runs fn when judgeAllAside's reader stops, before it
// lets go of its connection, until the test ends.
func SetReaderExitsHook(t interface{ Cleanup(func()) }, fn func()) {
	testHookReaderExits = fn
	t.Cleanup(func() { testHookReaderExits = func() {} })
}

// SetVerifiedHook runs fn after VerifyNewEntries has walked the chain and
// before it moves the verified mark, until the test ends.
func SetVerifiedHook(t interface{ Cleanup(func()) }, fn func()) {
	testHookVerified = fn
	t.Cleanup(func() { testHookVerified = func() {} })
}

// SetLedgerWalkedHook runs fn in VerifyLedger between the chain's walk and
// the reading of the payments, until the test ends.
func SetLedgerWalkedHook(t interface{ Cleanup(func()) }, fn func()) {
	testHookLedgerWalked = fn
	t.Cleanup(func() { testHookLedgerWalked = func() {} })
}

// BatchPayments is the statement that moves a new batch's payments.
const BatchPayments = batchPayments

// RejudgeTodo is the statement that adds the rejudged registrations to
// temp.todo.
const RejudgeTodo = rejudgeTodo

// AtLeastQuery is atLeast's statement, for table.
func AtLeastQuery(table string) string { return fmt.Sprintf(atLeastQuery, table) }

// AtLeast says whether table holds at least n rows.
func (s *Store) AtLeast(ctx context.Context, table string, n int) (bool, error) {
	return atLeast(ctx, s.db, table, n)
}

// JudgeAsideStopped starts judging every registration aside, takes the first
// chunk and stops; it returns how many registrations that chunk held, once
// stop has returned.
func (s *Store) JudgeAsideStopped(ctx context.Context, p *pipeline.Programme) (int, error) {
	next, stop := s.judgeAllAside(ctx, p)
	batch, err := next()
	stop()
	return len(batch), err
}

// WithMigration makes this zhutui know one more migration, name with body,
// until restore is called or the test ends: a newer zhutui, as it were.
func WithMigration(t testing.TB, name, body string) (restore func()) {
	was := migrationFS
	m := fstest.MapFS{name: {Data: []byte(body)}}
	names, err := fs.Glob(was, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		b, err := fs.ReadFile(was, n)
		if err != nil {
			t.Fatal(err)
		}
		m[n] = &fstest.MapFile{Data: b}
	}
	migrationFS = m
	restore = func() { migrationFS = was }
	t.Cleanup(restore)
	return restore
}

// HeartbeatEvery is how often a held lease heartbeats.
func HeartbeatEvery() time.Duration { return heartbeatEvery }

// SetHeartbeatEvery changes it for the leases taken after, until the
// returned function puts it back.
func SetHeartbeatEvery(d time.Duration) (restore func()) {
	old := heartbeatEvery
	heartbeatEvery = d
	return func() { heartbeatEvery = old }
}

// ProcessAlive is processAlive.
var ProcessAlive = processAlive

// SetDurableHook runs fn with the synchronous setting (2: FULL) that each
// durable transaction reads inside it before its commit, until the test
// ends.
func SetDurableHook(t interface{ Cleanup(func()) }, fn func(synchronous int)) {
	testHookDurable = func(tx *sqlx.Tx) {
		var v int
		if err := tx.Get(&v, `PRAGMA synchronous`); err != nil {
			v = -1
		}
		fn(v)
	}
	t.Cleanup(func() { testHookDurable = func(*sqlx.Tx) {} })
}
