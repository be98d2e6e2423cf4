package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"zhutui/pipeline"
)

// CreateBatches groups the ELIGIBLE payments into batches of at most
// spec.MaxLines lines, in one transaction: each batch's lines are fixed, its
// payment file rendered once to fix its SHA-256, its payments BATCHED and the
// movements posted. With a budget, the payments are taken first come first
// (earliest submission, then smallest registration id) and stop at the first
// one that would take the total of all batches past it; that payment and
// those after it stay ELIGIBLE.
func (s *Store) CreateBatches(ctx context.Context, runID int64, spec pipeline.BatchSpec, render func(*pipeline.Batch) ([]byte, error)) ([]pipeline.Batch, error) {
	if spec.MaxLines <= 0 {
		return nil, errors.New("create batches: max lines must be positive")
	}
	var made []pipeline.Batch
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		lw, err := s.ledger(ctx, tx, runID)
		if err != nil {
			return err
		}
		defer lw.close()
		room := int64(math.MaxInt64) // no budget
		if spec.BudgetSet {
			var committed int64
			if err := tx.GetContext(ctx, &committed, `SELECT coalesce(sum(amount_fen), 0) FROM payments
				WHERE status IN ('BATCHED', 'SENT', 'PAID', 'RETURNED')`); err != nil {
				return err
			}
			room = max(0, spec.BudgetFen-committed)
		}
		var n int
		if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM batches WHERE business_date = ?`, spec.BusinessDate.String()); err != nil {
			return err
		}
		// The payable payments that fit the budget, first come first (a
		// running total in first-come order stops at the first that does
		// not fit), then laid out in payment order, which is the order of
		// their rows: writing them touches the tables page after page.
		// Without a budget every one is taken, and the first-come sort of
		// every payable payment with its card, name and mobile is skipped (at
		// 300,000 in the sqlite3 shell: 2.9 s -> 0.6 s).
		take := `INSERT INTO temp.to_batch (payment_id, payment_ref, amount_fen, card_number, name, mobile)
				SELECT id, payment_ref, amount_fen, card_number, name, mobile FROM (
					SELECT p.id, p.payment_ref, p.amount_fen, v.card_number, v.name, v.mobile,
					       sum(p.amount_fen) OVER (ORDER BY d.submitted_at, p.registration_id ROWS UNBOUNDED PRECEDING) AS running
					FROM payments p JOIN decisions d ON d.registration_id = p.registration_id
					JOIN registration_versions v ON v.id = d.version_id
					WHERE p.status = 'ELIGIBLE')
				WHERE running <= ? ORDER BY id`
		if !spec.BudgetSet {
			take = `INSERT INTO temp.to_batch (payment_id, payment_ref, amount_fen, card_number, name, mobile)
				SELECT p.id, p.payment_ref, p.amount_fen, v.card_number, v.name, v.mobile
				FROM payments p JOIN decisions d ON d.registration_id = p.registration_id
				JOIN registration_versions v ON v.id = d.version_id
				WHERE p.status = 'ELIGIBLE' ORDER BY p.id`
		}
		for _, q := range []string{
			`CREATE TEMP TABLE IF NOT EXISTS to_batch (ord INTEGER PRIMARY KEY, payment_id INTEGER, payment_ref TEXT,
				amount_fen INTEGER, card_number TEXT, name TEXT, mobile TEXT)`,
			`DELETE FROM temp.to_batch`,
			take,
		} {
			var args []any
			if strings.Contains(q, "?") {
				args = append(args, room)
			}
			if err := profiled(ctx, "select", func() error {
				_, err := tx.ExecContext(ctx, q, args...)
				return err
			}); err != nil {
				return fmt.Errorf("select eligible payments: %w", err)
			}
		}
		after := int64(0)
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			var lines []struct {
				Ord       int64  `db:"ord"`
				PaymentID int64  `db:"payment_id"`
				Ref       string `db:"payment_ref"`
				Amount    int64  `db:"amount_fen"`
				Card      string `db:"card_number"`
				Name      string `db:"name"`
				Mobile    string `db:"mobile"`
			}
			err := sqlx.SelectContext(ctx, tx, &lines, `SELECT * FROM temp.to_batch WHERE ord > ? ORDER BY ord LIMIT ?`,
				after, spec.MaxLines)
			if err != nil {
				return fmt.Errorf("select eligible payments: %w", err)
			}
			if len(lines) == 0 {
				return nil
			}
			after = lines[len(lines)-1].Ord
			n++
			b := pipeline.Batch{ID: pipeline.BatchID(spec.BusinessDate, n), BusinessDate: spec.BusinessDate,
				PayerAccount: spec.PayerAccount, Memo: spec.Memo, Status: pipeline.BatchAwaitingApproval,
				CreatedBy: pipeline.SystemUser, CreatedAt: s.now()}
			if !spec.ApprovalRequired {
				b.Status, b.ApprovedBy = pipeline.BatchApproved, "(approval not required)"
			}
			for _, l := range lines {
				b.Count++
				b.TotalFen += l.Amount
				b.Lines = append(b.Lines, pipeline.BatchLine{Seq: int(b.Count), PaymentRef: l.Ref,
					CardNumber: pipeline.NormalizeCardNumber(l.Card), Name: pipeline.NormalizeName(l.Name), AmountFen: l.Amount})
			}
			data, err := render(&b)
			if err != nil {
				return err
			}
			b.FileSHA256 = sha256Hex(data)
			if err := s.insertBatch(ctx, tx, lw, runID, &b, func(i int) (int64, string) {
				return lines[i].PaymentID, pipeline.NormalizeMobile(lines[i].Mobile)
			}); err != nil {
				return fmt.Errorf("batch %s: %w", b.ID, err)
			}
			b.Lines = nil // the caller needs the head only
			made = append(made, b)
			pipeline.Tick(ctx, "make batches", int64(len(made)))
		}
	})
	if err != nil {
		return nil, fmt.Errorf("create batches: %w", err)
	}
	return made, nil
}

// insertBatch records a batch, its lines and events, moves its payments to
// BATCHED and posts the movements.
func (s *Store) insertBatch(ctx context.Context, tx *sqlx.Tx, lw *ledgerWriter, runID int64, b *pipeline.Batch, payment func(i int) (int64, string)) error {
	approvedAt := ""
	if b.Status == pipeline.BatchApproved {
		approvedAt = b.CreatedAt
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO batches (id, business_date, payer_account, memo, status, count, total_fen,
		file_sha256, created_by, created_at, created_run, approved_by, approved_at) VALUES (`+placeholders(13)+`)`,
		b.ID, b.BusinessDate.String(), b.PayerAccount, b.Memo, string(b.Status), b.Count, b.TotalFen, b.FileSHA256,
		b.CreatedBy, b.CreatedAt, nullID(runID), b.ApprovedBy, approvedAt); err != nil {
		return err
	}
	lines := newBulk(ctx, tx, `INSERT INTO batch_lines (batch_id, seq, payment_id, payment_ref, card_number, name,
		mobile, amount_fen)`, "", 8)
	defer lines.close()
	for i, l := range b.Lines {
		id, mobile := payment(i)
		if err := lines.add(b.ID, l.Seq, id, l.PaymentRef, l.CardNumber, l.Name, mobile, l.AmountFen); err != nil {
			return err
		}
		if err := lw.post(pipeline.NewPosting(pipeline.MoveBatch, l.PaymentRef, l.AmountFen, b.ID, "")); err != nil {
			return err
		}
	}
	if err := lines.flush(); err != nil {
		return err
	}
	var res sql.Result
	err := profiled(ctx, "payments", func() (err error) {
		res, err = tx.ExecContext(ctx, batchPayments, b.ID, runID)
		return err
	})
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != b.Count {
		return fmt.Errorf("%d of its %d payments were ELIGIBLE", n, b.Count)
	}
	if err := profiled(ctx, "held", func() error {
		_, err := tx.ExecContext(ctx, `UPDATE decisions SET held = 1
			WHERE registration_id IN (SELECT registration_id FROM payments WHERE batch_id = ?)`, b.ID)
		return err
	}); err != nil {
		return err
	}
	return batchEvent(ctx, tx, b.ID, s.now(), b.CreatedBy, "created",
		fmt.Sprintf("%d lines, %s yuan, %s", b.Count, pipeline.FormatFen(b.TotalFen), b.Status))
}

