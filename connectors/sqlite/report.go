package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"zhutui/pipeline"
)

var _ pipeline.ReportSource = (*Store)(nil)

// Summary reads the counts and amounts of a run's report.
func (s *Store) Summary(ctx context.Context, runID int64) (*pipeline.Summary, error) {
	run, err := s.Run(ctx, runID)
	if err != nil {
		return nil, err
	}
	sum := &pipeline.Summary{Run: run}
	if sum.LastRun, err = s.LastRunID(ctx); err != nil {
		return nil, err
	}
	if sum.Programme, err = setting(ctx, s.db, "programme"); err != nil {
		return nil, err
	}
	if sum.Money, err = s.MoneyCheck(ctx); err != nil {
		return nil, err
	}
	if sum.Batches, err = s.Batches(ctx); err != nil {
		return nil, err
	}
	if err := s.EachAlert(ctx, func(a pipeline.Alert) error {
		sum.Alerts, sum.AlertCount = firstListed(sum.Alerts, a), sum.AlertCount+1
		return nil
	}); err != nil {
		return nil, err
	}
	if err := s.EachNoMobile(ctx, func(n pipeline.Notice) error {
		sum.NoMobile, sum.NoMobileCount = firstListed(sum.NoMobile, n), sum.NoMobileCount+1
		return nil
	}); err != nil {
		return nil, err
	}
	if sum.Waiting, err = s.waiting(ctx); err != nil {
		return nil, err
	}
	if sum.Budget, err = s.budgetState(ctx); err != nil {
		return nil, err
	}
	err = s.db.SelectContext(ctx, &sum.Files, `SELECT kind, location, name, sha256, size, encoding, outcome, reason,
		rows_applied, rows_unchanged, rows_rejected FROM files WHERE run_id = ? ORDER BY id`, runID)
	if err != nil {
		return nil, fmt.Errorf("read files of run %d: %w", runID, err)
	}
	return sum, nil
}

// registrationStatus is the FROM clause of a registration with the status
// reports show: its live payment's, else its decision's.
const registrationStatus = `(SELECT d.registration_id, d.version_id, d.level, d.station, d.reasons, d.status AS decision,
		coalesce(p.status, d.status) AS status, coalesce(p.amount_fen, iif(d.status = 'ELIGIBLE', d.amount_fen, NULL)) AS amount_fen,
		coalesce(p.payment_ref, '') AS payment_ref, coalesce(p.batch_id, '') AS batch_id
	FROM decisions d LEFT JOIN payments p ON p.registration_id = d.registration_id AND p.ended = 0)`

// payableStatuses is the SQL list of statuses that hold money decided payable.
var payableStatuses = func() string {
	var q []string
	for _, s := range pipeline.MoneyStatuses {
		q = append(q, "'"+string(s)+"'")
	}
	return "(" + strings.Join(q, ", ") + ")"
}()

// budgetState reads where the programme's budget stands, nil when it has none.
func (s *Store) budgetState(ctx context.Context) (*pipeline.BudgetState, error) {
	p, err := s.Programme(ctx)
	if err != nil {
		return nil, err
	}
	budget, ok := p.Budget()
	if !ok {
		return nil, nil
	}
	b := &pipeline.BudgetState{BudgetFen: pipeline.Fen(budget)}
	if err := s.db.QueryRowContext(ctx, `SELECT coalesce(sum(amount_fen) FILTER (WHERE status != 'ELIGIBLE'), 0),
		count(*) FILTER (WHERE status = 'ELIGIBLE'), coalesce(sum(amount_fen) FILTER (WHERE status = 'ELIGIBLE'), 0)
		FROM payments WHERE status IN `+payableStatuses).Scan(&b.CommittedFen, &b.WaitingCount, &b.WaitingFen); err != nil {
		return nil, err
	}
	return b, nil
}

