package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"

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
	parts, err := s.chainParts(ctx, from, head)
	if err != nil {
		return nil, err
	}
	// Each part is walked on a connection and a core of its own; the problems
	// are the first ten in sequence order, as one walk would find them.
	type walked struct {
		last     int64
		hash     string
		problems []string
		err      error
	}
	out := make([]walked, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Go(func() {
			w := &out[i]
			w.last, w.hash, w.err = s.walkChain(ctx, s.db, p.from, p.to, p.head, func(seq int64, format string, args ...any) {
				if len(w.problems) < 10 {
					w.problems = append(w.problems, "ledger "+fmt.Sprintf(format, args...))
				}
			}, nil)
		})
	}
	wg.Wait()
	var problems []string
	last, lastHash := from, head
	for _, w := range out {
		if w.err != nil {
			return nil, w.err
		}
		problems = append(problems, w.problems...)
		last, lastHash = w.last, w.hash
	}
	problems = problems[:min(len(problems), 10)]
	testHookVerified()
	if len(problems) == 0 && last > from {
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			// Only from where this walk started: a zhutui ledger verify that
			// moved the mark back meanwhile (ForgetVerifiedFrom) must not be
			// undone by a walk that began before it.
			now, err := setting(ctx, tx, "ledger.verified")
			if err != nil || now != cp {
				return err
			}
			return setSetting(ctx, tx, "ledger.verified", fmt.Sprintf("%d:%s", last, lastHash))
		})
		if err != nil {
			return nil, fmt.Errorf("record the entries verified: %w", err)
		}
	}
	return problems, nil
}

// SaveVerdict records the verdict of the report a run just wrote, and its
// folder (zhutui status points to it); the stages that move money read the
// verdict (LastVerdict).
func (s *Store) SaveVerdict(ctx context.Context, runID int64, verdict, dir string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		for name, v := range map[string]string{"report.verdict": verdict,
			"report.verdict_run": strconv.FormatInt(runID, 10), "report.verdict_dir": dir} {
			if err := setSetting(ctx, tx, name, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// LastVerdict returns the verdict of the last report written, and its run;
// "" before the first report.
func (s *Store) LastVerdict(ctx context.Context) (int64, string, error) {
	verdict, err := setting(ctx, s.db, "report.verdict")
	if err != nil || verdict == "" {
		return 0, "", err
	}
	run, err := setting(ctx, s.db, "report.verdict_run")
	if err != nil {
		return 0, "", err
	}
	id, _ := strconv.ParseInt(run, 10, 64)
	return id, verdict, nil
}

// SaveFullVerification records how the last verification of the whole
// ledger went, for zhutui status.
func (s *Store) SaveFullVerification(ctx context.Context, rep *pipeline.LedgerReport) error {
	outcome := "agreed"
	if !rep.OK() {
		outcome = "FAILED: " + rep.Problems[0]
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		return setSetting(ctx, tx, "ledger.full_verification", fmt.Sprintf("%s, %d entries, %s", s.now(), rep.Entries, outcome))
	})
}

// ForgetVerifiedFrom makes the next verification of new entries start before
// entry seq, which zhutui ledger verify found bad: until it verifies, every
// report says so and no money moves.
func (s *Store) ForgetVerifiedFrom(ctx context.Context, seq int64) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		cp, err := setting(ctx, tx, "ledger.verified")
		if err != nil {
			return err
		}
		if at, _, ok := strings.Cut(cp, ":"); ok {
			if n, err := strconv.ParseInt(at, 10, 64); err == nil && n < seq {
				return nil // the bad entry is not verified yet: the next report finds it
			}
		}
		if seq <= 1 {
			_, err = tx.ExecContext(ctx, `DELETE FROM settings WHERE name = 'ledger.verified'`)
			return err
		}
		var hash string
		if err := tx.GetContext(ctx, &hash, `SELECT hash FROM ledger_entries WHERE seq = ?`, seq-1); err != nil {
			return fmt.Errorf("ledger entry %d: %w", seq-1, err)
		}
		return setSetting(ctx, tx, "ledger.verified", fmt.Sprintf("%d:%s", seq-1, hash))
	})
}

// testHookVerified runs after VerifyNewEntries walked the chain and before it
// moves the mark; tests set it.
var testHookVerified = func() {}

// chainPart is a stretch of the chain to verify: the entries after from,
// whose stored hash is head, up to to.
type chainPart struct {
	from, to int64
	head     string
}

// chainWalkers is how many stretches the chain is cut into at most, and
// chainMinPart the fewest entries worth a walk of their own (tests change both).
var (
	chainWalkers = runtime.NumCPU()
	chainMinPart = int64(100_000)
)

// chainParts cuts the entries after from (whose hash is head) into one
// stretch per core. Each stretch after the first starts after an entry that
// exists and takes its stored hash as the head: the stretch before verifies
// that entry, so nothing is taken on trust that one walk would have checked.
func (s *Store) chainParts(ctx context.Context, from int64, head string) ([]chainPart, error) {
	var top int64
	if err := s.db.GetContext(ctx, &top, `SELECT coalesce(max(seq), 0) FROM ledger_entries`); err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	n := min(int64(chainWalkers), max(1, (top-from)/chainMinPart))
	parts := []chainPart{{from: from, head: head}}
	for i := int64(1); i < n; i++ {
		var cut struct {
			Seq  int64  `db:"seq"`
			Hash string `db:"hash"`
		}
		err := s.db.GetContext(ctx, &cut, `SELECT seq, hash FROM ledger_entries WHERE seq <= ? ORDER BY seq DESC LIMIT 1`,
			from+(top-from)*i/n)
		if err != nil {
			return nil, fmt.Errorf("read ledger: %w", err)
		}
		if prev := &parts[len(parts)-1]; cut.Seq > prev.from {
			prev.to = cut.Seq
			parts = append(parts, chainPart{from: cut.Seq, head: cut.Hash})
		}
	}
	parts[len(parts)-1].to = top
	return parts, nil
}