// batchPayments moves a new batch's payments (?1) to BATCHED in run ?2, each
// by its id (NOT INDEXED). Left to itself, SQLite walked every ELIGIBLE
// payment in payments_status for each batch, so that a night's batches cost
// the square of their number: 3.3 s of a 1M first night, more with every
// batch.
const batchPayments = `UPDATE payments NOT INDEXED SET status = 'BATCHED', batch_id = ?1, changed_run = ?2
	WHERE id IN (SELECT payment_id FROM batch_lines WHERE batch_id = ?1) AND status = 'ELIGIBLE'`

func batchEvent(ctx context.Context, tx *sqlx.Tx, batchID, at, actor, action, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO batch_events (batch_id, at, actor, action, detail) VALUES (?, ?, ?, ?, ?)`,
		batchID, at, actor, action, detail)
	return err
}

// batchRow is a batches row.
type batchRow struct {
	ID           string        `db:"id"`
	BusinessDate string        `db:"business_date"`
	PayerAccount string        `db:"payer_account"`
	Memo         string        `db:"memo"`
	Status       string        `db:"status"`
	Count        int64         `db:"count"`
	TotalFen     int64         `db:"total_fen"`
	FileSHA256   string        `db:"file_sha256"`
	CreatedBy    string        `db:"created_by"`
	CreatedAt    string        `db:"created_at"`
	CreatedRun   sql.NullInt64 `db:"created_run"`
	ApprovedBy   string        `db:"approved_by"`
	ApprovedAt   string        `db:"approved_at"`
	SentAt       string        `db:"sent_at"`
	SettledFen   sql.NullInt64 `db:"settled_fen"`
	ReturnedFen  sql.NullInt64 `db:"returned_fen"`
	DeliveryRun  sql.NullInt64 `db:"delivery_run"` // the run that began delivering it
}

func (r *batchRow) batch() pipeline.Batch {
	b := pipeline.Batch{ID: r.ID, PayerAccount: r.PayerAccount, Memo: r.Memo, Status: pipeline.BatchStatus(r.Status),
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, ApprovedBy: r.ApprovedBy, Count: r.Count, TotalFen: r.TotalFen,
		FileSHA256: r.FileSHA256, DeliveryRun: r.DeliveryRun.Int64}
	b.BusinessDate.UnmarshalText([]byte(r.BusinessDate))
	return b
}

// batchHead reads a batch's row, without its lines.
func batchHead(ctx context.Context, q sqlx.QueryerContext, id string) (*batchRow, error) {
	var row batchRow
	if err := sqlx.GetContext(ctx, q, &row, `SELECT * FROM batches WHERE id = ?`, id); err != nil {
		if isNoRows(err) {
			return nil, fmt.Errorf("batch %s: %w", id, pipeline.ErrNotFound)
		}
		return nil, fmt.Errorf("read batch %s: %w", id, err)
	}
	return &row, nil
}

// getBatch reads a batch with its lines.
func getBatch(ctx context.Context, q sqlx.QueryerContext, id string) (*pipeline.Batch, *batchRow, error) {
	row, err := batchHead(ctx, q, id)
	if err != nil {
		return nil, nil, err
	}
	b := row.batch()
	// Scanned by hand: a batch has thousands of lines, read when it is
	// rendered and again when it is sent.
	rows, err := q.QueryContext(ctx, `SELECT seq, payment_ref, card_number, name, amount_fen
		FROM batch_lines WHERE batch_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, nil, fmt.Errorf("read lines of batch %s: %w", id, err)
	}
	defer rows.Close()
	b.Lines = make([]pipeline.BatchLine, 0, row.Count)
	for rows.Next() {
		var l pipeline.BatchLine
		if err := rows.Scan(&l.Seq, &l.PaymentRef, &l.CardNumber, &l.Name, &l.AmountFen); err != nil {
			return nil, nil, fmt.Errorf("read lines of batch %s: %w", id, err)
		}
		b.Lines = append(b.Lines, l)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read lines of batch %s: %w", id, err)
	}
	return &b, row, nil
}

