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
// or answers a batch not awaiting results, is quarantined with nothing applied.
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
		paid, err := tx.PrepareContext(ctx, `UPDATE payments SET status = 'PAID', bank_code = ?, bank_message = ?, changed_run = ?
			WHERE payment_ref = ? AND batch_id = ? AND status = 'SENT'`)
		if err != nil {
			return err
		}
		defer paid.Close()
		returned, err := tx.PrepareContext(ctx, `UPDATE payments SET status = 'RETURNED', bank_code = ?, bank_message = ?, changed_run = ?
			WHERE payment_ref = ? AND batch_id = ? AND status = 'SENT'`)
		if err != nil {
			return err
		}
		defer returned.Close()
		notice, err := tx.PrepareContext(ctx, `INSERT INTO messages (message_id, payment_ref, batch_id, kind, mobile, name,
			card_last4, amount_fen, bank_message) SELECT ?, ?, ?, ?, mobile, name, substr(card_number, -4), amount_fen, ?
			FROM batch_lines WHERE batch_id = ? AND payment_ref = ? ON CONFLICT (message_id) DO NOTHING`)
		if err != nil {
			return err
		}
		defer notice.Close()
		for _, l := range rf.Lines {
			stmt, move := paid, pipeline.MoveSettle
			if !l.Success {
				stmt, move = returned, pipeline.MoveReturn
			}
			res, err := stmt.ExecContext(ft.ctx, l.Code, l.Message, f.RunID, l.PaymentRef, b.ID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return fmt.Errorf("payment %s of batch %s is not SENT", l.PaymentRef, b.ID)
			}
			memo := ""
			if !l.Success {
				memo = l.Code + " " + l.Message
			}
			if err := lw.post(pipeline.NewPosting(move, l.PaymentRef, l.AmountFen, b.ID, memo)); err != nil {
				return err
			}
			kind := pipeline.NoticePaid
			if !l.Success {
				kind = pipeline.NoticeReturned
			}
			if _, err := notice.ExecContext(ft.ctx, pipeline.MessageID(l.PaymentRef, kind), l.PaymentRef, b.ID, kind,
				l.Message, b.ID, l.PaymentRef); err != nil {
				return err
			}
			ft.outcome.Applied++
		}
		if _, err := tx.ExecContext(ctx, `UPDATE batches SET status = 'SETTLED', settled_fen = ?, returned_fen = ? WHERE id = ?`,
			rf.SuccessFen, rf.FailFen, b.ID); err != nil {
			return err
		}
		return batchEvent(ctx, tx, b.ID, s.now(), "bank", "settled", fmt.Sprintf("%s: %d paid (%s), %d returned (%s)",
			f.Name, rf.SuccessCount, pipeline.FormatFen(rf.SuccessFen), rf.FailCount, pipeline.FormatFen(rf.FailFen)))
	})
}
