// Package sqlite is zhutui's store: every SQL statement lives here. Each
// exported method runs in its own transaction, which it commits before
// returning or rolls back on error, so a caller never sees half of its work.
package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/mattn/go-sqlite3" // the SQLite driver

	"zhutui/pipeline"
)

// Store is the SQLite database. It is safe for concurrent use; SQLite itself
// serialises writers.
type Store struct {
	db   *sqlx.DB
	path string
	// Now is the clock; tests set it.
	Now func() time.Time

	ledgerKey []byte // see SetLedgerKey

	mu           sync.Mutex
	beforeCommit map[*sqlx.Tx][]func() error // see onCommit
}

// Open opens (creating if needed) the database at path and applies any
// migration not yet applied. A database it creates can be read and written
// by its owner only (mode 0600, which SQLite gives its -wal and -shm files
// too): it holds every member's ID and card number in full.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("open database %q: %w", path, err)
	}
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	// No mutex per connection (SQLite's multi-thread mode): database/sql
	// already hands a connection, and its statements and rows, to one
	// goroutine at a time, and SQLite took the mutex on every bind, step
	// and column read, 3-5% of a 1M first night (session 9).
	q.Set("_mutex", "no")
	q.Set("_cache_size", "-65536") // 64 MiB: large transactions would spill pages otherwise
	db, err := sqlx.Open("sqlite3", fileURI(path)+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open database %q: %w", path, err)
	}
	s := &Store{db: db, path: path, Now: time.Now}
	mode, err := walWithPageSize(ctx, db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %q: %w", path, err)
	}
	if mode != "wal" {
		db.Close()
		return nil, fmt.Errorf("open database %q: journal mode is %q, want wal", path, mode)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		var newer *NewerSchemaError
		if errors.As(err, &newer) {
			return nil, fmt.Errorf("open database %q: %w", path, err)
		}
		return nil, fmt.Errorf("migrate database %q: %w", path, err)
	}
	return s, nil
}

// createPrivate creates an empty file at path with mode 0600 unless one is
// there; SQLite takes an empty file for a new database. Left to SQLite, the
// file would get 0644 under the usual umask: readable by every local user.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// pageSize is the page size of a database zhutui creates. SQLite's default,
// 4 KiB, scatters the pages of a large index across the file as it grows, and
// a report's sums then read them one by one. At 1M registrations, in
// alternated runs (session 10), 16 KiB pages took the first night from
// 63.3-64.3 s to 57.7-58.7 s and a second night with a cold page cache from
// 3.40-3.54 s to 2.36-2.68 s; 32 KiB did no better than 16.
const pageSize = 16384

// walWithPageSize sets, on one connection, the page size (it takes only on a
// database not yet written, so an existing one keeps its own) and then WAL
// mode, which is kept in the file for every later connection, and returns the
// journal mode now in force. The page size must come first: WAL mode writes
// the first page.
func walWithPageSize(ctx context.Context, db *sqlx.DB) (string, error) {
	conn, err := db.Connx(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA page_size = %d", pageSize)); err != nil {
		return "", err
	}
	var mode string
	err = conn.GetContext(ctx, &mode, "PRAGMA journal_mode = WAL")
	return mode, err
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// DB returns the underlying handle, for tests.
func (s *Store) DB() *sqlx.DB { return s.db }

// inTx runs fn in a write transaction, committing when it returns nil. Rows
// queued by bulk writers of the transaction (onCommit) are written first.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return s.txOn(ctx, s.db.BeginTxx, fn)
}