// Batch returns a batch with its lines.
func (s *Store) Batch(ctx context.Context, id string) (*pipeline.Batch, error) {
	b, _, err := getBatch(ctx, s.db, id)
	return b, err
}

// Batches lists the batches, newest first, with where their money stands.
func (s *Store) Batches(ctx context.Context) ([]pipeline.BatchState, error) {
	var out []pipeline.BatchState
	// The counts in one pass over the batches' payments (see MoneyCheck).
	rows, err := s.db.QueryxContext(ctx, `WITH counts AS (SELECT batch_id,
			count(*) FILTER (WHERE status = 'PAID') AS paid,
			count(*) FILTER (WHERE status IN ('RETURNED', 'REISSUED')) AS returned
			FROM payments WHERE batch_id IS NOT NULL GROUP BY batch_id)
		SELECT b.*, coalesce(c.paid, 0) AS paid_count, coalesce(c.returned, 0) AS returned_count
		FROM batches b LEFT JOIN counts c ON c.batch_id = b.id ORDER BY b.created_at DESC, b.id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list batches: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r struct {
			batchRow
			PaidCount     int64 `db:"paid_count"`
			ReturnedCount int64 `db:"returned_count"`
		}
		if err := rows.StructScan(&r); err != nil {
			return nil, err
		}
		out = append(out, pipeline.BatchState{Batch: r.batch(), ApprovedAt: r.ApprovedAt, SentAt: r.SentAt,
			SettledFen: r.SettledFen.Int64, ReturnedFen: r.ReturnedFen.Int64, Settled: r.SettledFen.Valid,
			PaidCount: r.PaidCount, ReturnedCount: r.ReturnedCount})
	}
	return out, rows.Err()
}

// BatchEvents returns who did what to a batch.
func (s *Store) BatchEvents(ctx context.Context, id string) ([]pipeline.BatchEvent, error) {
	var out []pipeline.BatchEvent
	err := s.db.SelectContext(ctx, &out, `SELECT at, actor, action, detail FROM batch_events WHERE batch_id = ? ORDER BY rowid`, id)
	return out, err
}

// ApproveBatches approves batches awaiting approval, all of them or, when
// any cannot be approved (not awaiting approval, unknown, or made by the
// approver), none: the error names each that cannot. It returns the batches
// approved, each once, in the order given.
func (s *Store) ApproveBatches(ctx context.Context, ids []string, by string) ([]string, error) {
	by = strings.TrimSpace(by)
	if by == "" {
		return nil, errors.New("approve: say who approves (--by)")
	}
	if err := plainText("approve", by); err != nil {
		return nil, err
	}
	var approved []string
	err := s.durableTx(ctx, func(tx *sqlx.Tx) error {
		approved = approved[:0]
		var refused []error
		for _, id := range ids {
			if slices.Contains(approved, id) {
				continue
			}
			approved = append(approved, id)
			no, err := s.approve(ctx, tx, id, by)
			if err != nil {
				return err
			}
			if no != nil {
				refused = append(refused, no)
			}
		}
		switch {
		case len(refused) == 0:
			return nil
		case len(approved) == 1:
			return refusal{refused[0]}
		case len(refused) == len(approved):
			return refusal{fmt.Errorf("none of the %d batches can be approved:\n    %s", len(approved), joinErrors(refused))}
		}
		return refusal{fmt.Errorf("%s of the %d cannot be approved, so none was:\n    %s",
			pipeline.Counted(int64(len(refused)), "batch", "batches"), len(approved), joinErrors(refused))}
	})
	if err != nil {
		return nil, failedWrite("approve", strings.Join(approved, ", "), "approved", err)
	}
	return approved, nil
}

func joinErrors(errs []error) string {
	s := make([]string, len(errs))
	for i, err := range errs {
		s[i] = err.Error()
	}
	return strings.Join(s, "\n    ")
}

// plainText refuses who decides (--by) or why (--reason) when either holds a
// control character (pipeline.ErrNotOneLine).
func plainText(verb string, texts ...string) error {
	for _, t := range texts {
		if !pipeline.IsOneLine(t) {
			return fmt.Errorf("%s: %q holds a control character (a line break, say): %w", verb, t, pipeline.ErrNotOneLine)
		}
	}
	return nil
}

// approve approves one batch awaiting approval, within tx; it returns why
// it cannot (no, with nothing done), or the error that stopped it.
func (s *Store) approve(ctx context.Context, tx *sqlx.Tx, id, by string) (no, err error) {
	row, err := batchHead(ctx, tx, id)
	switch {
	case errors.Is(err, pipeline.ErrNotFound):
		return err, nil
	case err != nil:
		return nil, err
	case row.Status != string(pipeline.BatchAwaitingApproval):
		return fmt.Errorf("approve batch %s: it is %s, not awaiting approval", id, row.Status), nil
	case strings.EqualFold(by, row.CreatedBy):
		return fmt.Errorf("approve batch %s: %s created it and cannot also approve it", id, by), nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE batches SET status = 'APPROVED', approved_by = ?, approved_at = ? WHERE id = ?`,
		by, s.now(), id); err != nil {
		return nil, err
	}
	return nil, batchEvent(ctx, tx, id, s.now(), by, "approved", "")
}

