package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	sqlite3 "github.com/mattn/go-sqlite3"

	"zhutui/pipeline"
	"zhutui/pipeline/crashpoint"
)

// CheckFile says whether an inbound file is new, was already taken (same
// location, name and SHA-256), or clashes with a taken file of the same name
// and other content.
func (s *Store) CheckFile(ctx context.Context, location, name, sha, stamp string) (pipeline.FileVerdict, string, error) {
	var rows []struct {
		ID      int64  `db:"id"`
		SHA     string `db:"sha256"`
		Outcome string `db:"outcome"`
		Reason  string `db:"reason"`
		Stamp   string `db:"stamp"`
	}
	err := s.db.SelectContext(ctx, &rows, `SELECT id, sha256, outcome, reason, stamp FROM files WHERE location = ? AND name = ?`, location, name)
	if err != nil {
		return 0, "", fmt.Errorf("check file %s/%s: %w", location, name, err)
	}
	verdict := pipeline.FileNew
	for _, r := range rows {
		if r.SHA == sha {
			// The same bytes: the next time, their stamp tells without reading.
			if stamp != "" && stamp != r.Stamp {
				if _, err := s.db.ExecContext(ctx, `UPDATE files SET stamp = ? WHERE id = ?`, stamp, r.ID); err != nil {
					return 0, "", fmt.Errorf("check file %s/%s: %w", location, name, err)
				}
			}
			if r.Outcome == pipeline.OutcomeQuarantined {
				return pipeline.FileQuarantinedBefore, r.Reason, nil
			}
			return pipeline.FileSeen, "", nil
		}
		if r.Outcome == pipeline.OutcomeTaken {
			verdict = pipeline.FileNameClash
		}
	}
	return verdict, "", nil
}

// TakenWithStamp says whether the file of that name was taken with this
// stamp. A quarantined file is not known by its stamp: its bytes tell.
func (s *Store) TakenWithStamp(ctx context.Context, location, name, stamp string) (bool, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM files WHERE location = ? AND name = ? AND stamp = ?
		AND stamp != '' AND outcome = ?`, location, name, stamp, pipeline.OutcomeTaken)
	if err != nil {
		return false, fmt.Errorf("check file %s/%s: %w", location, name, err)
	}
	return n > 0, nil
}

// Quarantine records an inbound file that was not applied, and why. A file
// quarantined before (same location, name and SHA-256) is not recorded again.
func (s *Store) Quarantine(ctx context.Context, f pipeline.InboundFile, reason string) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO files (kind, location, name, sha256, size, encoding, outcome, reason, run_id, taken_at, stamp)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (location, name, sha256) DO NOTHING`,
			f.Kind, f.Location, f.Name, f.SHA256, f.Size, f.Encoding, pipeline.OutcomeQuarantined, reason, nullID(f.RunID), s.now(), f.Stamp)
		return err
	})
	if err != nil {
		return fmt.Errorf("quarantine %s: %w", f.Name, err)
	}
	return nil
}

// fileTx is the transaction that takes one inbound file: its files row, its
// rejects, and whatever its rows apply.
type fileTx struct {
	ctx     context.Context
	cancel  context.Context // the caller's context, checked by rowDone
	name    string
	rows    int
	tx      *sqlx.Tx
	fileID  int64
	outcome pipeline.FileOutcome
	reject  *sql.Stmt
}

