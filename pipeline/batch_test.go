package pipeline_test

import (
	"strings"
	"testing"

	"zhutui/pipeline"
)

func checkedBatch() *pipeline.Batch {
	return &pipeline.Batch{ID: "B2014020101", Count: 2, TotalFen: 300000, Lines: []pipeline.BatchLine{
		{Seq: 1, PaymentRef: "R1-1", CardNumber: "6210670000000000016", AmountFen: 200000},
		{Seq: 2, PaymentRef: "R2-1", CardNumber: "6210670000000000024", AmountFen: 100000},
	}}
}

func faithfulResult() *pipeline.ResultFile {
	return &pipeline.ResultFile{BatchID: "B2014020101", Count: 2, TotalFen: 300000,
		Lines: []pipeline.ResultLine{
			{Seq: 1, PaymentRef: "R1-1", CardNumber: "6210670000000000016", AmountFen: 200000, Success: true},
			{Seq: 2, PaymentRef: "R2-1", CardNumber: "6210670000000000024", AmountFen: 100000, Code: "1001"},
		},
		SuccessCount: 1, SuccessFen: 200000, FailCount: 1, FailFen: 100000}
}

func TestCheckResult(t *testing.T) {
	if err := pipeline.CheckResult("r", faithfulResult(), checkedBatch()); err != nil {
		t.Fatalf("faithful result: %v", err)
	}
	for name, tt := range map[string]struct {
		edit func(*pipeline.ResultFile)
		want string
	}{
		"ErrOtherBatch":     {func(r *pipeline.ResultFile) { r.BatchID = "B2014020102" }, "answers batch B2014020102"},
		"ErrHeaderTotal":    {func(r *pipeline.ResultFile) { r.TotalFen = 1 }, "header says"},
		"ErrUnknownRef":     {func(r *pipeline.ResultFile) { r.Lines[1].PaymentRef = "R9-1" }, "unknown in batch"},
		"ErrOtherCard":      {func(r *pipeline.ResultFile) { r.Lines[1].CardNumber = "6210670000000000032" }, "names card 621067*********0032"},
		"ErrOtherAmount":    {func(r *pipeline.ResultFile) { r.Lines[0].AmountFen = 100000 }, "names amount 1000.00"},
		"ErrMissingLine":    {func(r *pipeline.ResultFile) { r.Lines = r.Lines[:1] }, "is not answered"},
		"ErrAnsweredTwice":  {func(r *pipeline.ResultFile) { r.Lines[1] = r.Lines[0] }, "answered twice"},
		"ErrTrailerDiffers": {func(r *pipeline.ResultFile) { r.SuccessFen = 300000 }, "trailer says"},
		"ErrHeaderCount":    {func(r *pipeline.ResultFile) { r.Count = 3 }, "header says 3 lines"},
		"ErrTrailerPaid":    {func(r *pipeline.ResultFile) { r.SuccessCount = 2 }, "trailer says 2 settled"},
		"ErrTrailerFailed":  {func(r *pipeline.ResultFile) { r.FailCount = 0 }, "and 0 failed"},
		"ErrTrailerFailFen": {func(r *pipeline.ResultFile) { r.FailFen = 0 }, "failed (0.00)"},
	} {
		t.Run(name, func(t *testing.T) {
			rf := faithfulResult()
			tt.edit(rf)
			err := pipeline.CheckResult("r", rf, checkedBatch())
			if !pipeline.IsFileError(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a file error containing %q", err, tt.want)
			}
		})
	}
}

func TestBatchID(t *testing.T) {
	if got := pipeline.BatchID(pipeline.MustDate("2014-02-01"), 3); got != "B2014020103" {
		t.Errorf("BatchID = %s", got)
	}
	if got := pipeline.BatchID(pipeline.MustDate("2014-02-01"), 100); got != "B20140201100" {
		t.Errorf("BatchID(100) = %s", got)
	}
}

