package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"

	"github.com/jmoiron/sqlx"

	"zhutui/pipeline"
)

// FileNotices puts every notice not yet in an SMS file into a new file per
// payment batch (ZTSMS_<batch_id>_<n>.csv), rendering each text with the
// templates, in one transaction. It returns the files made.
func (s *Store) FileNotices(ctx context.Context, runID int64, tpl pipeline.SMSTemplates) ([]string, error) {
	var made []string
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var batches []string
		if err := tx.SelectContext(ctx, &batches, `SELECT DISTINCT batch_id FROM messages
			WHERE sms_file IS NULL AND mobile != '' ORDER BY batch_id`); err != nil {
			return err
		}
		for _, b := range batches {
			var n int
			if err := tx.GetContext(ctx, &n, `SELECT coalesce(max(n), 0) + 1 FROM sms_files WHERE batch_id = ?`, b); err != nil {
				return err
			}
			name := pipeline.SMSFileName(b, n)
			notices, err := notices(ctx, tx, `batch_id = ? AND sms_file IS NULL AND mobile != '' ORDER BY message_id`, b)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO sms_files (name, batch_id, n, count, created_run) VALUES (?, ?, ?, ?, ?)`,
				name, b, n, len(notices), runID); err != nil {
				return err
			}
			if err := fileInto(ctx, tx, name, notices, tpl); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			made = append(made, name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("file SMS notices: %w", err)
	}
	return made, nil
}

// fileInto puts notices, rendered, into the SMS file name in their order:
// set-based, through a table of the transaction (a statement per notice
// cost some 80 µs).
func fileInto(ctx context.Context, tx *sqlx.Tx, name string, notices []pipeline.Notice, tpl pipeline.SMSTemplates) error {
	for _, q := range []string{
		`CREATE TEMP TABLE IF NOT EXISTS filed (message_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, content TEXT NOT NULL) WITHOUT ROWID`,
		`DELETE FROM temp.filed`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	rows := newBulk(ctx, tx, `INSERT INTO temp.filed (message_id, seq, content)`, "", 3)
	defer rows.close()
	for i := range notices {
		if err := rows.add(notices[i].MessageID, i+1, tpl.Render(&notices[i])); err != nil {
			return err
		}
	}
	if err := rows.flush(); err != nil {
		return err
	}
	// The IN list makes SQLite start from the notices filed; left to itself it
	// walks every unfiled notice (messages_unfiled) once per SMS file.
	res, err := tx.ExecContext(ctx, `UPDATE messages SET sms_file = ?, seq = f.seq, content = f.content
		FROM temp.filed f WHERE messages.message_id IN (SELECT message_id FROM temp.filed)
			AND messages.message_id = f.message_id AND +messages.sms_file IS NULL`, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != int64(len(notices)) {
		return fmt.Errorf("%d of its %d notices were not in a file yet", n, len(notices))
	}
	return nil
}

// notices reads notices; scanned by hand, as a night's results bring
// hundreds of thousands, read twice (filed, then rendered).
func notices(ctx context.Context, q sqlx.QueryerContext, where string, args ...any) ([]pipeline.Notice, error) {
	var out []pipeline.Notice
	err := eachNotice(ctx, q, func(n pipeline.Notice) error {
		out = append(out, n)
		return nil
	}, where, args...)
	return out, err
}

// eachNotice calls fn with each notice that where selects.
func eachNotice(ctx context.Context, q sqlx.QueryerContext, fn func(pipeline.Notice) error, where string, args ...any) error {
	rows, err := q.QueryContext(ctx, `SELECT message_id, kind, mobile, name, card_last4, amount_fen, bank_message,
		payment_ref, content FROM messages WHERE `+where, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var n pipeline.Notice
		if err := rows.Scan(&n.MessageID, &n.Kind, &n.Mobile, &n.Name, &n.CardLast4, &n.AmountFen, &n.BankMessage,
			&n.PaymentRef, &n.Content); err != nil {
			return err
		}
		if err := fn(n); err != nil {
			return err
		}
	}
	return rows.Err()
}

// SMSFilesToDeliver returns the SMS files not yet delivered.
func (s *Store) SMSFilesToDeliver(ctx context.Context) ([]string, error) {
	var names []string
	err := s.db.SelectContext(ctx, &names, `SELECT name FROM sms_files WHERE delivered_at = '' ORDER BY name`)
	return names, err
}

// SMSFile returns the notices of an SMS file in their order.
func (s *Store) SMSFile(ctx context.Context, name string) ([]pipeline.Notice, error) {
	return notices(ctx, s.db, `sms_file = ? ORDER BY seq`, name)
}

// SMSDeliveryRun returns the run that began committing an SMS file into the
// platform's folder, 0 when none has.
func (s *Store) SMSDeliveryRun(ctx context.Context, name string) (int64, error) {
	var run sql.NullInt64
	err := s.db.GetContext(ctx, &run, `SELECT delivery_run FROM sms_files WHERE name = ?`, name)
	if isNoRows(err) {
		return 0, fmt.Errorf("sms file %s: no such file", name)
	}
	return run.Int64, err
}

// BeginSMSDelivery records, in a transaction of its own, that run runID is
// about to commit an SMS file into the platform's folder. A file delivered
// already, or whose delivery began already, is refused: its delivery is
// finished, never begun again.
func (s *Store) BeginSMSDelivery(ctx context.Context, runID int64, name string) error {
	return s.durableTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sms_files SET delivery_run = ?
			WHERE name = ? AND delivery_run IS NULL AND delivered_at = ''`, runID, name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return cmp.Or(err, fmt.Errorf("sms file %s: not a file waiting for its delivery to begin", name))
		}
		return nil
	})
}

// MarkSMSDelivered records that an SMS file was delivered. A delivery with a
// note (a file not put again, see pipeline.Stager) is also an event in its
// payment batch's history, where zhutui batch show lists it.
func (s *Store) MarkSMSDelivered(ctx context.Context, runID int64, d pipeline.Delivery) error {
	return s.durableTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE sms_files SET delivered_at = ? WHERE name = ?`, d.At, d.Name); err != nil {
			return err
		}
		if d.Note != "" {
			if err := batchEvent(ctx, tx, d.BatchID, s.now(), pipeline.SystemUser, "sms delivered",
				fmt.Sprintf("%s to %s: %s", d.Name, d.Location, d.Note)); err != nil {
				return err
			}
		}
		return recordDelivery(ctx, tx, runID, d)
	})
}

// EachNoMobile calls fn for each payment whose member could not be told by
// SMS: no valid mobile.
func (s *Store) EachNoMobile(ctx context.Context, fn func(pipeline.Notice) error) error {
	if err := eachNotice(ctx, s.db, fn, `mobile = '' ORDER BY message_id`); err != nil {
		return fmt.Errorf("read notices without a mobile: %w", err)
	}
	return nil
}