// takeFile runs read inside one transaction that records the file as taken.
// When read returns a *pipeline.FileError nothing of the file is applied, and
// the file is recorded as quarantined instead.
func (s *Store) takeFile(ctx context.Context, f pipeline.InboundFile, read func(ft *fileTx) error) (pipeline.FileOutcome, error) {
	var ft *fileTx
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO files (kind, location, name, sha256, size, encoding, outcome, run_id, taken_at, stamp)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			f.Kind, f.Location, f.Name, f.SHA256, f.Size, f.Encoding, pipeline.OutcomeTaken, nullID(f.RunID), s.now(), f.Stamp)
		if err != nil {
			return err
		}
		// Per-row statements run without a cancellable context: go-sqlite3
		// starts a watcher goroutine per statement for one. Cancellation is
		// checked every few thousand rows instead (rowDone).
		ft = &fileTx{ctx: context.WithoutCancel(ctx), cancel: ctx, tx: tx, name: f.Name}
		if ft.fileID, err = res.LastInsertId(); err != nil {
			return err
		}
		if ft.reject, err = tx.PrepareContext(ctx, `INSERT INTO rejects (file_id, line, field, reason) VALUES (?, ?, ?, ?)`); err != nil {
			return err
		}
		defer ft.reject.Close()
		if err := read(ft); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE files SET rows_applied = ?, rows_unchanged = ?, rows_rejected = ? WHERE id = ?`,
			ft.outcome.Applied, ft.outcome.Unchanged, ft.outcome.Rejected, ft.fileID)
		return err
	})
	var fe *pipeline.FileError
	if errors.As(err, &fe) {
		if qerr := s.Quarantine(ctx, f, fe.Error()); qerr != nil {
			return pipeline.FileOutcome{}, qerr
		}
		return pipeline.FileOutcome{Quarantined: fe.Error()}, nil
	}
	if err != nil {
		return pipeline.FileOutcome{}, fmt.Errorf("take %s: %w", f.Name, err)
	}
	return ft.outcome, nil
}

// rowDone counts a row and checks every 4096 rows whether the caller gave up.
func (ft *fileTx) rowDone() error {
	crashpoint.Here("ingest:row")
	ft.rows++
	if ft.rows%4096 == 0 {
		pipeline.Tick(ft.ctx, "take "+ft.name, int64(ft.rows))
		return ft.cancel.Err()
	}
	return nil
}

// rejectRow records a row that was not applied.
func (ft *fileTx) rejectRow(r pipeline.Reject) error {
	if err := ft.rowDone(); err != nil {
		return err
	}
	return ft.recordReject(r)
}

// recordReject records a row that was not applied, counted already.
func (ft *fileTx) recordReject(r pipeline.Reject) error {
	ft.outcome.Rejected++
	if len(ft.outcome.Rejects) < pipeline.MaxRejectsKept {
		ft.outcome.Rejects = append(ft.outcome.Rejects, r)
	}
	_, err := ft.reject.ExecContext(ft.ctx, ft.fileID, r.Line, r.Field, r.Reason)
	return err
}

// versions is how a file's rows become versions: every row is inserted into
// the history (an equal version taken before, or earlier in the file, is
// not, and is rejected when its content differs), many rows per statement;
// then, set-based, each registration or certificate whose newest version in
// the file is newer than its current one gets it as current.
type versions struct {
	rows      *bulk
	pointers  string // the table of current pointers
	current   string // the set-based pointer upsert, ?1 the first version id of this file
	first     int64
	total     int
	conflicts int    // rows rejected as an equal version with other content
	what      string // "registration" or "certificate"
	cols      int    // values per row
	// others is the query that finds, among a statement's rows, those whose
	// stored version of the same key and updated_at has other content (see
	// rejectOtherContent); full is it prepared for a full statement.
	others func(rows int) string
	full   *sql.Stmt
}

// newVersions prepares the versions of one file. cols starts with the key,
// updated_at, file_id and line; the columns after them are the content.
func (ft *fileTx) newVersions(table, cols, pointers, current string, n int) (*versions, error) {
	v := &versions{rows: newBulk(ft.ctx, ft.tx, "INSERT INTO "+table+" ("+cols+")", "ON CONFLICT DO NOTHING", n),
		pointers: pointers, current: current}
	names := strings.Split(cols, ",")
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
	}
	// The statement's rows as a table n (k, t, f, l, c4, c5, …), each
	// joined to the version stored under its key and updated_at: the row
	// itself when it was inserted, else the one that made it a conflict.
	stored, given := make([]string, len(names)-4), make([]string, len(names)-4)
	as := []string{"k", "t", "f", "l"}
	for i, c := range names[4:] {
		stored[i], given[i] = "v."+c, fmt.Sprintf("n.c%d", i+4)
		as = append(as, fmt.Sprintf("c%d", i+4))
	}
	row := "(" + placeholders(len(names)) + ")"
	v.others = func(rows int) string {
		return `WITH n (` + strings.Join(as, ", ") + `) AS (VALUES ` + strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ") + `)
			SELECT n.l, n.k, n.t, f.name, v.line FROM n JOIN ` + table + ` v ON v.` + names[0] + ` = n.k AND v.updated_at = n.t
			JOIN files f ON f.id = v.file_id
			WHERE (` + strings.Join(stored, ", ") + `) IS NOT (` + strings.Join(given, ", ") + `) ORDER BY n.l`
	}
	v.what = map[string]string{"registration_versions": "registration", "certificate_versions": "certificate"}[table]
	v.cols = len(names)
	v.rows.short = func(args []any) error { return v.rejectOtherContent(ft, args) }
	err := ft.tx.GetContext(ft.ctx, &v.first, `SELECT coalesce(max(id), 0) + 1 FROM `+table)
	return v, err
}

// rejectOtherContent looks into the rows of a statement that inserted fewer
// than it carried. §2.1 and §2.2: an equal version changes nothing. One with
// other content is a sender's mistake (a correction sent without a later
// updated_at, a certificate revoked, say): not applied, and dropped unseen it
// would leave the older content in force without a word. It is rejected,
// naming the line of the version taken. A file of new versions never comes
// here; one sent again comes here with each statement, for one query.
func (v *versions) rejectOtherContent(ft *fileTx, args []any) error {
	rows := len(args) / v.cols
	var q *sql.Rows
	var err error
	if rows == bulkRows {
		if v.full == nil {
			if v.full, err = ft.tx.PrepareContext(ft.ctx, v.others(bulkRows)); err != nil {
				return err
			}
		}
		q, err = v.full.QueryContext(ft.ctx, args...)
	} else {
		q, err = ft.tx.QueryContext(ft.ctx, v.others(rows), args...)
	}
	if err != nil {
		return err
	}
	defer q.Close()
	var rejects []pipeline.Reject
	for q.Next() {
		var line, takenLine int
		var key, updated, taken string
		if err := q.Scan(&line, &key, &updated, &taken, &takenLine); err != nil {
			return err
		}
		rejects = append(rejects, pipeline.Reject{File: ft.name, Line: line, Field: "updated_at", Reason: fmt.Sprintf(
			"%s %s: its version of %s was taken with other content (%s line %d); a changed row needs a later updated_at",
			v.what, key, updated, taken, takenLine)})
	}
	if err := q.Err(); err != nil {
		return err
	}
	q.Close()
	for _, r := range rejects {
		v.conflicts++
		if err := ft.recordReject(r); err != nil {
			return err
		}
	}
	return nil
}

func (ft *fileTx) addVersion(v *versions, args ...any) error {
	if err := ft.rowDone(); err != nil {
		return err
	}
	v.total++
	return v.rows.add(args...)
}

// finish writes the queued versions and moves the current pointers.
func (ft *fileTx) finish(v *versions) error {
	defer v.close()
	if err := v.rows.flush(); err != nil {
		return err
	}
	var res sql.Result
	move := func() (err error) {
		res, err = ft.tx.ExecContext(ft.ctx, v.current, v.first)
		return err
	}
	// A file that brings more rows than there are pointers (a first export,
	// a backfill) indexes them afterwards.
	enough, err := atLeast(ft.ctx, ft.tx, v.pointers, v.total)
	if err != nil {
		return err
	}
	if !enough {
		if err := withoutIndexes(ft.ctx, ft.tx, v.pointers, move); err != nil {
			return err
		}
	} else if err := move(); err != nil {
		return err
	}
	n, _ := res.RowsAffected()
	ft.outcome.Applied = int(n)
	ft.outcome.Unchanged = v.total - v.conflicts - int(n)
	return nil
}

func (v *versions) close() {
	v.rows.close()
	if v.full != nil {
		v.full.Close()
	}
}

// IngestRegistrations takes one registration export in one transaction. read
// is called once with the two sinks for good and rejected rows (see
// csvfile.Registrations).
func (s *Store) IngestRegistrations(ctx context.Context, f pipeline.InboundFile, read pipeline.RegistrationSource) (pipeline.FileOutcome, error) {
	return s.takeFile(ctx, f, func(ft *fileTx) error {
		v, err := ft.newVersions("registration_versions", `registration_id, updated_at, file_id, line, submitted_at, name,
			id_number, card_number, mobile, certificate_number, occupation, level, issue_date, station, verification,
			verified_at, verified_by, cert_key`, "registrations", `INSERT INTO registrations (registration_id, version_id, updated_at, cert_key)
			SELECT v.registration_id, v.id, v.updated_at, v.cert_key FROM registration_versions v
			WHERE v.id >= ?1 AND v.updated_at = (SELECT max(updated_at) FROM registration_versions w
				WHERE w.registration_id = v.registration_id AND w.id >= ?1)
			ORDER BY +v.registration_id -- written in key order (+: sorted, not read in index order)
			ON CONFLICT (registration_id) DO UPDATE SET version_id = excluded.version_id, updated_at = excluded.updated_at,
				cert_key = excluded.cert_key
			WHERE excluded.updated_at > registrations.updated_at`, 18)
		if err != nil {
			return err
		}
		err = read(func(line int, r *pipeline.Registration) error {
			verifiedAt := ""
			if !r.VerifiedAt.IsZero() {
				verifiedAt = pipeline.FormatTime(r.VerifiedAt)
			}
			return ft.addVersion(v, r.ID, pipeline.FormatTime(r.UpdatedAt), ft.fileID, line,
				pipeline.FormatTime(r.SubmittedAt), r.Name, r.IDNumber, r.CardNumber, r.Mobile, r.CertificateNumber,
				r.Occupation, r.Level, r.IssueDate.String(), r.Station, string(r.Verification), verifiedAt, r.VerifiedBy,
				pipeline.NormalizeCertificateNumber(r.CertificateNumber))
		}, ft.rejectRow)
		if err != nil {
			v.close()
			return err
		}
		return ft.finish(v)
	})
}

// IngestCertificates takes one certificate feed file in one transaction.
func (s *Store) IngestCertificates(ctx context.Context, f pipeline.InboundFile, read pipeline.CertificateSource) (pipeline.FileOutcome, error) {
	return s.takeFile(ctx, f, func(ft *fileTx) error {
		v, err := ft.newVersions("certificate_versions", `cert_key, updated_at, file_id, line, number, id_number, name,
			occupation, level, issue_date, authority_code, authority_name, status`, "certificates", `INSERT INTO certificates (cert_key, version_id, updated_at)
			SELECT v.cert_key, v.id, v.updated_at FROM certificate_versions v
			WHERE v.id >= ?1 AND v.updated_at = (SELECT max(updated_at) FROM certificate_versions w
				WHERE w.cert_key = v.cert_key AND w.id >= ?1)
			ORDER BY +v.cert_key -- written in key order (+: sorted, not read in index order)
			ON CONFLICT (cert_key) DO UPDATE SET version_id = excluded.version_id, updated_at = excluded.updated_at
			WHERE excluded.updated_at > certificates.updated_at`, 13)
		if err != nil {
			return err
		}
		err = read(func(line int, c *pipeline.Certificate) error {
			return ft.addVersion(v, pipeline.NormalizeCertificateNumber(c.Number), pipeline.FormatTime(c.UpdatedAt), ft.fileID,
				line, c.Number, c.IDNumber, c.Name, c.Occupation, c.Level, c.IssueDate.String(), c.AuthorityCode,
				c.AuthorityName, string(c.Status))
		}, ft.rejectRow)
		if err != nil {
			v.close()
			return err
		}
		return ft.finish(v)
	})
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// IsBusy says whether err is SQLite giving up on a lock another connection
// held for longer than the busy timeout (a night's long transaction, say).
func IsBusy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}

func isNoTable(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && strings.Contains(se.Error(), "no such table")
}