func TestChainHash(t *testing.T) {
	c := pipeline.NewChain([]byte("k"))
	e := pipeline.Entry{Seq: 1, At: "2014-02-01 02:30:00", RunID: 1,
		Posting: pipeline.NewPosting(pipeline.MoveDecide, "R1-1", 200000, "", "decided payable")}
	h := c.Hash(pipeline.GenesisHash, &e)
	if len(h) != 64 || h != c.Hash(pipeline.GenesisHash, &e) {
		t.Fatalf("hash %q is not stable", h)
	}
	other := pipeline.NewChain([]byte("other key"))
	if other.Hash(pipeline.GenesisHash, &e) == h {
		t.Error("the hash does not depend on the key")
	}
	seq2 := e
	seq2.Seq = 2
	if c.Hash(pipeline.GenesisHash, &seq2) == h {
		t.Error("the hash does not cover the sequence number")
	}
}

// TestChainHashCoversEveryField changes each field of an entry, and the
// previous hash, one at a time: every change gives another hash. Text moved
// between two neighbouring fields does too (the fields are length-prefixed,
// so "B1"+"x" is not "B"+"1x").
func TestChainHashCoversEveryField(t *testing.T) {
	c := pipeline.NewChain([]byte("k"))
	base := pipeline.Entry{Seq: 7, At: "2014-02-01 02:30:00", RunID: 3,
		Posting: pipeline.NewPosting(pipeline.MoveBatch, "R1-1", 200000, "B2014020101", "memo")}
	h := c.Hash(pipeline.GenesisHash, &base)
	for name, edit := range map[string]func(e *pipeline.Entry){
		"Seq": func(e *pipeline.Entry) { e.Seq++ }, "At": func(e *pipeline.Entry) { e.At = "2014-02-01 02:30:01" },
		"RunID": func(e *pipeline.Entry) { e.RunID++ }, "Movement": func(e *pipeline.Entry) { e.Movement = pipeline.MoveUnbatch },
		"PaymentRef": func(e *pipeline.Entry) { e.PaymentRef = "R1-2" }, "Debit": func(e *pipeline.Entry) { e.Debit = pipeline.AccountSent },
		"Credit": func(e *pipeline.Entry) { e.Credit = pipeline.AccountSent }, "AmountFen": func(e *pipeline.Entry) { e.AmountFen++ },
		"BatchID": func(e *pipeline.Entry) { e.BatchID = "B2014020102" }, "Memo": func(e *pipeline.Entry) { e.Memo = "memo2" },
		"BatchID into Memo": func(e *pipeline.Entry) { e.BatchID, e.Memo = "B201402010", "1memo" },
	} {
		e := base
		edit(&e)
		if c.Hash(pipeline.GenesisHash, &e) == h {
			t.Errorf("%s changed, the hash did not", name)
		}
	}
	if c.Hash(h, &base) == h {
		t.Error("the previous hash changed, the hash did not")
	}
	// A separator alone would not do: four zero bytes moved across it.
	a, b := base, base
	a.BatchID, a.Memo = "B1\x00\x00\x00\x00", "x"
	b.BatchID, b.Memo = "B1", "\x00\x00\x00\x00x"
	if c.Hash(pipeline.GenesisHash, &a) == c.Hash(pipeline.GenesisHash, &b) {
		t.Error("two entries whose fields join to the same bytes hash the same: the fields are not length-prefixed")
	}
}

// The chain's bytes and the key's fingerprint are stored in every ledger: a
// change to either makes every existing ledger fail its verification ("wrong
// key" or a broken chain), however sound the new code. The values here were
// computed apart from zhutui, with Python's hmac over the fields as
// Chain.Hash documents them (each as a 4-byte big-endian length and its
// bytes: the previous hash, seq, at, run, movement, reference, debit,
// credit, amount in fen, batch, memo).
func TestLedgerFormatsStable(t *testing.T) {
	e := pipeline.Entry{Seq: 7, At: "2014-02-01 02:30:00", RunID: 3,
		Posting: pipeline.NewPosting(pipeline.MoveBatch, "R1-1", 200000, "B2014020101", "memo")}
	if got, want := pipeline.NewChain([]byte("k")).Hash(pipeline.GenesisHash, &e), "51e9cb428489b8d75cd4e601fee2e97a35b2ea193c7da865ebc1b36688a98d47"; got != want {
		t.Errorf("Chain.Hash = %s, want %s", got, want)
	}
	if got, want := pipeline.KeyCheck([]byte("k")), "c6f500de7c457297"; got != want {
		t.Errorf("KeyCheck = %s, want %s", got, want)
	}
}

