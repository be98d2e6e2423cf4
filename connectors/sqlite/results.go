package sqlite

import (
	"context"
	"errors"
	"fmt"

	"zhutui/pipeline"
)

// IngestResult takes a bank result file in one transaction: checked against
// its batch (pipeline.CheckResult), every line settles (PAID) or returns
// (RETURNED, with the bank's code and message) its payment, the movements are
// posted and the batch is SETTLED. A file that does not agree with its batch,
// or answers a batch not awaiting results, is quarantined with nothing applied
// (but the very bytes that settled it, taken again from another location,
// change nothing and are taken as unchanged);
// one that answers a batch whose delivery began but is not recorded as done
// is refused with nothing recorded, to be taken once the run is finished.
func (s *Store) IngestResult(ctx context.Context, f pipeline.InboundFile, rf *pipeline.ResultFile) (pipeline.FileOutcome, error) {
	return s.takeFile(ctx, f, func(ft *fileTx) error {
		tx := ft.tx
		b, row, err := getBatch(ctx, tx, rf.BatchID)
		if errors.Is(err, pipeline.ErrNotFound) {
			return &pipeline.FileError{File: f.Name, Reason: fmt.Sprintf("answers batch %s, which does not exist", rf.BatchID)}
		}
		if err != nil {
			return err
		}
		if row.Status == string(pipeline.BatchApproved) && row.DeliveryRun.Valid {
			// The file may well have reached the bank: not quarantined (the
			// same bytes would then be refused for ever), nothing recorded.
			later, err := runsAfter(ctx, tx, row.DeliveryRun.Int64)
			if err != nil {
				return err
			}
			return &pipeline.UnfinishedDeliveryError{BatchID: b.ID, Run: row.DeliveryRun.Int64,
				Finish: pipeline.FinishDelivery(row.DeliveryRun.Int64, later)}
		}
		if row.Status == string(pipeline.BatchSettled) {
			// The same bytes as the answer that settled the batch, found at
			// another location (taken by hand, or the bank's server moved):
			// nothing to apply and nothing wrong, as for a registration file
			// taken again. Other bytes are a second answer: quarantined.
			var taken int
			if err := tx.GetContext(ctx, &taken, `SELECT count(*) FROM files WHERE kind = ? AND sha256 = ?
				AND outcome = ? AND id != ?`, pipeline.KindResults, f.SHA256, pipeline.OutcomeTaken, ft.fileID); err != nil {
				return err
			}
			if taken > 0 {
				ft.outcome.Unchanged = len(rf.Lines)
				return nil
			}
		}
		if row.Status != string(pipeline.BatchSent) {
			return &pipeline.FileError{File: f.Name, Reason: fmt.Sprintf("answers batch %s, which is %s, not awaiting a result", b.ID, row.Status)}
		}
		if err := pipeline.CheckResult(f.Name, rf, b); err != nil {
			return err
		}
		lw, err := s.ledger(ctx, tx, f.RunID)
		if err != nil {
			return err
		}
		defer lw.close()
		// Set-based: the lines go into a table of this transaction, then one
		// statement each moves the payments and records the notices. Row by
		// row, each line cost a statement's set-up with the report journal's
		// triggers, some 80 µs: minutes for a night's results.
		for _, q := range []string{
			`CREATE TEMP TABLE IF NOT EXISTS result_lines (ord INTEGER PRIMARY KEY, seq INTEGER NOT NULL,
				payment_ref TEXT NOT NULL, status TEXT NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL,
				message_id TEXT NOT NULL, kind TEXT NOT NULL)`,
			`DELETE FROM temp.result_lines`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		lines := newBulk(ctx, tx, `INSERT INTO temp.result_lines (ord, seq, payment_ref, status, code, message,
			message_id, kind)`, "", 8)
		defer lines.close()
		for i, l := range rf.Lines {
			status, kind := "PAID", pipeline.NoticePaid
			if !l.Success {
				status, kind = "RETURNED", pipeline.NoticeReturned
			}
			if err := lines.add(i, l.Seq, l.PaymentRef, status, l.Code, l.Message,
				pipeline.MessageID(l.PaymentRef, kind), string(kind)); err != nil {
				return err
			}
		}
		if err := lines.flush(); err != nil {
			return err
		}
		var notSent []string
		if err := tx.SelectContext(ctx, &notSent, `SELECT r.payment_ref FROM temp.result_lines r
			WHERE NOT EXISTS (SELECT 1 FROM payments p WHERE p.payment_ref = r.payment_ref AND p.batch_id = ?
				AND p.status = 'SENT') ORDER BY r.ord LIMIT 1`, b.ID); err != nil {
			return err
		}
		if len(notSent) > 0 {
			return fmt.Errorf("payment %s of batch %s is not SENT", notSent[0], b.ID)
		}
		res, err := tx.ExecContext(ctx, `UPDATE payments SET status = r.status, bank_code = r.code,
			bank_message = r.message, changed_run = ?1
			FROM temp.result_lines r WHERE payments.payment_ref = r.payment_ref AND payments.batch_id = ?2
				AND payments.status = 'SENT'`, f.RunID, b.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != int64(len(rf.Lines)) {
			return fmt.Errorf("batch %s: %d of its %d answered payments were SENT", b.ID, n, len(rf.Lines))
		}
		for _, l := range rf.Lines {
			move, memo := pipeline.MoveSettle, ""
			if !l.Success {
				move, memo = pipeline.MoveReturn, l.Code+" "+l.Message
			}
			if err := lw.post(pipeline.NewPosting(move, l.PaymentRef, l.AmountFen, b.ID, memo)); err != nil {
				return err
			}
			ft.outcome.Applied++
		}
		// Each notice takes the batch line by its key: CheckResult matched
		// each line's sequence number to its reference.
		if _, err := tx.ExecContext(ctx, `INSERT INTO messages (message_id, payment_ref, batch_id, kind, mobile, name,
			card_last4, amount_fen, bank_message)
			SELECT r.message_id, r.payment_ref, bl.batch_id, r.kind, bl.mobile, bl.name, substr(bl.card_number, -4),
				bl.amount_fen, r.message
			FROM temp.result_lines r JOIN batch_lines bl ON bl.batch_id = ? AND bl.seq = r.seq AND bl.payment_ref = r.payment_ref
			WHERE true ORDER BY r.ord
			ON CONFLICT (message_id) DO NOTHING`, b.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE batches SET status = 'SETTLED', settled_fen = ?, returned_fen = ? WHERE id = ?`,
			rf.SuccessFen, rf.FailFen, b.ID); err != nil {
			return err
		}
		return batchEvent(ctx, tx, b.ID, s.now(), "bank", "settled", fmt.Sprintf("%s: %d paid (%s), %d returned (%s)",
			f.Name, rf.SuccessCount, pipeline.FormatFen(rf.SuccessFen), rf.FailCount, pipeline.FormatFen(rf.FailFen)))
	})
}