// RejectBatch rejects a batch not yet delivered: its payments are ELIGIBLE
// again, the movements posted, the reason kept, and its registrations are
// judged again; those that held a place by this batch alone hold none.
func (s *Store) RejectBatch(ctx context.Context, id, by, reason string) error {
	by, reason = strings.TrimSpace(by), strings.TrimSpace(reason)
	if by == "" || reason == "" {
		return errors.New("reject: say who rejects (--by) and why (--reason)")
	}
	if err := plainText("reject", by, reason); err != nil {
		return err
	}
	err := s.durableTx(ctx, func(tx *sqlx.Tx) error {
		b, row, err := getBatch(ctx, tx, id)
		if err != nil {
			return err
		}
		switch row.Status {
		case string(pipeline.BatchAwaitingApproval), string(pipeline.BatchApproved):
		case string(pipeline.BatchRejected):
			return refusal{fmt.Errorf("reject batch %s: it is REJECTED already; its payments were made ELIGIBLE again then", id)}
		default:
			return refusal{fmt.Errorf("reject batch %s: it is %s; only a batch not yet delivered can be rejected", id, row.Status)}
		}
		if row.DeliveryRun.Valid {
			later, err := runsAfter(ctx, tx, row.DeliveryRun.Int64)
			if err != nil {
				return err
			}
			return refusal{fmt.Errorf("reject batch %s: its delivery began in run %d and its payment file may be at the bank already, "+
				"so it cannot be rejected (%s), and the bank's result file will say what was paid",
				id, row.DeliveryRun.Int64, pipeline.FinishDelivery(row.DeliveryRun.Int64, later))}
		}
		lw, err := s.ledger(ctx, tx, 0)
		if err != nil {
			return err
		}
		defer lw.close()
		for _, l := range b.Lines {
			if err := lw.post(pipeline.NewPosting(pipeline.MoveUnbatch, l.PaymentRef, l.AmountFen, id, "batch rejected: "+reason)); err != nil {
				return err
			}
		}
		for _, q := range []string{
			// Judge the registrations again. Those whose place this batch
			// gave no longer hold one; a reissued attempt's registration was
			// in a batch the bank answered (its returned attempt), and keeps
			// the place that batch gave it.
			`INSERT OR IGNORE INTO rejudge SELECT registration_id FROM payments WHERE batch_id = ?1 AND status = 'BATCHED'`,
			`UPDATE decisions SET held = 0, moved = 0 WHERE registration_id IN (SELECT registration_id FROM payments WHERE batch_id = ?1 AND status = 'BATCHED')
				AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.registration_id = decisions.registration_id AND p.status = 'REISSUED')`,
			`UPDATE payments SET status = 'ELIGIBLE', batch_id = NULL WHERE batch_id = ?1 AND status = 'BATCHED'`,
			`UPDATE batches SET status = 'REJECTED' WHERE id = ?1`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		return batchEvent(ctx, tx, id, s.now(), by, "rejected", reason)
	})
	return failedWrite("reject", id, "rejected", err)
}

// refusal is why a batch command will not do what it was asked: its words
// say so, where the database's failure needs failedWrite's.
type refusal struct{ error }

func (r refusal) Unwrap() error { return r.error }

// failedWrite says of a batch command's error that nothing was done when the
// database failed it (a full disk, say) rather than refused it (a refusal,
// or an unknown batch), whose words say so already. ids: one batch, or
// several joined by ", ".
func failedWrite(verb, ids, done string, err error) error {
	if err == nil || errors.As(err, new(refusal)) || errors.Is(err, pipeline.ErrNotFound) {
		return err
	}
	what := "batch"
	if strings.Contains(ids, ", ") {
		what = "batches"
	}
	return fmt.Errorf("%s %s %s: nothing was %s: %w", verb, what, ids, done, err)
}

// ReissueBatch pays again, as the next attempt, every RETURNED payment of a
// settled batch whose registration is still payable: the manual rerun of a
// batch the bank failed. It returns how many were reissued and the
// references left alone, with why.
func (s *Store) ReissueBatch(ctx context.Context, id, by, reason string) (int, []string, error) {
	by, reason = strings.TrimSpace(by), strings.TrimSpace(reason)
	if by == "" || reason == "" {
		return 0, nil, errors.New("reissue: say who reissues (--by) and why (--reason)")
	}
	if err := plainText("reissue", by, reason); err != nil {
		return 0, nil, err
	}
	n := 0
	var skipped []string
	err := s.durableTx(ctx, func(tx *sqlx.Tx) error {
		row, err := batchHead(ctx, tx, id)
		if err != nil {
			return err
		}
		if row.Status != string(pipeline.BatchSettled) {
			return refusal{fmt.Errorf("reissue batch %s: it is %s; only a batch whose result file was taken has returned payments", id, row.Status)}
		}
		lw, err := s.ledger(ctx, tx, 0)
		if err != nil {
			return err
		}
		defer lw.close()
		var returned []struct {
			ID             int64          `db:"id"`
			RegistrationID string         `db:"registration_id"`
			Attempt        int            `db:"attempt"`
			Ref            string         `db:"payment_ref"`
			Amount         int64          `db:"amount_fen"`
			Status         sql.NullString `db:"status"`
			NewAmount      sql.NullInt64  `db:"new_amount"`
			Level          int            `db:"level"`
			Moved          bool           `db:"moved"`
		}
		err = sqlx.SelectContext(ctx, tx, &returned, `SELECT p.id, p.registration_id, p.attempt, p.payment_ref,
			p.amount_fen, d.status, d.amount_fen AS new_amount, p.level, coalesce(d.moved, 0) AS moved
			FROM payments p LEFT JOIN decisions d ON d.registration_id = p.registration_id
			WHERE p.batch_id = ? AND p.status = 'RETURNED' ORDER BY p.id`, id)
		if err != nil {
			return err
		}
		for _, r := range returned {
			if r.Status.String != string(pipeline.Eligible) || !r.NewAmount.Valid {
				skipped = append(skipped, fmt.Sprintf("%s: the registration is now %s", r.Ref, r.Status.String))
				continue
			}
			if r.Moved {
				skipped = append(skipped, fmt.Sprintf("%s: the registration now names another certificate, ID number or "+
					"level than it was paid for (see the report's alerts)", r.Ref))
				continue
			}
			if err := reissue(ctx, tx, lw, 0, r.ID, r.RegistrationID, r.Attempt, r.Ref, r.Amount, r.NewAmount.Int64, r.Level,
				"batch "+id+" reissued by "+by+": "+reason); err != nil {
				return err
			}
			n++
		}
		if n == 0 { // nothing moved: no event in the batch's history
			return nil
		}
		return batchEvent(ctx, tx, id, s.now(), by, "reissued", pipeline.Counted(int64(n), "payment", "payments")+": "+reason)
	})
	if err != nil {
		return 0, nil, failedWrite("reissue", id, "reissued", err)
	}
	return n, skipped, nil
}

// BatchesToDeliver returns the ids of the approved batches not yet delivered,
// oldest first.
func (s *Store) BatchesToDeliver(ctx context.Context) ([]string, error) {
	var ids []string
	err := s.db.SelectContext(ctx, &ids, `SELECT id FROM batches WHERE status = 'APPROVED' ORDER BY created_at, id`)
	return ids, err
}

// UnknownBatches returns those of ids that no batch has.
func (s *Store) UnknownBatches(ctx context.Context, ids []string) ([]string, error) {
	var unknown []string
	for _, id := range ids {
		var n int
		if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM batches WHERE id = ?`, id); err != nil {
			return nil, fmt.Errorf("read batch %s: %w", id, err)
		}
		if n == 0 {
			unknown = append(unknown, id)
		}
	}
	return unknown, nil
}

// BeginDelivery records, in a transaction of its own, that run runID is
// about to put batch id's sidecar at location (the file that tells the bank
// to take the payment file), and returns the batch's status. Only an APPROVED
// batch is marked; from then on it cannot be rejected (the bank may take the
// file whatever happens next). Any other status (a batch rejected since the
// stage listed it) is returned with nothing recorded, and the sidecar must
// not be put.
func (s *Store) BeginDelivery(ctx context.Context, runID int64, id, location string) (pipeline.BatchStatus, error) {
	var status string
	err := s.durableTx(ctx, func(tx *sqlx.Tx) error {
		row, err := batchHead(ctx, tx, id)
		if err != nil {
			return err
		}
		if status = row.Status; status != string(pipeline.BatchApproved) {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE batches SET delivery_run = ? WHERE id = ?`, runID, id); err != nil {
			return err
		}
		return batchEvent(ctx, tx, id, s.now(), pipeline.SystemUser, "delivering", fmt.Sprintf("run %d to %s", runID, location))
	})
	return pipeline.BatchStatus(status), err
}

