package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"zhutui/pipeline"
)

// MoneyCheck gathers the facts of the report's money check: live payments by
// status, the ledger's balances and each batch's totals. VerifyNewEntries
// checks the chain.
func (s *Store) MoneyCheck(ctx context.Context) (*pipeline.MoneyCheck, error) {
	m := &pipeline.MoneyCheck{Ledger: map[pipeline.Account]int64{}}
	var err error
	if m.Payments, err = s.moneyByStatus(ctx, s.db); err != nil {
		return nil, fmt.Errorf("money check: %w", err)
	}
	// The balances after the last checkpoint: the chain's newest entries are
	// verified below, every entry by zhutui ledger verify.
	if _, m.Ledger, err = lastCheckpoint(ctx, s.db); err != nil {
		return nil, fmt.Errorf("money check: ledger balances: %w", err)
	}
	if m.LedgerEntries, m.HeadHash, err = s.LedgerHead(ctx); err != nil {
		return nil, err
	}
	// One pass over the batches' ledger entries and one over their
	// payments, grouped by batch (a lookup per batch and sum read the same
	// rows three times over).
	rows, err := s.db.QueryContext(ctx, `WITH
		led AS (SELECT batch_id, sum(iif(movement = 'batch', amount_fen, -amount_fen)) AS fen
		        FROM ledger_entries WHERE movement IN ('batch', 'unbatch') AND batch_id != '' GROUP BY batch_id),
		pay AS (SELECT batch_id, sum(amount_fen) FILTER (WHERE status = 'PAID') AS paid,
		               sum(amount_fen) FILTER (WHERE status IN ('RETURNED', 'REISSUED')) AS returned,
		               sum(amount_fen) FILTER (WHERE status IN ('BATCHED', 'SENT')) AS awaiting
		        FROM payments WHERE batch_id IS NOT NULL GROUP BY batch_id)
		SELECT b.id, b.status, b.count, b.total_fen, b.settled_fen, coalesce(led.fen, 0), coalesce(pay.paid, 0),
		       coalesce(pay.returned, 0), coalesce(pay.awaiting, 0)
		FROM batches b LEFT JOIN led ON led.batch_id = b.id LEFT JOIN pay ON pay.batch_id = b.id ORDER BY b.id`)
	if err != nil {
		return nil, fmt.Errorf("money check: batches: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b pipeline.BatchMoney
		var bank sql.NullInt64
		if err := rows.Scan(&b.ID, &b.Status, &b.Count, &b.FileFen, &bank, &b.LedgerFen, &b.SettledFen, &b.ReturnedFen, &b.AwaitingFen); err != nil {
			return nil, err
		}
		b.BankFen, b.BankKnown = bank.Int64, bank.Valid
		m.Batches = append(m.Batches, b)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

// VerifyNewEntries verifies the chain from the last entry a report verified
// to the head, and moves that checkpoint when all is well. `zhutui ledger
// verify` checks the whole chain.
func (s *Store) VerifyNewEntries(ctx context.Context) ([]string, error) {
	if s.ledgerKey == nil {
		return []string{"the ledger chain was not verified: no ledger key"}, nil
	}
	cp, err := setting(ctx, s.db, "ledger.verified")
	if err != nil {
		return nil, err
	}
	from, head := int64(0), pipeline.GenesisHash
	if seq, hash, ok := strings.Cut(cp, ":"); ok {
		if from, err = strconv.ParseInt(seq, 10, 64); err != nil {
			return nil, fmt.Errorf("setting ledger.verified: %w", err)
		}
		head = hash
	}
	var problems []string
	last, lastHash, err := s.walkChain(ctx, from, head, func(seq int64, format string, args ...any) {
		if len(problems) < 10 {
			problems = append(problems, "ledger "+fmt.Sprintf(format, args...))
		}
	}, nil)
	if err != nil {
		return nil, err
	}
	if len(problems) == 0 && last > from {
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			return setSetting(ctx, tx, "ledger.verified", fmt.Sprintf("%d:%s", last, lastHash))
		})
		if err != nil {
			return nil, err
		}
	}
	return problems, nil
}
