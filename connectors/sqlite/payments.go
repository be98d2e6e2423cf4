package sqlite

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/jmoiron/sqlx"

	"zhutui/pipeline"
)

// The payment states that are not live. A payment in one of them has
// ended = 1, and only then (a CHECK in migration 017): the unique index
// payments_live, one live payment per registration, names that column, so
// that moving a payment through the live states leaves it alone.
const (
	paymentCancelled = "CANCELLED" // stopped being payable before a batch
	paymentReissued  = "REISSUED"  // returned, and replaced by the next attempt
)

// PaymentRef is <registration_id>-<attempt>.
func PaymentRef(registrationID string, attempt int) string {
	return fmt.Sprintf("%s-%d", registrationID, attempt)
}

// syncPayments brings the payments in line with the decisions, inside the
// reconcile transaction, posting every movement to the ledger:
//   - an ELIGIBLE payment whose registration stopped being payable, or is
//     payable for another amount, is withdrawn (CANCELLED);
//   - a payable registration without a live payment gets one: its cancelled
//     attempt revived, or a new attempt;
//   - a RETURNED payment whose registration, still payable, has a newer
//     version with another card number or name is closed (REISSUED) and paid
//     again as the next attempt.
//
// A registration that holds a place in a batch and whose current version
// names another certificate, ID number or level (decisions.moved) is not
// payable: its ELIGIBLE attempt is withdrawn, and a returned one is not paid
// again, until a newer version names the place it holds again. The report
// lists it as an alert.
func (s *Store) syncPayments(ctx context.Context, tx *sqlx.Tx, lw *ledgerWriter, runID int64) (pipeline.PaymentCounts, error) {
	var c pipeline.PaymentCounts
	var withdraw []struct {
		ID     int64  `db:"id"`
		Amount int64  `db:"amount"`
		Ref    string `db:"ref"`
	}
	err := sqlx.SelectContext(ctx, tx, &withdraw, `SELECT p.id, p.amount_fen AS amount, p.payment_ref AS ref
		FROM payments p JOIN decisions d ON d.registration_id = p.registration_id
		WHERE p.status = 'ELIGIBLE' AND (d.status != 'ELIGIBLE' OR d.amount_fen != p.amount_fen OR d.moved)`)
	if err != nil {
		return c, fmt.Errorf("find payments to withdraw: %w", err)
	}
	for _, w := range withdraw {
		if err := lw.post(pipeline.NewPosting(pipeline.MoveWithdraw, w.Ref, w.Amount, "", "no longer payable")); err != nil {
			return c, err
		}
		if err := endPayment(ctx, tx, w.ID, paymentCancelled, runID); err != nil {
			return c, err
		}
	}
	c.Withdrawn = len(withdraw)

	// A payable registration without a live payment: its cancelled last
	// attempt is revived, or a new attempt made. Set-based, in chunks of
	// registrations, each chunk's postings in payment_ref order.
	const chunk = 50000
	lo := ""
	for {
		if err := ctx.Err(); err != nil {
			return c, err
		}
		var hi string
		err := tx.GetContext(ctx, &hi, `SELECT coalesce((SELECT registration_id FROM decisions
			WHERE status = 'ELIGIBLE' AND held = 0 AND registration_id > ? ORDER BY registration_id LIMIT 1 OFFSET ?),
			(SELECT max(registration_id) FROM decisions WHERE status = 'ELIGIBLE' AND held = 0 AND registration_id > ?), '')`,
			lo, chunk-1, lo)
		if err != nil {
			return c, fmt.Errorf("find new payments: %w", err)
		}
		if hi == "" {
			break
		}
		var made []struct {
			Ref    string `db:"payment_ref"`
			Amount int64  `db:"amount_fen"`
		}
		for _, q := range []string{
			`UPDATE payments SET status = 'ELIGIBLE', ended = 0, amount_fen = d.amount_fen, level = d.level, changed_run = ?1
			FROM decisions d
			WHERE payments.registration_id = d.registration_id AND payments.status = 'CANCELLED'
			  AND d.status = 'ELIGIBLE' AND d.held = 0 AND d.registration_id > ?2 AND d.registration_id <= ?3
			  AND payments.attempt = (SELECT max(attempt) FROM payments p WHERE p.registration_id = d.registration_id)
			RETURNING payment_ref, amount_fen`,
			`INSERT INTO payments (registration_id, attempt, payment_ref, amount_fen, level, status, created_run, changed_run)
			SELECT d.registration_id, a.attempt, d.registration_id || '-' || a.attempt, d.amount_fen, d.level, 'ELIGIBLE', ?1, ?1
			FROM decisions d JOIN (SELECT registration_id, 1 + coalesce((SELECT max(attempt) FROM payments p
				WHERE p.registration_id = x.registration_id), 0) AS attempt FROM decisions x
				WHERE x.status = 'ELIGIBLE' AND x.held = 0 AND x.registration_id > ?2 AND x.registration_id <= ?3) a
				ON a.registration_id = d.registration_id
			WHERE NOT EXISTS (SELECT 1 FROM payments p WHERE p.registration_id = d.registration_id AND p.ended = 0)
			RETURNING payment_ref, amount_fen`,
		} {
			var rows []struct {
				Ref    string `db:"payment_ref"`
				Amount int64  `db:"amount_fen"`
			}
			if err := sqlx.SelectContext(ctx, tx, &rows, q, runID, lo, hi); err != nil {
				return c, fmt.Errorf("make payments: %w", err)
			}
			made = append(made, rows...)
		}
		sort.Slice(made, func(i, j int) bool { return made[i].Ref < made[j].Ref })
		for _, m := range made {
			if err := lw.post(pipeline.NewPosting(pipeline.MoveDecide, m.Ref, m.Amount, "", "")); err != nil {
				return c, err
			}
		}
		c.Decided += len(made)
		lo = hi
		pipeline.Tick(ctx, "decide payments", int64(c.Decided))
	}

	// A registration that holds its place (it was in a batch) and whose
	// next attempt was withdrawn is payable again: revive that attempt.
	var revived []struct {
		Ref    string `db:"payment_ref"`
		Amount int64  `db:"amount_fen"`
	}
	if err := sqlx.SelectContext(ctx, tx, &revived, `UPDATE payments SET status = 'ELIGIBLE', ended = 0, amount_fen = d.amount_fen,
		level = d.level, changed_run = ?1 FROM decisions d
		WHERE payments.status = 'CANCELLED' AND payments.registration_id = d.registration_id
		  AND d.status = 'ELIGIBLE' AND d.held = 1 AND d.moved = 0
		  AND payments.attempt = (SELECT max(attempt) FROM payments p WHERE p.registration_id = d.registration_id)
		RETURNING payment_ref, amount_fen`, runID); err != nil {
		return c, fmt.Errorf("revive payments: %w", err)
	}
	sort.Slice(revived, func(i, j int) bool { return revived[i].Ref < revived[j].Ref })
	for _, m := range revived {
		if err := lw.post(pipeline.NewPosting(pipeline.MoveDecide, m.Ref, m.Amount, "", "")); err != nil {
			return c, err
		}
	}
	c.Decided += len(revived)

	// Returned payments whose card number or name changed since. Only what
	// could have changed is looked at: payments returned since the last
	// check (markReturns), and registrations judged (a new version or
	// certificate: temp.todo) or whose status changed in this run (a
	// returned payment's decision is held, so today its status changes only
	// when it is judged; the check costs little and does not depend on
	// that). Without a mark (the first check, or after a new programme),
	// every returned payment. The small index of returned payments holds
	// what the filter reads, so a payment it leaves out is never read from
	// the table.
	mark, err := setting(ctx, tx, markReturns)
	if err != nil {
		return c, err
	}
	var top int64
	if err := tx.GetContext(ctx, &top, `SELECT coalesce(max(seq), 0) FROM ledger_entries WHERE movement = 'return'`); err != nil {
		return c, fmt.Errorf("find returned payments: %w", err)
	}
	since, args := "", []any{}
	if mark != "" {
		seen, err := strconv.ParseInt(mark, 10, 64)
		if err != nil {
			return c, fmt.Errorf("setting %s: %w", markReturns, err)
		}
		args = []any{runID, seen}
		since = `AND (p.registration_id IN (SELECT registration_id FROM temp.todo)
			OR p.registration_id IN (SELECT registration_id FROM status_history WHERE run_id = ?1)
			OR p.payment_ref IN (SELECT payment_ref FROM ledger_entries WHERE movement = 'return' AND seq > ?2))`
	}
	var returned []struct {
		ID             int64  `db:"id"`
		RegistrationID string `db:"registration_id"`
		Attempt        int    `db:"attempt"`
		Ref            string `db:"payment_ref"`
		Amount         int64  `db:"amount_fen"`
		NewAmount      int64  `db:"new_amount"`
		Level          int    `db:"level"`
		PaidCard       string `db:"paid_card"`
		PaidName       string `db:"paid_name"`
		Card           string `db:"card_number"`
		Name           string `db:"name"`
	}
	err = sqlx.SelectContext(ctx, tx, &returned, `SELECT p.id, p.registration_id, p.attempt, p.payment_ref, p.amount_fen,
		d.amount_fen AS new_amount, d.level, bl.card_number AS paid_card, bl.name AS paid_name, v.card_number, v.name
		FROM payments p INDEXED BY payments_returned
		JOIN batch_lines bl ON bl.batch_id = p.batch_id AND bl.payment_id = p.id
		JOIN decisions d ON d.registration_id = p.registration_id
		JOIN registration_versions v ON v.id = d.version_id
		WHERE p.status = 'RETURNED' AND d.status = 'ELIGIBLE' AND d.moved = 0 `+since, args...)
	if err != nil {
		return c, fmt.Errorf("find returned payments: %w", err)
	}
	for _, r := range returned {
		if pipeline.NormalizeCardNumber(r.Card) == r.PaidCard && pipeline.NormalizeName(r.Name) == r.PaidName {
			continue // nothing the bank objected to has changed yet
		}
		if err := reissue(ctx, tx, lw, runID, r.ID, r.RegistrationID, r.Attempt, r.Ref, r.Amount, r.NewAmount, r.Level,
			"card number or name changed"); err != nil {
			return c, err
		}
		c.Reissued++
	}
	return c, setSetting(ctx, tx, markReturns, strconv.FormatInt(top, 10))
}