// MarkSent records that a batch's payment file and sidecar were delivered:
// the batch is SENT, its payments SENT, the movements posted and the
// deliveries recorded, in one transaction.
func (s *Store) MarkSent(ctx context.Context, runID int64, id string, deliveries []pipeline.Delivery) error {
	if len(deliveries) == 0 {
		return fmt.Errorf("mark batch %s sent: no delivery recorded", id)
	}
	return s.durableTx(ctx, func(tx *sqlx.Tx) error {
		b, row, err := getBatch(ctx, tx, id)
		if err != nil {
			return err
		}
		if row.Status != string(pipeline.BatchApproved) {
			return fmt.Errorf("mark batch %s sent: it is %s", id, row.Status)
		}
		lw, err := s.ledger(ctx, tx, runID)
		if err != nil {
			return err
		}
		defer lw.close()
		for _, l := range b.Lines {
			if err := lw.post(pipeline.NewPosting(pipeline.MoveSend, l.PaymentRef, l.AmountFen, id, "")); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE payments SET status = 'SENT', changed_run = ? WHERE batch_id = ? AND status = 'BATCHED'`, runID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != b.Count {
			return fmt.Errorf("mark batch %s sent: %d payments were BATCHED, the batch has %d lines", id, n, b.Count)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE batches SET status = 'SENT', sent_at = ? WHERE id = ?`, s.now(), id); err != nil {
			return err
		}
		for _, d := range deliveries {
			if err := recordDelivery(ctx, tx, runID, d); err != nil {
				return err
			}
		}
		detail := deliveries[0].Location
		if n := deliveries[0].Note; n != "" {
			detail += ": " + n
		}
		return batchEvent(ctx, tx, id, s.now(), pipeline.SystemUser, "delivered", detail)
	})
}

func recordDelivery(ctx context.Context, tx *sqlx.Tx, runID int64, d pipeline.Delivery) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO deliveries (kind, batch_id, location, name, sha256, size, delivered_at, run_id, already)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (location, name) DO NOTHING`,
		d.Kind, d.BatchID, d.Location, d.Name, d.SHA256, d.Size, d.At, runID, d.Already)
	return err
}
