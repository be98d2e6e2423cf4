package sqlite

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/jmoiron/sqlx"

	"zhutui/pipeline"
	"zhutui/pipeline/crashpoint"
)

// ErrNoLedgerKey means the store was asked to post or verify without a key.
var ErrNoLedgerKey = errors.New("no ledger key: set $ZHUTUI_LEDGER_KEY or [ledger] key_file")

// LedgerKeyError means a key given to SetLedgerKey cannot be used: too short,
// or not the key this database's ledger is chained under.
type LedgerKeyError struct{ Reason string }

func (e *LedgerKeyError) Error() string { return "the ledger key " + e.Reason }

// SetLedgerKey gives the store the key the ledger is chained under. The first
// key given to a database is remembered by its fingerprint; another key is
// refused, so that a wrong key is not mistaken for a tampered ledger.
func (s *Store) SetLedgerKey(ctx context.Context, key []byte) error {
	if len(key) < 16 {
		return &LedgerKeyError{"is too short (want at least 16 bytes)"}
	}
	check := pipeline.KeyCheck(key)
	// Read first: a database whose key check is recorded is only read, so
	// that a command that reads answers while a night holds the write lock.
	have, err := setting(ctx, s.db, "ledger.key_check")
	if err != nil {
		return fmt.Errorf("ledger key: %w", err)
	}
	if have == check {
		s.ledgerKey = append([]byte(nil), key...)
		return nil
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		have, err := setting(ctx, tx, "ledger.key_check")
		if err != nil {
			return err
		}
		switch have {
		case "":
			return setSetting(ctx, tx, "ledger.key_check", check)
		case check:
			return nil
		}
		return &LedgerKeyError{"is not the one this database's ledger was chained with"}
	})
	var ke *LedgerKeyError
	if errors.As(err, &ke) {
		return err
	}
	if err != nil {
		return fmt.Errorf("ledger key: %w", err)
	}
	s.ledgerKey = append([]byte(nil), key...)
	return nil
}

// LedgerKeyChecked says whether a ledger key was ever set on this database:
// its ledger is chained with that key, and only that key verifies it.
func (s *Store) LedgerKeyChecked(ctx context.Context) (bool, error) {
	have, err := setting(ctx, s.db, "ledger.key_check")
	if err != nil {
		return false, fmt.Errorf("ledger key: %w", err)
	}
	return have != "", nil
}

// ledgerWriter appends postings to the chain inside one transaction, many
// rows per statement; what is queued is written when the transaction
// commits (inTx), or earlier by flush. Its caller must close it.
type ledgerWriter struct {
	chain    *pipeline.Chain
	rows     *bulk
	tx       *sqlx.Tx
	runID    int64
	at       string
	seq      int64
	head     string
	balances map[pipeline.Account]int64 // after the last posting
	posted   bool                       // since the last checkpoint
}

// checkpointAccounts are the columns of ledger_checkpoints.
var checkpointAccounts = []pipeline.Account{pipeline.AccountProgramme, pipeline.AccountEligible, pipeline.AccountBatched,
	pipeline.AccountSent, pipeline.AccountPaid, pipeline.AccountReturned}

// lastCheckpoint reads the balances after the latest checkpoint.
func lastCheckpoint(ctx context.Context, q sqlx.QueryerContext) (int64, map[pipeline.Account]int64, error) {
	b := make(map[pipeline.Account]int64, len(checkpointAccounts))
	vals := make([]int64, len(checkpointAccounts))
	dest := []any{new(int64)}
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	err := q.QueryRowxContext(ctx, `SELECT seq, programme, eligible, batched, sent, paid, returned
		FROM ledger_checkpoints ORDER BY seq DESC LIMIT 1`).Scan(dest...)
	if err != nil && !isNoRows(err) {
		return 0, nil, err
	}
	for i, a := range checkpointAccounts {
		b[a] = vals[i]
	}
	return *dest[0].(*int64), b, nil
}

