package sqlite

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/jmoiron/sqlx"

	"zhutui/migrations"
)

// migrationFS holds the migrations this zhutui knows; tests add to it.
var migrationFS fs.FS = migrations.FS

// migrationNames returns the names of the migrations this zhutui knows, in
// the order they apply.
func migrationNames() ([]string, error) {
	names, err := fs.Glob(migrationFS, "*.sql")
	sort.Strings(names)
	return names, err
}

// migrate applies the embedded migrations in name order, each in its own
// transaction, and records each in the migrations table. A database that has
// them all is only read: opening it takes no write lock, so a command that
// reads (zhutui status, batch list) answers while a night holds the lock in a
// long transaction.
//
// Two databases are refused. One that a newer zhutui has migrated (it holds a
// migration this one does not know): this zhutui must not write to it. And,
// while another process holds the run lease, one with migrations to apply: a
// new binary would otherwise change the schema under a night that an older
// one is running. Each migration checks the lease in its own transaction, so
// a night cannot start between the check and the change.
func (s *Store) migrate(ctx context.Context) error {
	names, err := migrationNames()
	if err != nil {
		return err
	}
	// Read first; any error (a new database has no migrations table) means
	// the writes below, which report their own errors.
	if applied, err := appliedMigrations(ctx, s.db); err == nil {
		if err := newerSchema(applied, names); err != nil {
			return err
		}
		if slices.Equal(applied, names) {
			return nil
		}
		if err := s.noNight(ctx, s.db, missing(applied, names)); err != nil {
			return err
		}
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return err
	}
	for _, name := range names {
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			done, err := appliedMigrations(ctx, tx)
			if err != nil {
				return err
			}
			if slices.Contains(done, name) {
				return nil
			}
			// Checked again under the write lock: another zhutui may have
			// migrated, or a night begun, since the read above.
			if err := newerSchema(done, names); err != nil {
				return err
			}
			if err := s.noNight(ctx, tx, missing(done, names)); err != nil {
				return err
			}
			body, err := fs.ReadFile(migrationFS, name)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO migrations (name, applied_at) VALUES (?, ?)`, name, s.now())
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// missing returns the names of want that have lacks, in want's order.
func missing(have, want []string) []string {
	var out []string
	for _, n := range want {
		if !slices.Contains(have, n) {
			out = append(out, n)
		}
	}
	return out
}

// newerSchema refuses a database holding a migration that names (this
// zhutui's) does not have.
func newerSchema(applied, names []string) error {
	unknown := missing(names, applied)
	if len(unknown) == 0 {
		return nil
	}
	return &NewerSchemaError{Unknown: unknown}
}

// NewerSchemaError means a newer zhutui has migrated the database.
type NewerSchemaError struct{ Unknown []string }

func (e *NewerSchemaError) Error() string {
	return fmt.Sprintf("the database has migration %s, which this zhutui does not know: a newer zhutui has "+
		"migrated it, and this one must not work on it; use the newer zhutui (a daemon started before the "+
		"upgrade must be restarted)", strings.Join(e.Unknown, ", "))
}

// CheckSchema refuses to go on when a newer zhutui has migrated the database
// since it was opened: a daemon started before an upgrade, say.
func (s *Store) CheckSchema(ctx context.Context) error {
	return checkSchema(ctx, s.db)
}

func checkSchema(ctx context.Context, q sqlx.QueryerContext) error {
	names, err := migrationNames()
	if err != nil {
		return err
	}
	applied, err := appliedMigrations(ctx, q)
	if err != nil {
		return err
	}
	return newerSchema(applied, names)
}

// appliedMigrations returns the names the migrations table records, in order.
func appliedMigrations(ctx context.Context, q sqlx.QueryerContext) ([]string, error) {
	var applied []string
	err := sqlx.SelectContext(ctx, q, &applied, `SELECT name FROM migrations ORDER BY name`)
	return applied, err
}

// noNight refuses the migrations todo while another process holds the run
// lease. A database older than the lease (migration 004) has none to hold.
func (s *Store) noNight(ctx context.Context, q sqlx.QueryerContext, todo []string) error {
	var cur leaseRow
	err := sqlx.GetContext(ctx, q, &cur, leaseQuery)
	if isNoRows(err) || isNoTable(err) {
		return nil
	}
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	if !cur.alive(s.Now(), host) {
		return nil
	}
	return fmt.Errorf("%d migration(s) of this zhutui (%s) wait, so as not to change the schema under another "+
		"zhutui's work: %w", len(todo), strings.Join(todo, ", "), cur.busy())
}