// CountRegistrations counts the registrations the report lists.
func (s *Store) CountRegistrations(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM decisions`)
	return n, err
}

// registrationLine selects registrations.csv's lines.
const registrationLine = `SELECT d.registration_id, d.status, d.reasons, d.amount_fen,
	d.payment_ref, d.batch_id, d.level, d.station FROM ` + registrationStatus + ` d`

// EachRegistration streams registrations.csv's lines.
func (s *Store) EachRegistration(ctx context.Context, fn func(pipeline.RegistrationLine) error) error {
	return s.eachLine(ctx, fn, registrationLine+` ORDER BY d.registration_id`)
}

// EachChangedRegistration streams the lines of the registrations noted in
// report_changes up to mark.
func (s *Store) EachChangedRegistration(ctx context.Context, mark int64, fn func(pipeline.RegistrationLine) error) error {
	return s.eachLine(ctx, fn, registrationLine+` WHERE d.registration_id IN
		(SELECT registration_id FROM report_changes WHERE id <= ?) ORDER BY d.registration_id`, mark)
}

// The state of the report's registrations (see migration 009).
const settingReportState = "report.state"

// journalTriggers note in report_changes every change of a column a line of
// registrations.csv or exceptions.csv shows (the decision's, and its
// payments'), or that orders a first-come group, whatever wrote it. They
// exist from the first report on (migrations 009, 013 and 016): a night
// before it, a first night, pays nothing for them.
var journalTriggers = []string{
	`CREATE TRIGGER IF NOT EXISTS decisions_report_new AFTER INSERT ON decisions
	BEGIN INSERT INTO report_changes (registration_id) VALUES (NEW.registration_id); END`,
	`CREATE TRIGGER IF NOT EXISTS decisions_report AFTER UPDATE OF status, reasons, amount_fen, level, station,
		findings, version_id, duplicate, over_limit, held, base_status, submitted_at, cert_key, person_key ON decisions
	BEGIN INSERT INTO report_changes (registration_id) VALUES (NEW.registration_id); END`,
	`CREATE TRIGGER IF NOT EXISTS payments_report_new AFTER INSERT ON payments
	BEGIN INSERT INTO report_changes (registration_id) VALUES (NEW.registration_id); END`,
	`CREATE TRIGGER IF NOT EXISTS payments_report AFTER UPDATE OF status, amount_fen, batch_id, payment_ref ON payments
	BEGIN INSERT INTO report_changes (registration_id) VALUES (NEW.registration_id); END`,
}

// ReportChanges turns the notes on (from now on every change of a line is
// noted) and reads how far they go and the last state saved.
func (s *Store) ReportChanges(ctx context.Context) (pipeline.ReportChanges, error) {
	var c pipeline.ReportChanges
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, q := range journalTriggers {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0), count(*) FROM report_changes`).Scan(&c.Mark, &c.Notes); err != nil {
			return err
		}
		v, err := setting(ctx, tx, settingReportState)
		if err != nil || v == "" {
			return err
		}
		if c.State, err = parseReportState(v); err != nil {
			return fmt.Errorf("setting %s %q: %w", settingReportState, v, err)
		}
		return nil
	})
	if err != nil {
		return c, fmt.Errorf("report changes: %w", err)
	}
	return c, nil
}

// SaveReportState records the state file written and forgets the notes up
// to mark, which it holds. When another report saved its state since this
// one read prev, it changes nothing: the file on disk no longer matches
// what is recorded, so the next report reads every registration.
func (s *Store) SaveReportState(ctx context.Context, prev, st pipeline.ReportState, mark int64) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		now, err := setting(ctx, tx, settingReportState)
		if err != nil {
			return err
		}
		if now != formatReportState(prev) {
			return nil
		}
		if err := setSetting(ctx, tx, settingReportState, formatReportState(st)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM report_changes WHERE id <= ?`, mark)
		return err
	})
	if err != nil {
		return fmt.Errorf("save report state: %w", err)
	}
	return nil
}

// formatReportState gives the setting of a state: its registrations' file's
// SHA-256 and lines, then its exceptions' (which a report before migration
// 016 did not keep).
func formatReportState(st pipeline.ReportState) string {
	switch {
	case st.SHA256 == "":
		return ""
	case st.ExceptionsSHA256 == "":
		return fmt.Sprintf("%s %d", st.SHA256, st.Rows)
	}
	return fmt.Sprintf("%s %d %s %d", st.SHA256, st.Rows, st.ExceptionsSHA256, st.ExceptionRows)
}

func parseReportState(v string) (pipeline.ReportState, error) {
	var st pipeline.ReportState
	f := strings.Fields(v)
	if len(f) != 2 && len(f) != 4 {
		return st, fmt.Errorf("%d fields, want 4", len(f))
	}
	var err error
	st.SHA256 = f[0]
	if st.Rows, err = strconv.ParseInt(f[1], 10, 64); err == nil && len(f) == 4 {
		st.ExceptionsSHA256 = f[2]
		st.ExceptionRows, err = strconv.ParseInt(f[3], 10, 64)
	}
	return st, err
}

func (s *Store) eachLine(ctx context.Context, fn func(pipeline.RegistrationLine) error, query string, args ...any) error {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("read registrations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l pipeline.RegistrationLine
		var amount sql.NullInt64
		if err := rows.Scan(&l.RegistrationID, &l.Status, &l.Reasons, &amount, &l.PaymentRef, &l.BatchID, &l.Level, &l.Station); err != nil {
			return err
		}
		if amount.Valid {
			l.AmountFen = &amount.Int64
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	return rows.Err()
}

// exceptionColumns are what a registration's exception lines are made of
// (scanned by exceptionLines): its decision, with the registrations that came
// first in its certificate's and its person's groups when it lost to them.
const exceptionColumns = `d.registration_id, d.station, d.status, d.findings,
	d.duplicate, d.over_limit,
	iif(d.duplicate, (SELECT v.certificate_number FROM registration_versions v WHERE v.id = d.version_id), ''), d.level,
	iif(d.duplicate, (SELECT w.registration_id FROM decisions w WHERE w.cert_key = d.cert_key
		ORDER BY ` + certOrder + ` LIMIT 1), ''),
	iif(d.over_limit, (SELECT w.registration_id FROM decisions w WHERE w.person_key = d.person_key
		ORDER BY ` + personOrder + ` LIMIT 1), '')`

// EachException streams every failing check: the findings of rules 1-17 and
// the first-come rules, naming the registration that came first.
func (s *Store) EachException(ctx context.Context, fn func(pipeline.ExceptionLine) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT `+exceptionColumns+`
		FROM decisions d WHERE d.reasons != '' ORDER BY d.registration_id`)
	if err != nil {
		return fmt.Errorf("read exceptions: %w", err)
	}
	defer rows.Close()
	var lines []pipeline.ExceptionLine
	for rows.Next() {
		if lines, err = exceptionLines(rows, lines[:0]); err != nil {
			return err
		}
		for _, l := range lines {
			if err := fn(l); err != nil {
				return err
			}
		}
	}
	return rows.Err()
}