// ledger returns a writer appending after the current head of the chain.
func (s *Store) ledger(ctx context.Context, tx *sqlx.Tx, runID int64) (*ledgerWriter, error) {
	if s.ledgerKey == nil {
		return nil, ErrNoLedgerKey
	}
	w := &ledgerWriter{chain: pipeline.NewChain(s.ledgerKey), runID: runID, at: s.now(), head: pipeline.GenesisHash, tx: tx,
		rows: newBulk(ctx, tx, `INSERT INTO ledger_entries (seq, at, run_id, movement, payment_ref, debit, credit,
			amount_fen, batch_id, memo, hash)`, "", 11)}
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM ledger_entries ORDER BY seq DESC LIMIT 1`).Scan(&w.seq, &w.head)
	if err != nil && !isNoRows(err) {
		return nil, err
	}
	cp, balances, err := lastCheckpoint(ctx, tx)
	if err != nil {
		return nil, err
	}
	if cp != w.seq {
		return nil, fmt.Errorf("ledger: the last checkpoint is at entry %d, the last entry is %d: run zhutui ledger verify", cp, w.seq)
	}
	w.balances = balances
	s.onCommit(tx, w.flush)
	return w, nil
}

func (w *ledgerWriter) close() { w.rows.close() }

// flush writes the postings not yet written and a checkpoint of the
// balances after them.
func (w *ledgerWriter) flush() error {
	if err := w.rows.flush(); err != nil {
		return fmt.Errorf("ledger: append entries up to %d: %w", w.seq, err)
	}
	if !w.posted {
		return nil
	}
	args := []any{w.seq, w.head}
	for _, a := range checkpointAccounts {
		args = append(args, w.balances[a])
	}
	if _, err := w.tx.Exec(`INSERT INTO ledger_checkpoints (seq, hash, programme, eligible, batched, sent, paid, returned)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
		return fmt.Errorf("ledger: checkpoint at entry %d: %w", w.seq, err)
	}
	w.posted = false
	return nil
}

// post appends one posting to the chain.
func (w *ledgerWriter) post(p pipeline.Posting) error {
	if !p.Valid() {
		return fmt.Errorf("ledger: refusing an invalid posting %+v", p)
	}
	e := pipeline.Entry{Seq: w.seq + 1, At: w.at, RunID: w.runID, Posting: p}
	e.Hash = w.chain.Hash(w.head, &e)
	if err := w.rows.add(e.Seq, e.At, e.RunID, string(p.Movement), p.PaymentRef, string(p.Debit),
		string(p.Credit), p.AmountFen, p.BatchID, p.Memo, e.Hash); err != nil {
		return fmt.Errorf("ledger: append entry %d: %w", e.Seq, err)
	}
	w.seq, w.head = e.Seq, e.Hash
	w.balances[p.Debit] += p.AmountFen
	w.balances[p.Credit] -= p.AmountFen
	w.posted = true
	crashpoint.Here("ledger:post")
	return nil
}

// LedgerHead returns the number of entries and the hash of the last one.
func (s *Store) LedgerHead(ctx context.Context) (int64, string, error) {
	return ledgerHead(ctx, s.db)
}

// ledgerHead is LedgerHead on any database of zhutui's (a backup's, say).
func ledgerHead(ctx context.Context, q sqlx.QueryerContext) (int64, string, error) {
	var seq int64
	head := pipeline.GenesisHash
	err := q.QueryRowxContext(ctx, `SELECT seq, hash FROM ledger_entries ORDER BY seq DESC LIMIT 1`).Scan(&seq, &head)
	if err != nil && !isNoRows(err) {
		return 0, "", err
	}
	return seq, head, nil
}

// LedgerHash returns the hash of entry seq, false when the ledger has none.
func (s *Store) LedgerHash(ctx context.Context, seq int64) (string, bool, error) {
	var hash string
	err := s.db.QueryRowContext(ctx, `SELECT hash FROM ledger_entries WHERE seq = ?`, seq).Scan(&hash)
	if isNoRows(err) {
		return "", false, nil
	}
	return hash, err == nil, err
}