// TestPostingValid: a posting is valid only as its movement's debit and
// credit, of a positive amount, for a payment.
func TestPostingValid(t *testing.T) {
	good := pipeline.NewPosting(pipeline.MoveSettle, "R1-1", 100, "B1", "")
	if !good.Valid() {
		t.Fatalf("%+v is not valid", good)
	}
	for name, edit := range map[string]func(p *pipeline.Posting){
		"Debit":      func(p *pipeline.Posting) { p.Debit = pipeline.AccountReturned },
		"Credit":     func(p *pipeline.Posting) { p.Credit = pipeline.AccountBatched },
		"Zero":       func(p *pipeline.Posting) { p.AmountFen = 0 },
		"Negative":   func(p *pipeline.Posting) { p.AmountFen = -100 },
		"NoPayment":  func(p *pipeline.Posting) { p.PaymentRef = "" },
		"NoMovement": func(p *pipeline.Posting) { p.Movement = "refund" },
	} {
		p := good
		edit(&p)
		if p.Valid() {
			t.Errorf("%s: %+v is valid", name, p)
		}
	}
}

func TestMoneyCheckProblems(t *testing.T) {
	m := &pipeline.MoneyCheck{
		Payments: map[pipeline.Status]pipeline.Tally{pipeline.Paid: {Count: 1, AmountFen: 200000}, pipeline.Returned: {Count: 1, AmountFen: 100000}},
		Ledger:   map[pipeline.Account]int64{pipeline.AccountPaid: 200000, pipeline.AccountReturned: 100000, pipeline.AccountProgramme: -300000},
		Batches: []pipeline.BatchMoney{{ID: "B1", Status: pipeline.BatchSettled, Count: 2, FileFen: 300000, LedgerFen: 300000,
			SettledFen: 200000, ReturnedFen: 100000, BankFen: 200000, BankKnown: true}},
	}
	if v := m.Verdict(); v != "RECONCILED" {
		t.Fatalf("verdict = %s", v)
	}
	m.Batches[0].BankFen = 100000
	if v := m.Verdict(); !strings.Contains(v, "bank confirmed 1000.00") {
		t.Errorf("verdict = %s", v)
	}
	m.Batches[0].BankFen = 200000
	m.Ledger[pipeline.AccountPaid] = 100000
	if p := m.Problems(); len(p) != 1 || !strings.Contains(p[0], "PAID") {
		t.Errorf("problems = %v", p)
	}
}