// endPayment moves a payment to one of the states that are not live
// (paymentCancelled, paymentReissued), with ended, which the CHECK asks for.
func endPayment(ctx context.Context, tx *sqlx.Tx, id int64, status string, runID int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE payments SET status = ?, ended = 1, changed_run = ? WHERE id = ?`, status, runID, id)
	return err
}

func insertPayment(ctx context.Context, tx *sqlx.Tx, registrationID string, attempt int, amount int64, level int, runID int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO payments (registration_id, attempt, payment_ref, amount_fen, level, status,
		created_run, changed_run) VALUES (?, ?, ?, ?, ?, 'ELIGIBLE', ?, ?)`,
		registrationID, attempt, PaymentRef(registrationID, attempt), amount, level, runID, runID)
	return err
}

// reissue closes a returned attempt and makes the next attempt ELIGIBLE.
func reissue(ctx context.Context, tx *sqlx.Tx, lw *ledgerWriter, runID, id int64, registrationID string, attempt int,
	ref string, amount, newAmount int64, level int, why string) error {
	if err := lw.post(pipeline.NewPosting(pipeline.MoveRelease, ref, amount, "", why)); err != nil {
		return err
	}
	if err := endPayment(ctx, tx, id, paymentReissued, runID); err != nil {
		return err
	}
	if err := insertPayment(ctx, tx, registrationID, attempt+1, newAmount, level, runID); err != nil {
		return err
	}
	return lw.post(pipeline.NewPosting(pipeline.MoveDecide, PaymentRef(registrationID, attempt+1), newAmount, "",
		"next attempt after "+ref))
}