// EachChangedException calls fn, in registration_id order, with the exception
// lines (none when it has no failing check) of every registration noted in
// report_changes up to mark and of every registration that lost a first-come
// rule in the groups of those: a loser's line names the group's first, which
// changes when any member of the group changes. A member that left a group
// is noted with its new key, but the old group's first changes only when it
// was the one that left, and then the next member's flag changes: it is
// noted with that group's key.
func (s *Store) EachChangedException(ctx context.Context, mark int64, fn func(id string, lines []pipeline.ExceptionLine) error) error {
	rows, err := s.db.QueryContext(ctx, `WITH
		noted(id) AS (SELECT DISTINCT registration_id FROM report_changes WHERE id <= ?1),
		groups AS (SELECT d.cert_key, d.person_key FROM decisions d WHERE d.registration_id IN (SELECT id FROM noted)),
		changed(id) AS (
			SELECT id FROM noted
			UNION SELECT registration_id FROM decisions
				WHERE cert_key IN (SELECT cert_key FROM groups WHERE cert_key != '') AND duplicate
			UNION SELECT registration_id FROM decisions
				WHERE person_key IN (SELECT person_key FROM groups) AND over_limit)
		SELECT c.id, `+exceptionColumns+`
		FROM changed c LEFT JOIN decisions d ON d.registration_id = c.id AND d.reasons != ''
		ORDER BY c.id`, mark)
	if err != nil {
		return fmt.Errorf("read changed exceptions: %w", err)
	}
	defer rows.Close()
	var lines []pipeline.ExceptionLine
	for rows.Next() {
		var id string
		if lines, err = exceptionLines(rows, lines[:0], &id); err != nil {
			return err
		}
		if err := fn(id, lines); err != nil {
			return err
		}
	}
	return rows.Err()
}

// exceptionLines scans a row of exceptionColumns, after the destinations in
// before, and appends its lines to out.
func exceptionLines(rows *sql.Rows, out []pipeline.ExceptionLine, before ...any) ([]pipeline.ExceptionLine, error) {
	// All NULL when the registration has no failing check (the LEFT JOIN of
	// EachChangedException).
	var id, station, status, findings, certNumber, dupWinner, limitWinner sql.NullString
	var duplicate, overLimit sql.NullBool
	var level sql.NullInt64
	if err := rows.Scan(append(before, &id, &station, &status, &findings, &duplicate, &overLimit,
		&certNumber, &level, &dupWinner, &limitWinner)...); err != nil {
		return out, err
	}
	if !findings.Valid {
		return out, nil
	}
	l := pipeline.ExceptionLine{RegistrationID: id.String, Station: station.String, Status: pipeline.Status(status.String)}
	var fs []pipeline.Finding
	if err := json.Unmarshal([]byte(findings.String), &fs); err != nil {
		return out, fmt.Errorf("registration %s: stored findings: %w", l.RegistrationID, err)
	}
	if duplicate.Bool {
		fs = append(fs, pipeline.Finding{Code: pipeline.DuplicateCertificate, Field: "certificate_number",
			Registered: certNumber.String, Feed: "first: " + dupWinner.String})
	}
	if overLimit.Bool {
		fs = append(fs, pipeline.Finding{Code: pipeline.PersonLevelLimit, Field: "level",
			Registered: fmt.Sprint(level.Int64), Feed: "first: " + limitWinner.String})
	}
	for _, f := range fs {
		l.Finding = f
		out = append(out, l)
	}
	return out, nil
}