// VerifyLedger recomputes the whole chain and every balance, and checks the
// balances against the payments: each money status's account must hold
// exactly the money of the payments in that status, and each payment's own
// postings must leave its amount in the account of its status and nothing
// anywhere else.
func (s *Store) VerifyLedger(ctx context.Context) (rep *pipeline.LedgerReport, err error) {
	if s.ledgerKey == nil {
		return nil, ErrNoLedgerKey
	}
	// One read transaction on one connection: the chain, the balances and
	// the payments are read as of one moment, so a run committing meanwhile
	// cannot make them look apart. (A deferred BEGIN: the store's own
	// transactions take the write lock at once, which would stop every run
	// for as long as the walk takes.)
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN DEFERRED"); err != nil {
		return nil, err
	}
	defer func() {
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil && err == nil {
			err = rerr
		}
	}()
	return s.verifyLedger(ctx, conn)
}

func (s *Store) verifyLedger(ctx context.Context, q sqlx.QueryerContext) (*pipeline.LedgerReport, error) {
	rep := &pipeline.LedgerReport{HeadHash: pipeline.GenesisHash, Balances: map[pipeline.Account]int64{}}
	problem := func(seq int64, format string, args ...any) {
		if rep.FirstBad == 0 && seq > 0 {
			rep.FirstBad = seq
		}
		if len(rep.Problems) < 50 {
			rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
		}
	}
	checkpoints, err := s.checkpoints(ctx, q)
	if err != nil {
		return nil, err
	}
	last, head, err := s.walkChain(ctx, q, 0, math.MaxInt64, pipeline.GenesisHash, problem, func(e *pipeline.Entry) {
		rep.Balances[e.Debit] += e.AmountFen
		rep.Balances[e.Credit] -= e.AmountFen
		cp, ok := checkpoints[e.Seq]
		if !ok {
			return
		}
		delete(checkpoints, e.Seq)
		if cp.hash != e.Hash {
			problem(e.Seq, "checkpoint at entry %d: its hash is not the entry's", e.Seq)
		}
		for i, a := range checkpointAccounts {
			if cp.balances[i] != rep.Balances[a] {
				problem(e.Seq, "checkpoint at entry %d: %s %s, the entries say %s", e.Seq, a,
					pipeline.FormatFen(cp.balances[i]), pipeline.FormatFen(rep.Balances[a]))
			}
		}
	})
	if err != nil {
		return nil, err
	}
	for seq := range checkpoints {
		problem(0, "checkpoint at entry %d: there is no such entry", seq)
	}
	rep.Entries, rep.HeadHash = last, head
	var sum int64
	for _, b := range rep.Balances {
		sum += b
	}
	if sum != 0 {
		problem(0, "the balances do not sum to zero (%d fen)", sum)
	}
	testHookLedgerWalked()
	held, err := s.moneyByStatus(ctx, q)
	if err != nil {
		return nil, err
	}
	for status, acct := range pipeline.StatusAccount {
		if got, want := rep.Balances[acct], held[status].AmountFen; got != want {
			problem(0, "account %s holds %s, the payments %s hold %s", acct, pipeline.FormatFen(got), status, pipeline.FormatFen(want))
		}
	}
	mismatches, err := s.paymentLedgerMismatches(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, m := range mismatches {
		problem(0, "%s", m)
	}
	return rep, nil
}

// testHookLedgerWalked runs in VerifyLedger after the chain's walk and
// before the payments are read; tests set it.
var testHookLedgerWalked = func() {}

type checkpoint struct {
	hash     string
	balances []int64
}

// checkpoints reads every ledger checkpoint by sequence number.
func (s *Store) checkpoints(ctx context.Context, q sqlx.QueryerContext) (map[int64]checkpoint, error) {
	rows, err := q.QueryContext(ctx, `SELECT seq, hash, programme, eligible, batched, sent, paid, returned FROM ledger_checkpoints`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]checkpoint{}
	for rows.Next() {
		var seq int64
		cp := checkpoint{balances: make([]int64, len(checkpointAccounts))}
		dest := []any{&seq, &cp.hash}
		for i := range cp.balances {
			dest = append(dest, &cp.balances[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out[seq] = cp
	}
	return out, rows.Err()
}

// walkChain verifies the entries after seq from, whose hash is head, up to
// seq to: the sequence has no gap, each entry names the hash before it, its
// hash matches its contents under the key, and it is a valid posting. It
// calls problem for each fault and each (when not nil) for every entry, and
// returns the last sequence number and hash.
func (s *Store) walkChain(ctx context.Context, q sqlx.QueryerContext, from, to int64, head string, problem func(seq int64, format string, args ...any), each func(*pipeline.Entry)) (int64, string, error) {
	rows, err := q.QueryContext(ctx, `SELECT seq, at, run_id, movement, payment_ref, debit, credit, amount_fen,
		batch_id, memo, hash FROM ledger_entries WHERE seq > ? AND seq <= ? ORDER BY seq`, from, to)
	if err != nil {
		return 0, "", fmt.Errorf("read ledger: %w", err)
	}
	defer rows.Close()
	chain := pipeline.NewChain(s.ledgerKey)
	last := from
	for rows.Next() {
		var e pipeline.Entry
		if err := rows.Scan(&e.Seq, &e.At, &e.RunID, &e.Movement, &e.PaymentRef, &e.Debit, &e.Credit, &e.AmountFen,
			&e.BatchID, &e.Memo, &e.Hash); err != nil {
			return 0, "", err
		}
		last++
		switch {
		case e.Seq != last:
			problem(e.Seq, "entry %d: expected sequence number %d (an entry is missing or inserted)", e.Seq, last)
			last = e.Seq
		case chain.Hash(head, &e) != e.Hash:
			problem(e.Seq, "entry %d (%s %s %s): hash does not match its contents", e.Seq, e.Movement, e.PaymentRef, pipeline.FormatFen(e.AmountFen))
		case !e.Posting.Valid():
			problem(e.Seq, "entry %d: not a valid posting (%s: %s -> %s, %d fen)", e.Seq, e.Movement, e.Credit, e.Debit, e.AmountFen)
		}
		if each != nil {
			each(&e)
		}
		head = e.Hash
	}
	return last, head, rows.Err()
}

// moneyByStatus counts and sums the live payments by status.
func (s *Store) moneyByStatus(ctx context.Context, q sqlx.QueryerContext) (map[pipeline.Status]pipeline.Tally, error) {
	rows, err := q.QueryContext(ctx, `SELECT status, count(*), coalesce(sum(amount_fen), 0) FROM payments
		WHERE status IN `+payableStatuses+` GROUP BY status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[pipeline.Status]pipeline.Tally{}
	for rows.Next() {
		var t pipeline.Tally
		if err := rows.Scan(&t.Key, &t.Count, &t.AmountFen); err != nil {
			return nil, err
		}
		t.Payable = t.Count
		out[pipeline.Status(t.Key)] = t
	}
	return out, rows.Err()
}

// paymentLedgerMismatches compares, payment by payment, where the ledger says
// its money is with the payment's status.
func (s *Store) paymentLedgerMismatches(ctx context.Context, db sqlx.QueryerContext) ([]string, error) {
	accountOf := `CASE status`
	for st, a := range pipeline.StatusAccount {
		accountOf += fmt.Sprintf(" WHEN '%s' THEN '%s'", st, a)
	}
	accountOf += ` END`
	q := `WITH net AS (
		SELECT payment_ref, account, sum(amount) AS amount FROM (
			SELECT payment_ref, debit AS account, amount_fen AS amount FROM ledger_entries
			UNION ALL SELECT payment_ref, credit, -amount_fen FROM ledger_entries)
		WHERE account != 'programme' GROUP BY payment_ref, account HAVING sum(amount) != 0),
	want AS (SELECT payment_ref, ` + accountOf + ` AS account, amount_fen AS amount FROM payments WHERE status IN ` + payableStatuses + `)
	SELECT 'ledger', * FROM (SELECT * FROM net EXCEPT SELECT * FROM want)
	UNION ALL SELECT 'payments', * FROM (SELECT * FROM want EXCEPT SELECT * FROM net)
	ORDER BY 2 LIMIT 20`
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("compare payments with the ledger: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var side, ref, acct string
		var amount int64
		if err := rows.Scan(&side, &ref, &acct, &amount); err != nil {
			return nil, err
		}
		if side == "ledger" {
			out = append(out, fmt.Sprintf("payment %s: the ledger leaves %s in %s, its status says otherwise", ref, pipeline.FormatFen(amount), acct))
		} else {
			out = append(out, fmt.Sprintf("payment %s: its status puts %s in %s, the ledger does not", ref, pipeline.FormatFen(amount), acct))
		}
	}
	return out, rows.Err()
}
