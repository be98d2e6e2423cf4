package sqlite_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"zhutui/connectors/sqlite"
)

// queryPlan returns the steps of EXPLAIN QUERY PLAN for q, on one
// connection after the setup statements (temporary tables are the
// connection's own).
func queryPlan(t *testing.T, st *sqlite.Store, setup []string, q string, args ...any) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := st.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, s := range setup {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := conn.QueryContext(ctx, `EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestRejudgeReadsTheRejudgedOnly: the registrations to judge again after a
// rejected batch are found from the few rejudged, each looked up among the
// registrations, not by walking every registration.
func TestRejudgeReadsTheRejudgedOnly(t *testing.T) {
	plan := queryPlan(t, MustOpen(t),
		[]string{`CREATE TEMP TABLE IF NOT EXISTS todo (registration_id TEXT PRIMARY KEY) WITHOUT ROWID`},
		sqlite.RejudgeTodo)
	if len(plan) == 0 || plan[0] != "SCAN j" ||
		!slices.ContainsFunc(plan, func(s string) bool {
			return strings.HasPrefix(s, "SEARCH r ") && strings.Contains(s, "PRIMARY KEY (registration_id=?)")
		}) {
		t.Errorf("plan %q, want the rejudged scanned and each registration searched", plan)
	}
}

// TestAtLeast: whether a table holds n rows, read with a bound.
func TestAtLeast(t *testing.T) {
	st := MustOpen(t)
	ctx := context.Background()
	if _, err := st.DB().Exec(`INSERT INTO rejudge (registration_id) VALUES ('R1'), ('R2'), ('R3')`); err != nil {
		t.Fatal(err)
	}
	for n, want := range map[int]bool{0: true, 1: true, 3: true, 4: false, 100: false} {
		if got, err := st.AtLeast(ctx, "rejudge", n); err != nil || got != want {
			t.Errorf("at least %d: %v, %v; want %v", n, got, err, want)
		}
	}
	plan := queryPlan(t, st, nil, sqlite.AtLeastQuery("registrations"), 10)
	if !slices.ContainsFunc(plan, func(s string) bool { return strings.HasPrefix(s, "CO-ROUTINE") }) {
		t.Errorf("plan %q, want the rows read as a bounded subquery", plan)
	}
}