// EachReject streams the rows rejected from the files a run took.
func (s *Store) EachReject(ctx context.Context, runID int64, fn func(pipeline.Reject) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT f.name, r.line, r.field, r.reason FROM rejects r
		JOIN files f ON f.id = r.file_id WHERE f.run_id = ? ORDER BY f.id, r.line`, runID)
	if err != nil {
		return fmt.Errorf("read rejects of run %d: %w", runID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r pipeline.Reject
		if err := rows.Scan(&r.File, &r.Line, &r.Field, &r.Reason); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// firstListed appends v to the summary's list while it holds fewer than
// pipeline.MaxListed.
func firstListed[T any](list []T, v T) []T {
	if len(list) < pipeline.MaxListed {
		list = append(list, v)
	}
	return list
}

// EachAlert calls fn for every registration whose payment entered a batch and
// whose decision no longer says ELIGIBLE, or whose current version names
// another certificate, ID number or level than it was paid for (moved),
// found through their partial index (the planner would rather walk every
// payment).
func (s *Store) EachAlert(ctx context.Context, fn func(pipeline.Alert) error) error {
	return s.eachAlert(ctx, "", fn)
}

// BatchAlerts returns the alerts (see EachAlert) whose payment is in batch
// id: what finance staff should know before they approve it.
func (s *Store) BatchAlerts(ctx context.Context, id string) ([]pipeline.Alert, error) {
	var alerts []pipeline.Alert
	err := s.eachAlert(ctx, id, func(a pipeline.Alert) error {
		alerts = append(alerts, a)
		return nil
	})
	return alerts, err
}

// eachAlert calls fn for every alert, or for those of batch (unless "").
func (s *Store) eachAlert(ctx context.Context, batch string, fn func(pipeline.Alert) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT d.registration_id, p.payment_ref, p.batch_id, p.status, d.status, d.reasons,
			d.moved, d.cert_key, d.person_key, v.certificate_number, v.id_number, d.level
		FROM decisions d INDEXED BY decisions_alerts CROSS JOIN payments p ON p.registration_id = d.registration_id
			AND p.status IN ('BATCHED', 'SENT', 'PAID', 'RETURNED')
		JOIN registration_versions v ON v.id = d.version_id
		WHERE d.held = 1 AND (d.status != 'ELIGIBLE' OR d.moved = 1) AND (?1 = '' OR p.batch_id = ?1)
		ORDER BY d.registration_id`, batch)
	if err != nil {
		return fmt.Errorf("read alerts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a pipeline.Alert
		var moved bool
		var certKey, personKey, certNo, idNumber string
		var level int
		if err := rows.Scan(&a.RegistrationID, &a.PaymentRef, &a.BatchID, &a.PaymentStatus, &a.Decision, &a.Reasons,
			&moved, &certKey, &personKey, &certNo, &idNumber, &level); err != nil {
			return fmt.Errorf("read alerts: %w", err)
		}
		if moved {
			a.Change = placeChange(certKey, personKey, certNo, idNumber, level)
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	return rows.Err()
}

// placeChange says how a registration's current certificate number, ID
// number and level differ from the place it holds (its decision's frozen
// cert_key and person_key, "<ID number>|<level>"), ID numbers masked.
func placeChange(certKey, personKey, certNo, idNumber string, level int) string {
	none := func(s string) string { return cmp.Or(s, "(none)") }
	var change []string
	if now := pipeline.NormalizeCertificateNumber(certNo); now != certKey {
		change = append(change, fmt.Sprintf("certificate %s → %s", none(certKey), none(now)))
	}
	heldID, heldLevel, _ := strings.Cut(personKey, "|")
	if now := pipeline.NormalizeIDNumber(idNumber); now != heldID {
		change = append(change, fmt.Sprintf("ID number %s → %s", none(pipeline.MaskID(heldID)), none(pipeline.MaskID(now))))
	}
	if now := strconv.Itoa(level); now != heldLevel {
		change = append(change, fmt.Sprintf("level %s → %s", heldLevel, now))
	}
	return strings.Join(change, "; ")
}