// TestMoneyCheckEachRule breaks one rule of §4.4's money check at a time, on
// books that otherwise reconcile: each is found, alone, and said plainly.
func TestMoneyCheckEachRule(t *testing.T) {
	good := func() *pipeline.MoneyCheck {
		return &pipeline.MoneyCheck{
			Payments: map[pipeline.Status]pipeline.Tally{pipeline.Paid: {Count: 1, AmountFen: 100000},
				pipeline.Sent: {Count: 2, AmountFen: 300000}},
			Ledger: map[pipeline.Account]int64{pipeline.AccountPaid: 100000, pipeline.AccountSent: 300000,
				pipeline.AccountProgramme: -400000},
			// A rejected batch between two others: the checks go on past it.
			Batches: []pipeline.BatchMoney{
				{ID: "B1", Status: pipeline.BatchSent, Count: 2, FileFen: 300000, LedgerFen: 300000, AwaitingFen: 300000},
				{ID: "B2", Status: pipeline.BatchRejected, Count: 1, FileFen: 100000},
				{ID: "B3", Status: pipeline.BatchSettled, Count: 1, FileFen: 100000, LedgerFen: 100000, SettledFen: 100000,
					BankFen: 100000, BankKnown: true},
			},
		}
	}
	if v := good().Verdict(); v != pipeline.Reconciled {
		t.Fatalf("the good books: %s", v)
	}
	for _, tc := range []struct {
		name  string
		spoil func(m *pipeline.MoneyCheck)
		want  string
	}{
		{"ProgrammeAccount", func(m *pipeline.MoneyCheck) { m.Ledger[pipeline.AccountProgramme] = -390000 },
			"decided payable: payments hold 4000.00, the ledger's programme account says 3900.00"},
		{"RejectedBatchHoldsMoney", func(m *pipeline.MoneyCheck) { m.Batches[1].LedgerFen = 100000 },
			"batch B2 was rejected but the ledger still holds 1000.00 in it"},
		{"RejectedBatchAwaits", func(m *pipeline.MoneyCheck) { m.Batches[1].AwaitingFen = 100000 },
			"batch B2 was rejected but 1000.00 of its payments are still BATCHED or SENT"},
		{"FileAgainstLedger", func(m *pipeline.MoneyCheck) { m.Batches[0].LedgerFen = 200000 },
			"batch B1: file total 3000.00, ledger total 2000.00"},
		{"FileAgainstPayments", func(m *pipeline.MoneyCheck) { m.Batches[0].AwaitingFen = 200000 },
			"batch B1: file total 3000.00, but settled 0.00 + returned 0.00 + awaiting 2000.00 = 2000.00"},
		// Money settled or returned in a batch the bank has not answered:
		// marked so by something other than its result file.
		{"SettledUnanswered", func(m *pipeline.MoneyCheck) { m.Batches[0].AwaitingFen, m.Batches[0].SettledFen = 200000, 100000 },
			"batch B1: settled 1000.00 and returned 0.00, but the bank has not answered it (no result file taken)"},
		{"ReturnedUnanswered", func(m *pipeline.MoneyCheck) { m.Batches[0].AwaitingFen, m.Batches[0].ReturnedFen = 200000, 100000 },
			"batch B1: settled 0.00 and returned 1000.00, but the bank has not answered it (no result file taken)"},
		// A payment still awaiting a result in a batch the bank answered:
		// a result file leaves each of its lines PAID or RETURNED.
		{"AwaitingAnswered", func(m *pipeline.MoneyCheck) {
			m.Batches[2].SettledFen, m.Batches[2].AwaitingFen, m.Batches[2].BankFen = 50000, 50000, 50000
		},
			"batch B3: the bank answered it, but 500.00 of its payments still await a result"},
		{"BankAfterARejectedBatch", func(m *pipeline.MoneyCheck) { m.Batches[2].BankFen = 90000 },
			"batch B3: settled 1000.00, the bank confirmed 900.00"},
		{"FileAfterARejectedBatch", func(m *pipeline.MoneyCheck) { m.Batches[2].LedgerFen = 0 },
			"batch B3: file total 1000.00, ledger total 0.00"},
		{"Chain", func(m *pipeline.MoneyCheck) {
			m.ChainProblems = []string{"ledger entry 3: hash does not match its contents"}
		},
			"ledger entry 3: hash does not match its contents"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := good()
			tc.spoil(m)
			if p := m.Problems(); len(p) != 1 || p[0] != tc.want {
				t.Errorf("problems = %q, want [%q]", p, tc.want)
			}
			if v := m.Verdict(); v != "NOT RECONCILED: 1 problem: "+tc.want {
				t.Errorf("verdict = %s", v)
			}
		})
	}
}

// TestBooks: a run whose every stage ran still reports books that do not
// agree, whether money was held or only its report found them out (the
// command exits 1 on either).
func TestBooks(t *testing.T) {
	books := func() *pipeline.MoneyCheck {
		return &pipeline.MoneyCheck{
			Payments: map[pipeline.Status]pipeline.Tally{pipeline.Paid: {Count: 1, AmountFen: 200000}},
			Ledger:   map[pipeline.Account]int64{pipeline.AccountPaid: 200000, pipeline.AccountProgramme: -200000},
		}
	}
	agree := &pipeline.Result{Summary: &pipeline.Summary{Money: books()}}
	if got := agree.Books(); got != "" {
		t.Errorf("books that agree: %q", got)
	}
	if got := (&pipeline.Result{}).Books(); got != "" {
		t.Errorf("a run without a report: %q", got)
	}
	held := &pipeline.Result{Held: "no money moves while the books do not agree: x", Summary: &pipeline.Summary{Money: books()}}
	if got := held.Books(); got != held.Held {
		t.Errorf("money held: %q", got)
	}
	found := &pipeline.Result{Summary: &pipeline.Summary{Money: books()}}
	found.Summary.Money.Ledger[pipeline.AccountPaid] = 100000
	if got := found.Books(); !strings.HasPrefix(got, "the report says NOT RECONCILED: 1 problem: PAID: payments hold 2000.00") {
		t.Errorf("books the report found wrong: %q", got)
	}
}
