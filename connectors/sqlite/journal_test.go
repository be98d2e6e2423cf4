package sqlite_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"zhutui/pipeline"
)

func journalState(t *testing.T, db interface {
	QueryRow(string, ...any) *sql.Row
}) (triggers, notes int, settings string) {
	t.Helper()
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%\_report%' ESCAPE '\'`).Scan(&triggers); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM report_changes`).Scan(&notes); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT coalesce(group_concat(name || '=' || value), '') FROM settings WHERE name LIKE 'report.%'`).Scan(&settings); err != nil {
		t.Fatal(err)
	}
	return
}

// The report's journal costs a night nothing until a report turns it on;
// from then on every change of a line is noted, whatever wrote it.
func TestJournalFromTheFirstReport(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	payable(t, st, 2)
	if tr, n, _ := journalState(t, st.DB()); tr != 0 || n != 0 {
		t.Fatalf("before any report: %d journal triggers, %d notes; want none", tr, n)
	}
	ch, err := st.ReportChanges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tr, n, _ := journalState(t, st.DB()); tr != 4 || n != 0 || ch.Notes != 0 || ch.State.SHA256 != "" {
		t.Fatalf("after the first report: %d journal triggers, %d notes, %+v; want 4, 0 and no state", tr, n, ch)
	}
	if _, err := st.ReportChanges(ctx); err != nil { // again: nothing to create
		t.Fatal(err)
	}
	moved := reg("R1", 0, "C1", "2014-01-10 09:00:00")
	moved.UpdatedAt, moved.Station = at("2014-01-20 09:00:00"), "西城区服务站"
	ingestRegs(t, st, moved)
	reconcile(t, st)
	if _, err := st.CreateBatches(ctx, 1, spec(10), render); err != nil {
		t.Fatal(err)
	}
	var noted []string
	if err := st.DB().Select(&noted, `SELECT DISTINCT registration_id FROM report_changes ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	if len(noted) != 2 || noted[0] != "R1" || noted[1] != "R2" {
		t.Fatalf("noted %v, want R1 (station) and R2 (batched)", noted)
	}
}

// A database whose journal ran under migration 009's triggers loses them,
// its notes and its state with migration 013: the next report reads every
// registration and starts anew.
func TestMigrationRestartsTheJournal(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	payable(t, st, 1)
	path := st.Path()
	db := closeToRaw(t, st)
	execAll(t, db,
		`CREATE TRIGGER decisions_report_new AFTER INSERT ON decisions
		WHEN (SELECT value FROM settings WHERE name = 'report.journal') = 'on'
		BEGIN INSERT INTO report_changes (registration_id) VALUES (NEW.registration_id); END`,
		`CREATE TRIGGER decisions_report AFTER UPDATE OF status, reasons, amount_fen, level, station ON decisions
		WHEN (SELECT value FROM settings WHERE name = 'report.journal') = 'on'
		BEGIN INSERT INTO report_changes (registration_id) VALUES (NEW.registration_id); END`,
		`CREATE TRIGGER payments_report_new AFTER INSERT ON payments
		WHEN (SELECT value FROM settings WHERE name = 'report.journal') = 'on'
		BEGIN INSERT INTO report_changes (registration_id) VALUES (NEW.registration_id); END`,
		`CREATE TRIGGER payments_report AFTER UPDATE OF status, amount_fen, batch_id, payment_ref ON payments
		WHEN (SELECT value FROM settings WHERE name = 'report.journal') = 'on'
		BEGIN INSERT INTO report_changes (registration_id) VALUES (NEW.registration_id); END`,
		`INSERT INTO settings (name, value) VALUES ('report.journal', 'on'), ('report.state', 'abc 1')`,
		`INSERT INTO report_changes (registration_id) VALUES ('R1')`,
		`DELETE FROM migrations WHERE name = '013_report_journal_on_demand.sql'`,
	)
	if tr, n, set := journalState(t, db); tr != 4 || n != 1 || set == "" {
		t.Fatalf("set-up: %d triggers, %d notes, %q", tr, n, set)
	}
	st = reopen(t, db, path)
	if tr, n, set := journalState(t, st.DB()); tr != 0 || n != 0 || set != "" {
		t.Fatalf("after migration 013: %d triggers, %d notes, settings %q; want none", tr, n, set)
	}
	ch, err := st.ReportChanges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ch.State != (pipeline.ReportState{}) {
		t.Fatalf("a state survived the migration: %+v", ch.State)
	}
}

// A state is recorded with both of its files and read back whole; one
// recorded before exceptions were kept has registrations only.
func TestReportStateRecorded(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	if _, err := st.ReportChanges(ctx); err != nil {
		t.Fatal(err)
	}
	want := pipeline.ReportState{SHA256: "aa", Rows: 3, ExceptionsSHA256: "bb", ExceptionRows: 5}
	if err := st.SaveReportState(ctx, pipeline.ReportState{}, want, 0); err != nil {
		t.Fatal(err)
	}
	if ch, err := st.ReportChanges(ctx); err != nil || ch.State != want {
		t.Fatalf("state read back %+v, %v; want %+v", ch.State, err, want)
	}
	if _, err := st.DB().Exec(`UPDATE settings SET value = 'aa 3' WHERE name = 'report.state'`); err != nil {
		t.Fatal(err)
	}
	ch, err := st.ReportChanges(ctx)
	if err != nil || ch.State != (pipeline.ReportState{SHA256: "aa", Rows: 3}) {
		t.Fatalf("a state of registrations only read back as %+v, %v", ch.State, err)
	}
	// The next report, which read it, saves its own in its place.
	if err := st.SaveReportState(ctx, ch.State, want, 0); err != nil {
		t.Fatal(err)
	}
	if ch, err := st.ReportChanges(ctx); err != nil || ch.State != want {
		t.Fatalf("a state saved after one of registrations only read back as %+v, %v; want %+v", ch.State, err, want)
	}
	// A report that read an older state saves nothing and forgets no note:
	// another report saved its state since, and the files on disk are that
	// one's.
	payable(t, st, 1)
	before, err := st.ReportChanges(ctx)
	if err != nil || before.Notes == 0 {
		t.Fatalf("notes after a registration: %+v, %v; want some", before, err)
	}
	stale := pipeline.ReportState{SHA256: "old", Rows: 1}
	if err := st.SaveReportState(ctx, stale, pipeline.ReportState{SHA256: "cc", Rows: 4}, before.Mark); err != nil {
		t.Fatal(err)
	}
	if after, err := st.ReportChanges(ctx); err != nil || after != before {
		t.Fatalf("after a save from a stale state: %+v, %v; want %+v unchanged", after, err, before)
	}
	if _, err := st.DB().Exec(`UPDATE settings SET value = 'aa 3' WHERE name = 'report.state'`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().Exec(`UPDATE settings SET value = 'aa 3 bb' WHERE name = 'report.state'`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ReportChanges(ctx); err == nil {
		t.Fatal("a state of three fields was read")
	}
}

// Migration 016 drops the trigger that noted too few of a decision's
// columns, with the notes and the state: the next report reads every
// registration and creates the trigger anew.
func TestMigrationNotesExceptionColumns(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	payable(t, st, 1)
	if _, err := st.ReportChanges(ctx); err != nil {
		t.Fatal(err)
	}
	path := st.Path()
	db := closeToRaw(t, st)
	execAll(t, db,
		`DROP TRIGGER decisions_report`,
		`CREATE TRIGGER decisions_report AFTER UPDATE OF status, reasons, amount_fen, level, station ON decisions
		BEGIN INSERT INTO report_changes (registration_id) VALUES (NEW.registration_id); END`,
		`INSERT INTO settings (name, value) VALUES ('report.state', 'abc 1')`,
		`INSERT INTO report_changes (registration_id) VALUES ('R1')`,
		`DELETE FROM migrations WHERE name = '016_report_exceptions_state.sql'`,
	)
	st = reopen(t, db, path)
	if tr, n, set := journalState(t, st.DB()); tr != 3 || n != 0 || set != "" {
		t.Fatalf("after migration 016: %d triggers, %d notes, settings %q; want 3 and none", tr, n, set)
	}
	if _, err := st.ReportChanges(ctx); err != nil {
		t.Fatal(err)
	}
	var def string
	if err := st.DB().Get(&def, `SELECT sql FROM sqlite_master WHERE name = 'decisions_report'`); err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{"findings", "held", "duplicate", "over_limit", "cert_key", "person_key", "submitted_at", "base_status"} {
		if !strings.Contains(def, col) {
			t.Errorf("the new trigger does not note %s: %s", col, def)
		}
	}
}

// execAll runs each statement on db.
func execAll(t *testing.T, db *sql.DB, statements ...string) {
	t.Helper()
	for _, q := range statements {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
