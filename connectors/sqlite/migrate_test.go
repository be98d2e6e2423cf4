package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"zhutui/connectors/sqlite"
	"zhutui/pipeline"
)

// A database decided before migration 008 gets each decision's station from
// its registration's current version.
func TestMigrationBackfillsStation(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	path := st.Path()
	older := reg("R1", 0, "C1", "2014-01-10 09:00:00")
	newer := reg("R1", 0, "C1", "2014-01-11 09:00:00")
	newer.Station = "西城区服务站"
	ingestCerts(t, st, cert("C1", 0, "2013-12-01 08:00:00"))
	ingestRegs(t, st, older, newer)
	reconcile(t, st)

	// Back to the schema before 008.
	db := closeToRaw(t, st)
	for _, q := range []string{
		`ALTER TABLE decisions DROP COLUMN station`,
		`DELETE FROM migrations WHERE name = '008_decision_station.sql'`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	st, err := sqlite.Open(ctx, filepath.Clean(path))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var got []string
	err = st.EachRegistration(ctx, func(l pipeline.RegistrationLine) error {
		got = append(got, l.RegistrationID+" "+l.Station)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "R1 西城区服务站" {
		t.Fatalf("after migration: %q, want [R1 西城区服务站]", got)
	}
}

// closeToRaw closes the store and opens its database with database/sql, to
// take it back to an older schema by hand.
func closeToRaw(t *testing.T, st *sqlite.Store) *sql.DB {
	t.Helper()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", st.Path())
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// reopen closes db and opens the store at path again, which applies the
// migrations not recorded as applied.
func reopen(t *testing.T, db *sql.DB, path string) *sqlite.Store {
	t.Helper()
	db.Close()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Migration 017 gives each payment an ended column, tied to its status, and
// keeps one live payment per registration by that column: the moves through
// the live states no longer rewrite the unique index.
func TestMigrationPaymentsEnded(t *testing.T) {
	st := MustOpen(t)
	path := st.Path()
	db := closeToRaw(t, st)
	// Back to the schema before 017, with payments in every kind of state.
	execAll(t, db,
		`DROP INDEX payments_live`,
		`ALTER TABLE payments DROP COLUMN ended`,
		`CREATE UNIQUE INDEX payments_live ON payments(registration_id)
			WHERE status IN ('ELIGIBLE', 'BATCHED', 'SENT', 'PAID', 'RETURNED')`,
		`DELETE FROM migrations WHERE name = '017_payments_ended.sql'`,
		`INSERT INTO payments (registration_id, attempt, payment_ref, amount_fen, level, status, created_run, changed_run)
		VALUES ('R1', 1, 'R1-1', 100000, 2, 'CANCELLED', 1, 1), ('R1', 2, 'R1-2', 100000, 2, 'ELIGIBLE', 1, 1),
			('R2', 1, 'R2-1', 200000, 1, 'REISSUED', 1, 1), ('R2', 2, 'R2-2', 200000, 1, 'RETURNED', 1, 1),
			('R3', 1, 'R3-1', 100000, 2, 'CANCELLED', 1, 1), ('R4', 1, 'R4-1', 100000, 2, 'PAID', 1, 1)`,
	)
	st = reopen(t, db, path)
	var got []string
	if err := st.DB().Select(&got, `SELECT payment_ref || ' ' || status || ' ' || ended FROM payments ORDER BY payment_ref`); err != nil {
		t.Fatal(err)
	}
	want := []string{"R1-1 CANCELLED 1", "R1-2 ELIGIBLE 0", "R2-1 REISSUED 1", "R2-2 RETURNED 0", "R3-1 CANCELLED 1", "R4-1 PAID 0"}
	if !slices.Equal(got, want) {
		t.Fatalf("after migration 017: %q\nwant %q", got, want)
	}
	var def string
	if err := st.DB().Get(&def, `SELECT sql FROM sqlite_master WHERE name = 'payments_live'`); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(def, "UNIQUE") || strings.Contains(def, "status") {
		t.Errorf("payments_live is %q: want a unique index that does not name the status", def)
	}
	pay := func(ref, reg string, attempt int) error {
		_, err := st.DB().Exec(`INSERT INTO payments (registration_id, attempt, payment_ref, amount_fen, level, status, created_run, changed_run)
			VALUES (?, ?, ?, 100000, 2, 'ELIGIBLE', 2, 2)`, reg, attempt, ref)
		return err
	}
	if err := pay("R1-3", "R1", 3); err == nil {
		t.Error("a second live payment of R1 was taken")
	}
	if err := pay("R3-2", "R3", 2); err != nil {
		t.Errorf("R3, whose only payment ended, cannot be paid again: %v", err)
	}
	for _, q := range []string{
		`UPDATE payments SET status = 'CANCELLED' WHERE payment_ref = 'R4-1'`,
		`UPDATE payments SET ended = 1 WHERE payment_ref = 'R2-2'`,
		`UPDATE payments SET status = 'ELIGIBLE' WHERE payment_ref = 'R3-1'`,
	} {
		if _, err := st.DB().Exec(q); err == nil {
			t.Errorf("%s: the status and ended went apart", q)
		}
	}
}

// A newer zhutui's migration waits while another process holds the run
// lease (a night run by the older binary), and is applied once it ends. From
// then on the older zhutui is refused: opening the database, taking the
// lease (a daemon that opened it before the upgrade), checking the schema.
func TestMigrationAndANight(t *testing.T) {
	ctx := context.Background()
	older := MustOpen(t)
	older.Now = time.Now // the clock of the store Open returns: the lease is fresh
	night, err := older.AcquireLease(ctx, pipeline.Holder{User: "ops", Host: "elsewhere", PID: 1, Command: "run"})
	if err != nil {
		t.Fatal(err)
	}
	restore := sqlite.WithMigration(t, "999_newer.sql", `CREATE TABLE newer (x INTEGER)`)
	hasNewer := func() bool {
		var n int
		if err := older.DB().Get(&n, `SELECT count(*) FROM sqlite_master WHERE name = 'newer'`); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	_, err = sqlite.Open(ctx, older.Path())
	if err == nil || !strings.Contains(err.Error(), "999_newer.sql") || !strings.Contains(err.Error(), "ops@elsewhere pid 1") {
		t.Fatalf("opened under a night with a migration to apply: %v; want a refusal naming the migration and the night", err)
	}
	if hasNewer() {
		t.Fatal("the migration was applied under the night")
	}
	if err := night.Release(); err != nil {
		t.Fatal(err)
	}
	newer, err := sqlite.Open(ctx, older.Path())
	if err != nil {
		t.Fatalf("after the night: %v", err)
	}
	newer.Close()
	if !hasNewer() {
		t.Fatal("the migration was not applied after the night")
	}

	restore() // the older zhutui again
	wantRefusal := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "has migration 999_newer.sql, which this zhutui does not know") {
			t.Errorf("%s on a newer schema: %v; want a refusal naming 999_newer.sql", what, err)
		}
	}
	_, err = sqlite.Open(ctx, older.Path())
	wantRefusal("open", err)
	lease, err := older.AcquireLease(ctx, pipeline.Holder{User: "ops", Host: "here", PID: 2, Command: "run"})
	if err == nil {
		lease.Release()
	}
	wantRefusal("taking the lease", err)
	wantRefusal("checking the schema", older.CheckSchema(ctx))
	var n int
	if err := older.DB().Get(&n, `SELECT count(*) FROM lease`); err != nil || n != 0 {
		t.Errorf("refused, the lease has %d rows (%v); want none", n, err)
	}
}