// durableTx is inTx for a commit that must survive a power cut: its write-
// ahead log is synced to the disk before the commit returns (synchronous
// FULL for this transaction alone). The connections' NORMAL may lose the
// last commits to a power cut (never to a crash of the process), which a
// night redoes; but a commit after which something leaves zhutui that
// cannot be called back (a sidecar that has the bank take a payment file,
// an SMS file put in place, an anchor line) or that a person decided (a
// batch rejected) must not be lost: a delivery's start forgotten would let
// the batch be rejected and its payments paid again. The sync makes every
// commit before it durable too (the log is written in order).
func (s *Store) durableTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA synchronous = NORMAL`)
	return s.txOn(ctx, conn.BeginTxx, func(tx *sqlx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		testHookDurable(tx)
		return nil
	})
}

// testHookDurable runs inside every durable transaction before its commit
// (tests read its synchronous setting there).
var testHookDurable = func(*sqlx.Tx) {}

// txOn is inTx on a transaction begun by begin.
func (s *Store) txOn(ctx context.Context, begin func(context.Context, *sql.TxOptions) (*sqlx.Tx, error), fn func(tx *sqlx.Tx) error) error {
	tx, err := begin(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		s.mu.Lock()
		delete(s.beforeCommit, tx)
		s.mu.Unlock()
		tx.Rollback()
	}()
	if err := fn(tx); err != nil {
		return err
	}
	s.mu.Lock()
	flush := s.beforeCommit[tx]
	s.mu.Unlock()
	for _, f := range flush {
		if err := f(); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// onCommit registers fn to run just before tx commits.
func (s *Store) onCommit(tx *sqlx.Tx, fn func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.beforeCommit == nil {
		s.beforeCommit = map[*sqlx.Tx][]func() error{}
	}
	s.beforeCommit[tx] = append(s.beforeCommit[tx], fn)
}

func (s *Store) now() string {
	return pipeline.FormatTime(s.Now())
}

// setting reads a named value, "" when unset.
func setting(ctx context.Context, q sqlx.QueryerContext, name string) (string, error) {
	var v string
	err := sqlx.GetContext(ctx, q, &v, `SELECT value FROM settings WHERE name = ?`, name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func setSetting(ctx context.Context, tx *sqlx.Tx, name, value string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
	return err
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// withoutIndexes runs fn with table's own indexes (not those of its
// constraints) dropped, then builds them again from their stored definitions
// in the same transaction. When most of a table is written at once, building
// an index afterwards costs one sort, where keeping it meant an insertion at
// a random place for each row (a million of them outgrow the page cache).
func withoutIndexes(ctx context.Context, tx *sqlx.Tx, table string, fn func() error) error {
	var indexes []struct {
		Name string `db:"name"`
		SQL  string `db:"sql"`
	}
	if err := tx.SelectContext(ctx, &indexes, `SELECT name, sql FROM sqlite_master
		WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name`, table); err != nil {
		return err
	}
	for _, x := range indexes {
		if _, err := tx.ExecContext(ctx, `DROP INDEX "`+x.Name+`"`); err != nil {
			return err
		}
	}
	if err := fn(); err != nil {
		return err
	}
	for _, x := range indexes {
		if _, err := tx.ExecContext(ctx, x.SQL); err != nil {
			return fmt.Errorf("index %s again: %w", x.Name, err)
		}
	}
	return nil
}

// profiled runs fn with a "step" label on its CPU profile samples, which the
// goroutines the driver starts for cancellable statements inherit.
func profiled(ctx context.Context, step string, fn func() error) error {
	var err error
	pprof.Do(ctx, pprof.Labels("step", step), func(context.Context) { err = fn() })
	return err
}

// atLeast says whether table holds at least n rows, reading no more than n
// of them: count(*) would walk a whole index, every row ever taken, on
// nights that bring a few.
func atLeast(ctx context.Context, q sqlx.QueryerContext, table string, n int) (bool, error) {
	var got int
	err := sqlx.GetContext(ctx, q, &got, fmt.Sprintf(atLeastQuery, table), n)
	return got >= n, err
}

// atLeastQuery counts at most ?1 rows of a table (%s).
const atLeastQuery = `SELECT count(*) FROM (SELECT 1 FROM %s LIMIT ?)`

// placeholders returns "?, ?, …" for n arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// ErrBackupExists is a backup's file that is there already: a backup never
// writes over a file.
var ErrBackupExists = errors.New("the file exists already (a backup writes a new file, never over one)")

// Copy is what Backup wrote.
type Copy struct {
	Size    int64
	Entries int64  // the copy's ledger entries
	Head    string // and the last one's hash
}

// Backup writes a copy of the database to path, a file that must not exist:
// the database as one read transaction sees it (VACUUM INTO), so a night may
// go on writing meanwhile and the copy is still whole, where copying the
// file by hand while zhutui runs, or without its -wal file, is not. The copy
// is made mode 0600, as the database (it holds every member's ID and card
// number in full), and synced; its ledger head is read back from it.
func (s *Store) Backup(ctx context.Context, path string) (Copy, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return Copy{}, fmt.Errorf("backup %s: %w", path, ErrBackupExists)
	}
	if err != nil {
		return Copy{}, fmt.Errorf("backup: %w", err)
	}
	f.Close()
	fail := func(err error) (Copy, error) {
		os.Remove(path)
		return Copy{}, fmt.Errorf("backup %s: %w", path, err)
	}
	// SQLite writes into an empty file. The connection takes URI file
	// names, so a relative path starting "file:" would be read as one: it
	// is made absolute first.
	abs, err := filepath.Abs(path)
	if err != nil {
		return fail(err)
	}
	if _, err := s.db.ExecContext(ctx, `VACUUM INTO ?`, abs); err != nil {
		return fail(err)
	}
	f, err = os.OpenFile(abs, os.O_RDWR, 0)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	c := Copy{Size: fi.Size()}
	// Read back from the copy itself: the database may have moved on.
	db, err := sqlx.Open("sqlite3", fileURI(abs)+"?mode=ro&immutable=1")
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	if c.Entries, c.Head, err = ledgerHead(ctx, db); err != nil {
		return fail(fmt.Errorf("read the copy back: %w", err))
	}
	return c, nil
}

// fileURI is the "file:" URI of a path. '%', '?' and '#' in the path are
// escaped, or SQLite would open another file.
func fileURI(path string) string {
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}
