package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

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
