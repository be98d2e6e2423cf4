package pipeline

import "fmt"

// MoneyCheck holds the facts the report's money check is made of (§4.4):
// where every yuan decided payable is according to the payments, what the
// ledger's balances say, and each batch's totals.
type MoneyCheck struct {
	Payments      map[Status]Tally  // live payments by money status
	Ledger        map[Account]int64 // ledger balances, debit-positive
	LedgerEntries int64
	HeadHash      string
	Batches       []BatchMoney
	// ChainProblems are what verifying the chain's newest entries found.
	ChainProblems []string
}

// BatchMoney is one batch's money: the total of its file, what the ledger
// moved into it, and where its payments are now.
type BatchMoney struct {
	ID          string
	Status      BatchStatus
	Count       int64
	FileFen     int64 // the payment file's total
	LedgerFen   int64 // batch postings less unbatch postings
	SettledFen  int64 // its payments now PAID
	ReturnedFen int64 // its payments returned by the bank
	AwaitingFen int64 // its payments BATCHED or SENT, awaiting a result
	BankFen     int64 // the bank's confirmed total, when its result file was taken
	BankKnown   bool
}

// DecidedFen is every yuan decided payable: the money of all live payments.
func (m *MoneyCheck) DecidedFen() int64 {
	var t int64
	for _, s := range MoneyStatuses {
		t += m.Payments[s].AmountFen
	}
	return t
}

// Problems lists everything that does not add up; none means RECONCILED.
func (m *MoneyCheck) Problems() []string {
	var out []string
	for _, s := range MoneyStatuses {
		acct := StatusAccount[s]
		if got, want := m.Ledger[acct], m.Payments[s].AmountFen; got != want {
			out = append(out, fmt.Sprintf("%s: payments hold %s, the ledger's %s account %s", s, FormatFen(want), acct, FormatFen(got)))
		}
	}
	if got, want := -m.Ledger[AccountProgramme], m.DecidedFen(); got != want {
		out = append(out, fmt.Sprintf("decided payable: payments hold %s, the ledger's programme account says %s", FormatFen(want), FormatFen(got)))
	}
	for _, b := range m.Batches {
		if b.Status == BatchRejected {
			if b.LedgerFen != 0 {
				out = append(out, fmt.Sprintf("batch %s was rejected but the ledger still holds %s in it", b.ID, FormatFen(b.LedgerFen)))
			}
			if b.AwaitingFen != 0 {
				out = append(out, fmt.Sprintf("batch %s was rejected but %s of its payments are still BATCHED or SENT", b.ID, FormatFen(b.AwaitingFen)))
			}
			continue
		}
		if b.FileFen != b.LedgerFen {
			out = append(out, fmt.Sprintf("batch %s: file total %s, ledger total %s", b.ID, FormatFen(b.FileFen), FormatFen(b.LedgerFen)))
		}
		if sum := b.SettledFen + b.ReturnedFen + b.AwaitingFen; sum != b.FileFen {
			out = append(out, fmt.Sprintf("batch %s: file total %s, but settled %s + returned %s + awaiting %s = %s",
				b.ID, FormatFen(b.FileFen), FormatFen(b.SettledFen), FormatFen(b.ReturnedFen), FormatFen(b.AwaitingFen), FormatFen(sum)))
		}
		// §4.4: settled = the bank's confirmed total, which is none until its
		// result file is taken. A result file answers every line of its batch.
		switch {
		case b.BankKnown:
			if b.BankFen != b.SettledFen {
				out = append(out, fmt.Sprintf("batch %s: settled %s, the bank confirmed %s", b.ID, FormatFen(b.SettledFen), FormatFen(b.BankFen)))
			}
			if b.AwaitingFen != 0 {
				out = append(out, fmt.Sprintf("batch %s: the bank answered it, but %s of its payments still await a result",
					b.ID, FormatFen(b.AwaitingFen)))
			}
		case b.SettledFen != 0 || b.ReturnedFen != 0:
			out = append(out, fmt.Sprintf("batch %s: settled %s and returned %s, but the bank has not answered it (no result file taken)",
				b.ID, FormatFen(b.SettledFen), FormatFen(b.ReturnedFen)))
		}
	}
	out = append(out, m.ChainProblems...)
	return out
}

// Reconciled is the verdict of a report whose money check holds.
const Reconciled = "RECONCILED"

// Verdict is the report's verdict line: RECONCILED, or what does not add up.
func (m *MoneyCheck) Verdict() string {
	p := m.Problems()
	if len(p) == 0 {
		return Reconciled
	}
	return fmt.Sprintf("NOT RECONCILED: %s: %s", Counted(int64(len(p)), "problem", "problems"), p[0])
}
