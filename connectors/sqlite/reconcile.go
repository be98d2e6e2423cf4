package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"zhutui/pipeline"
	"zhutui/pipeline/crashpoint"
)

// The watermarks: the highest registration and certificate version ids the
// last reconcile saw (rules do not depend on the clock, so a registration
// needs judging again only when its current version or its certificate's
// changed since), and the last return posting the check for returned
// payments to pay again has seen (syncPayments; unset, it looks at all).
const (
	markRegistrations = "reconcile.registration_version"
	markCertificates  = "reconcile.certificate_version"
	markReturns       = "reconcile.return_entry"
)

func resetWatermarks(ctx context.Context, tx *sqlx.Tx) error {
	if err := setSetting(ctx, tx, markRegistrations, "0"); err != nil {
		return err
	}
	if err := setSetting(ctx, tx, markReturns, ""); err != nil {
		return err
	}
	return setSetting(ctx, tx, markCertificates, "0")
}

// reconcileChunk is how many registrations are read, judged and written at a
// time, bounding memory.
const reconcileChunk = 4096

// Reconcile judges, in one transaction, every registration whose current
// version or certificate changed since the last reconcile with rules 1-17
// (p.Evaluate), then applies the first-come rules 18 and 19 to every
// certificate and person group those registrations belong to or left, and
// records each change of status in the history. Then it brings the payments
// in line with the decisions (syncPayments), posting every movement.
func (s *Store) Reconcile(ctx context.Context, runID int64, p *pipeline.Programme) (pipeline.ReconcileCounts, error) {
	var counts pipeline.ReconcileCounts
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		regMark, certMark, err := watermarks(ctx, tx)
		if err != nil {
			return err
		}
		var regTop, certTop int64
		if err := tx.GetContext(ctx, &regTop, `SELECT coalesce(max(id), 0) FROM registration_versions`); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &certTop, `SELECT coalesce(max(id), 0) FROM certificate_versions`); err != nil {
			return err
		}
		for _, q := range []string{
			`CREATE TEMP TABLE IF NOT EXISTS todo (registration_id TEXT PRIMARY KEY) WITHOUT ROWID`,
			`CREATE TEMP TABLE IF NOT EXISTS touched_certs (cert_key TEXT PRIMARY KEY) WITHOUT ROWID`,
			`CREATE TEMP TABLE IF NOT EXISTS touched_persons (person_key TEXT PRIMARY KEY) WITHOUT ROWID`,
			`DELETE FROM temp.todo`, `DELETE FROM temp.touched_certs`, `DELETE FROM temp.touched_persons`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO temp.todo
			SELECT registration_id FROM registrations WHERE version_id > ? AND version_id <= ?`, regMark, regTop); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO temp.todo
			SELECT r.registration_id FROM certificates c JOIN registrations r ON r.cert_key = c.cert_key
			WHERE c.version_id > ? AND c.version_id <= ?`, certMark, certTop); err != nil {
			return err
		}
		// Registrations whose batch was rejected no longer hold a place.
		if _, err := tx.ExecContext(ctx, rejudgeTodo); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM rejudge`); err != nil {
			return err
		}
		// When every registration is judged (a first night, a new programme),
		// every group is touched: noting them one by one would only cost.
		// (temp.todo holds registrations only, so all are in it when there
		// are no more.)
		var todo int
		if err := tx.GetContext(ctx, &todo, `SELECT count(*) FROM temp.todo`); err != nil {
			return err
		}
		more, err := atLeast(ctx, tx, "registrations", todo+1)
		if err != nil {
			return err
		}
		all := !more
		judge := func() (err error) {
			counts.Judged, err = s.judge(ctx, tx, runID, p, all)
			return err
		}
		if all { // nearly every decision is written: index them afterwards
			j := judge
			judge = func() error { return withoutIndexes(ctx, tx, "decisions", j) }
		}
		if err := profiled(ctx, "judge", judge); err != nil {
			return err
		}
		if err := profiled(ctx, "compete", func() error { return compete(ctx, tx, runID, all) }); err != nil {
			return err
		}
		// What changed is what the history triggers recorded for this run.
		if err := tx.GetContext(ctx, &counts.Changed, `SELECT count(*) FROM status_history WHERE run_id = ?`, runID); err != nil {
			return err
		}
		lw, err := s.ledger(ctx, tx, runID)
		if err != nil {
			return err
		}
		defer lw.close()
		if err := profiled(ctx, "payments", func() (err error) {
			counts.Payments, err = s.syncPayments(ctx, tx, lw, runID)
			return err
		}); err != nil {
			return err
		}
		if err := setSetting(ctx, tx, markRegistrations, strconv.FormatInt(regTop, 10)); err != nil {
			return err
		}
		return setSetting(ctx, tx, markCertificates, strconv.FormatInt(certTop, 10))
	})
	if err != nil {
		return counts, fmt.Errorf("reconcile: %w", err)
	}
	return counts, nil
}

// rejudgeTodo adds the registrations to judge again because their batch was
// rejected. EXISTS, not IN: with IN, SQLite walked every registration to look
// each up among the few rejudged (53 MB read on a cold second night at 1M).
const rejudgeTodo = `INSERT OR IGNORE INTO temp.todo SELECT j.registration_id FROM rejudge j
	WHERE EXISTS (SELECT 1 FROM registrations r WHERE r.registration_id = j.registration_id)`

func watermarks(ctx context.Context, tx *sqlx.Tx) (reg, cert int64, err error) {
	for _, m := range []struct {
		name string
		v    *int64
	}{{markRegistrations, &reg}, {markCertificates, &cert}} {
		v, err := setting(ctx, tx, m.name)
		if err != nil {
			return 0, 0, err
		}
		if v != "" {
			if *m.v, err = strconv.ParseInt(v, 10, 64); err != nil {
				return 0, 0, fmt.Errorf("setting %s: %w", m.name, err)
			}
		}
	}
	return reg, cert, nil
}

// judgeColumns are what judging reads of a registration: its current
// version, its certificate's current version, and the groups its decision was
// in so far (to note the groups it leaves).
const judgeColumns = `r.registration_id, v.id, v.updated_at, v.submitted_at, v.name, v.id_number, v.card_number, v.mobile,
       v.certificate_number, v.occupation, v.level, v.issue_date, v.station, v.verification, v.verified_at,
       v.verified_by, r.cert_key,
       cv.id, cv.number, cv.id_number, cv.name, cv.occupation, cv.level, cv.issue_date, cv.authority_code,
       cv.authority_name, cv.status, cv.updated_at,
       coalesce(d.cert_key, ''), coalesce(d.person_key, '')`

const judgeJoins = `
JOIN registration_versions v ON v.id = r.version_id
LEFT JOIN certificates c ON c.cert_key = r.cert_key
LEFT JOIN certificate_versions cv ON cv.id = c.version_id
LEFT JOIN decisions d ON d.registration_id = r.registration_id`

// judgeQuery reads the next chunk of the registrations in temp.todo.
const judgeQuery = `SELECT ` + judgeColumns + `
FROM temp.todo t
JOIN registrations r ON r.registration_id = t.registration_id` + judgeJoins + `
WHERE t.registration_id > ?
ORDER BY t.registration_id
LIMIT ?`

// judgeAllQuery reads every registration, in the order of judgeQuery.
const judgeAllQuery = `SELECT ` + judgeColumns + `
FROM registrations r` + judgeJoins + `
ORDER BY r.registration_id`

// judged is one registration read for judging, with its certificate, and
// the decision rules 1-17 give it.
type judged struct {
	reg         pipeline.Registration
	versionID   int64
	certKey     string
	cert        pipeline.Certificate
	certVersion sql.NullInt64
	oldCertKey  string
	oldPerson   string

	status    pipeline.Status
	reasons   string // failing codes joined by ';'
	findings  string // JSON
	personKey string
	level     int
	amount    sql.NullInt64
}

// evaluate applies rules 1-17 (p.Evaluate) and fills in the decision.
func (j *judged) evaluate(p *pipeline.Programme) error {
	var cert *pipeline.Certificate
	if j.certVersion.Valid {
		cert = &j.cert
	}
	d := p.Evaluate(&j.reg, cert)
	j.status, j.level = d.Status, d.Level
	j.personKey = "#" + j.reg.ID // no valid ID number: competes with nobody
	if id := pipeline.NormalizeIDNumber(j.reg.IDNumber); pipeline.ValidIDNumber(id) {
		j.personKey = id + "|" + strconv.Itoa(d.Level)
	}
	if d.Status == pipeline.Eligible {
		j.amount = sql.NullInt64{Int64: pipeline.Fen(d.Amount), Valid: true}
	}
	codes := make([]string, len(d.Findings))
	for k, f := range d.Findings {
		codes[k] = string(f.Code)
	}
	j.reasons = strings.Join(codes, ";")
	j.findings = "[]"
	if len(d.Findings) > 0 {
		b, err := json.Marshal(d.Findings)
		if err != nil {
			return err
		}
		j.findings = string(b)
	}
	return nil
}

// judge applies rules 1-17 to the registrations in temp.todo, chunk by chunk,
// and writes their decisions, noting every certificate and person group
// touched unless all of them are. A held decision (its payment entered a
// batch) keeps the group keys it was paid under, so that its place is not
// freed for another registration of the same certificate, or person and
// level; moved says that its current version names other ones (see
// migrations/019_held_place.sql).
func (s *Store) judge(cancel context.Context, tx *sqlx.Tx, runID int64, p *pipeline.Programme, all bool) (int, error) {
	// Per-row statements run without a cancellable context (see fileTx);
	// cancellation is checked once per chunk.
	ctx := context.WithoutCancel(cancel)
	upsert := newBulk(ctx, tx, `INSERT INTO decisions (registration_id, version_id, cert_version_id,
		base_status, base_reasons, findings, cert_key, person_key, submitted_at, level, amount_fen,
		station, status, reasons, decided_run, changed_run)`, `ON CONFLICT (registration_id) DO UPDATE SET version_id = excluded.version_id,
		cert_version_id = excluded.cert_version_id, base_status = excluded.base_status,
		base_reasons = excluded.base_reasons, findings = excluded.findings,
		cert_key = iif(decisions.held, decisions.cert_key, excluded.cert_key),
		person_key = iif(decisions.held, decisions.person_key, excluded.person_key),
		moved = decisions.held AND (excluded.cert_key != decisions.cert_key OR excluded.person_key != decisions.person_key),
		submitted_at = excluded.submitted_at, level = excluded.level,
		amount_fen = excluded.amount_fen, station = excluded.station, decided_run = excluded.decided_run`, 16)
	defer upsert.close()
	touchCert := newBulk(ctx, tx, `INSERT OR IGNORE INTO temp.touched_certs (cert_key)`, "", 1)
	defer touchCert.close()
	touchPerson := newBulk(ctx, tx, `INSERT OR IGNORE INTO temp.touched_persons (person_key)`, "", 1)
	defer touchPerson.close()
	flush := func() error {
		for _, b := range []*bulk{upsert, touchCert, touchPerson} {
			if err := b.flush(); err != nil {
				return err
			}
		}
		return nil
	}

	next := judgeChunks(ctx, tx, p)
	if all {
		var stop func()
		next, stop = s.judgeAllAside(cancel, p)
		defer stop()
	}
	total := 0
	for {
		if err := cancel.Err(); err != nil {
			return total, err
		}
		batch, err := next()
		if err != nil {
			return total, err
		}
		if len(batch) == 0 {
			return total, flush()
		}
		for i := range batch {
			j := &batch[i]
			if err := upsert.add(j.reg.ID, j.versionID, j.certVersion, string(j.status), j.reasons, j.findings,
				j.certKey, j.personKey, pipeline.FormatTime(j.reg.SubmittedAt), j.level, j.amount, j.reg.Station,
				string(j.status), j.reasons, runID, runID); err != nil {
				return total, err
			}
			if all {
				continue
			}
			// The groups it is in and the ones it left; registrations without a
			// certificate number compete with nobody.
			for _, t := range []struct {
				rows *bulk
				key  string
			}{{touchCert, j.certKey}, {touchCert, j.oldCertKey}, {touchPerson, j.personKey}, {touchPerson, j.oldPerson}} {
				if t.key == "" {
					continue
				}
				if err := t.rows.add(t.key); err != nil {
					return total, err
				}
			}
		}
		total += len(batch)
		crashpoint.Here("judge:chunk")
		pipeline.Tick(ctx, "judge registrations", int64(total))
	}
}

// judgeChunks returns the registrations of temp.todo, judged, a chunk per
// call, read inside the transaction; an empty chunk ends them.
func judgeChunks(ctx context.Context, tx *sqlx.Tx, p *pipeline.Programme) func() ([]judged, error) {
	after := ""
	var batch []judged
	return func() ([]judged, error) {
		rows, err := tx.QueryContext(ctx, judgeQuery, after, reconcileChunk)
		if err != nil {
			return nil, err
		}
		batch, err = readJudged(rows, p, batch[:0], reconcileChunk)
		rows.Close()
		if err != nil || len(batch) == 0 {
			return batch, err
		}
		after = batch[len(batch)-1].reg.ID
		return batch, nil
	}
}

// judgeAllAside reads and judges every registration on a connection of its
// own, so that reading and judging overlap with writing the decisions; next
// returns them a chunk at a time, an empty chunk at the end, and stop ends
// the reading early. Reading (SQLite) and judging (the rules, in Go) are
// goroutines of their own too: the reading alone kept the writer waiting. It
// is for when every registration is judged (temp.todo holds them all) and
// the caller's transaction has not yet written what it reads: that
// transaction holds the write lock, so the last committed state, which the
// one query reads, is what the transaction sees too.
func (s *Store) judgeAllAside(cancel context.Context, p *pipeline.Programme) (next func() ([]judged, error), stop func()) {
	ctx, quit := context.WithCancel(cancel)
	read := make(chan []judged, 2)
	chunks := make(chan []judged, 2)
	var readErr, judgeErr error // set before read, chunks are closed
	go func() {
		defer close(read)
		readErr = func() error {
			conn, err := s.db.Connx(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			defer testHookReaderExits()
			// Not cancellable per row (see fileTx): checked at each chunk.
			rows, err := conn.QueryContext(context.WithoutCancel(ctx), judgeAllQuery)
			if err != nil {
				return err
			}
			defer rows.Close()
			for {
				batch, err := readJudged(rows, nil, make([]judged, 0, reconcileChunk), reconcileChunk)
				if err != nil || len(batch) == 0 {
					return err
				}
				select {
				case read <- batch:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}()
	}()
	go func() {
		defer close(chunks)
		defer func() {
			for range read { // until the reader, which stops at ctx.Done, closes it
			}
		}()
		judgeErr = func() error {
			for batch := range read {
				for i := range batch {
					if err := batch[i].evaluate(p); err != nil {
						return fmt.Errorf("registration %s: %w", batch[i].reg.ID, err)
					}
				}
				select {
				case chunks <- batch:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		}()
		if judgeErr != nil {
			quit()
		}
	}()
	next = func() ([]judged, error) {
		if batch, ok := <-chunks; ok {
			return batch, nil
		}
		// chunks is closed after read is drained, so readErr is set too.
		if err := cmp.Or(judgeErr, readErr); err != nil {
			return nil, fmt.Errorf("read registrations to judge: %w", err)
		}
		return nil, nil
	}
	stop = func() {
		quit()
		for range chunks { // wait until both have let go (the reader of its connection)
		}
	}
	return next, stop
}

// readJudged reads up to n rows of judgeColumns into out and judges them
// (unless p is nil: judgeAllAside judges them on another goroutine).
func readJudged(rows *sql.Rows, p *pipeline.Programme, out []judged, n int) ([]judged, error) {
	for len(out) < n && rows.Next() {
		var j judged
		var updated, submitted, issued, verification, verifiedAt string
		var cNumber, cID, cName, cOcc, cIssued, cCode, cAuth, cStatus, cUpdated sql.NullString
		var cLevel sql.NullInt64
		r := &j.reg
		err := rows.Scan(&r.ID, &j.versionID, &updated, &submitted, &r.Name, &r.IDNumber, &r.CardNumber, &r.Mobile,
			&r.CertificateNumber, &r.Occupation, &r.Level, &issued, &r.Station, &verification, &verifiedAt,
			&r.VerifiedBy, &j.certKey,
			&j.certVersion, &cNumber, &cID, &cName, &cOcc, &cLevel, &cIssued, &cCode, &cAuth, &cStatus, &cUpdated,
			&j.oldCertKey, &j.oldPerson)
		if err != nil {
			return out, err
		}
		r.UpdatedAt, err = storedTime(updated)
		if err == nil {
			r.SubmittedAt, err = storedTime(submitted)
		}
		if err == nil && verifiedAt != "" {
			r.VerifiedAt, err = storedTime(verifiedAt)
		}
		if err == nil {
			err = r.IssueDate.UnmarshalText([]byte(issued))
		}
		r.Verification = pipeline.Verification(verification)
		if j.certVersion.Valid && err == nil {
			j.cert = pipeline.Certificate{Number: cNumber.String, IDNumber: cID.String, Name: cName.String,
				Occupation: cOcc.String, Level: int(cLevel.Int64), AuthorityCode: cCode.String,
				AuthorityName: cAuth.String, Status: pipeline.CertificateStatus(cStatus.String)}
			if err = j.cert.IssueDate.UnmarshalText([]byte(cIssued.String)); err == nil {
				j.cert.UpdatedAt, err = storedTime(cUpdated.String)
			}
		}
		if err != nil {
			return out, fmt.Errorf("registration %s: stored value: %w", r.ID, err)
		}
		if p != nil {
			if err := j.evaluate(p); err != nil {
				return out, fmt.Errorf("registration %s: %w", r.ID, err)
			}
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// testHookReaderExits runs when judgeAllAside's reader stops, before it
// lets go of its connection; tests set it.
var testHookReaderExits = func() {}

// storedTime parses a time as the store writes it.
func storedTime(s string) (time.Time, error) {
	return time.ParseInLocation(pipeline.TimeLayout, s, pipeline.Beijing)
}

// The first-come orders (see pipeline.Decision): who comes first among the
// registrations of one certificate, and among the certificate winners of one
// person and level. The report names the winner with the same orders.
const (
	certOrder   = `held DESC, base_status = 'ELIGIBLE' DESC, submitted_at, registration_id`
	personOrder = `held DESC, (base_status = 'ELIGIBLE' AND NOT duplicate) DESC, submitted_at, registration_id`
)

// firstCome is the UPDATE of one first-come rule: in each group of key (among
// the rows filter admits), every registration after the first loses (flag)
// when the first one counts (holds its place or is payable).
func firstCome(flag, key, filter, order, counts string) string {
	return strings.NewReplacer("{flag}", flag, "{key}", key, "{filter}", filter, "{order}", order, "{counts}", counts).Replace(
		`UPDATE decisions SET {flag} = r.lost FROM (
			SELECT registration_id, lost FROM (
				SELECT registration_id, {flag},
				       (row_number() OVER w > 1 AND first_value({counts}) OVER w) AS lost
				FROM decisions WHERE {filter} AND ({flag} OR {key} IN
					(SELECT {key} FROM decisions WHERE {filter} GROUP BY {key} HAVING count(*) > 1))
				WINDOW w AS (PARTITION BY +{key} ORDER BY {order}))
			WHERE {flag} != lost
		) AS r WHERE decisions.registration_id = r.registration_id`)
}

// compete applies the first-come rules (see pipeline.Decision) to the
// touched groups and sets the final status and reasons where they differ
// from rules 1-17's; the triggers decisions_history* record the changes.
func compete(ctx context.Context, tx *sqlx.Tx, runID int64, all bool) error {
	// Each step reads only the groups of more than one registration (and
	// the registrations still marked from an earlier group), sorts them
	// itself (PARTITION BY +key: walking a whole group index would read
	// every decision at a random place), and compares what it computes with
	// what is stored inside its subquery, so that the UPDATE joins only the
	// rows that change. Most certificates and persons have one registration.
	steps := []string{
		// Rule 18: one registration per certificate.
		firstCome("duplicate", "cert_key", "{certs}", certOrder, "held OR base_status = 'ELIGIBLE'"),
		// A change of winner in a certificate group can change a person group.
		`INSERT OR IGNORE INTO temp.touched_persons
			SELECT person_key FROM decisions WHERE {certs}`,
		// Rule 19: one subsidy per person and level, among certificate winners.
		firstCome("over_limit", "person_key", "{persons}", personOrder,
			"held OR (base_status = 'ELIGIBLE' AND NOT duplicate)"),
		// The primary status and every failing code.
		`UPDATE decisions SET status = n.new_status, reasons = n.new_reasons, changed_run = ?1 FROM (
			SELECT registration_id, new_status, new_reasons FROM (
				SELECT registration_id, status AS old_status, reasons AS old_reasons,
				       CASE WHEN base_status != 'ELIGIBLE' THEN base_status
				            WHEN duplicate THEN 'DUPLICATE_CERTIFICATE'
				            WHEN over_limit THEN 'PERSON_LEVEL_LIMIT'
				            ELSE 'ELIGIBLE' END AS new_status,
				       ltrim(base_reasons || iif(duplicate, ';DUPLICATE_CERTIFICATE', '')
				                          || iif(over_limit, ';PERSON_LEVEL_LIMIT', ''), ';') AS new_reasons
				FROM decisions
				WHERE ({certs} OR {persons})
				  AND (duplicate OR over_limit OR status != base_status OR reasons != base_reasons))
			WHERE new_status != old_status OR new_reasons != old_reasons
		) AS n WHERE decisions.registration_id = n.registration_id`,
		// The trigger decisions_history records each change.
	}
	// When every registration was judged (a first night, a new programme),
	// every group is touched: the filters would only cost.
	filters := strings.NewReplacer("{certs}", "cert_key IN (SELECT cert_key FROM temp.touched_certs)",
		"{persons}", "person_key IN (SELECT person_key FROM temp.touched_persons)")
	if all {
		filters = strings.NewReplacer("{certs}", "1", "{persons}", "1")
	}
	for i, q := range steps {
		q = filters.Replace(q)
		if all && i == 1 {
			continue // the persons of the touched certificates: all of them anyway
		}
		var args []any
		if strings.Contains(q, "?1") {
			args = append(args, runID)
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("first-come step %d: %w", i+1, err)
		}
	}
	return nil
}
