package pipeline

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoPayerAccount means a batch was to be rendered with no payer account
// configured: a configuration error (exit status 2), found at the batch
// stage, which then commits nothing.
var ErrNoPayerAccount = errors.New("no payer account: set [bank] payer_account")

// ErrNotOneLine refuses who decides on a batch, or why, when it holds a
// control character: a line break in it would print as an event line of its
// own in the batch's history. A usage error (exit status 2).
var ErrNotOneLine = errors.New("--by and --reason are one line of text")

// BatchStatus is where a payment batch stands.
type BatchStatus string

// The batch states: a batch is created awaiting approval (or approved, when
// approval is off), delivered once approved, and settled when the bank's
// result file for it has been taken. A batch not yet delivered can be rejected.
const (
	BatchAwaitingApproval BatchStatus = "AWAITING_APPROVAL"
	BatchApproved         BatchStatus = "APPROVED"
	BatchRejected         BatchStatus = "REJECTED"
	BatchSent             BatchStatus = "SENT"
	BatchSettled          BatchStatus = "SETTLED"
)

// SystemUser creates the batches of a run.
const SystemUser = "system"

// BatchID returns the id of the nth batch of a business date: B<YYYYMMDD><nn>.
func BatchID(date Date, n int) string {
	return fmt.Sprintf("B%s%02d", strings.ReplaceAll(date.String(), "-", ""), n)
}

// Batch is a payment batch with its lines, as rendered into a payment file.
type Batch struct {
	ID           string
	BusinessDate Date
	PayerAccount string
	Memo         string
	Status       BatchStatus
	CreatedBy    string
	CreatedAt    string
	ApprovedBy   string
	Count        int64
	TotalFen     int64
	FileSHA256   string // of the payment file, fixed when the batch was created
	DeliveryRun  int64  // the run that began delivering it (0: not begun)
	Lines        []BatchLine
}

// BatchLine is one payment of a batch: what the bank is told to pay.
type BatchLine struct {
	Seq        int
	PaymentRef string
	CardNumber string
	Name       string
	AmountFen  int64
}

// PaymentFileName and ResultFileName name the files of §4.1 and §4.2.
func PaymentFileName(batchID string) string { return "ZTPAY_" + batchID + ".txt" }

// ResultFileName is the name of the bank's answer to a batch.
func ResultFileName(batchID string) string { return "ZTRES_" + batchID + ".txt" }

// ResultFile is the bank's answer to a payment file (§4.2).
type ResultFile struct {
	BatchID      string
	Count        int64
	TotalFen     int64
	Lines        []ResultLine
	SuccessCount int64
	SuccessFen   int64
	FailCount    int64
	FailFen      int64
}

// ResultLine is the bank's outcome for one payment.
type ResultLine struct {
	Seq        int
	PaymentRef string
	CardNumber string
	AmountFen  int64
	Success    bool
	Code       string
	Message    string
}

// BankFormat writes payment files and reads result files; connectors/bankfile
// implements it.
type BankFormat interface {
	// RenderPayment returns the bytes of a batch's payment file: the same
	// batch always gives the same bytes.
	RenderPayment(b *Batch) ([]byte, error)
	// Sidecar returns the .sha256 file that goes beside a payment file.
	Sidecar(name string, data []byte) []byte
}

// CheckResult checks a result file against the batch it answers, as §4.2
// requires: every line of the batch answered once, by the same reference,
// card and amount, and totals that agree. It returns a *FileError naming the
// first disagreement.
func CheckResult(name string, rf *ResultFile, b *Batch) error {
	bad := func(format string, args ...any) error {
		return &FileError{File: name, Reason: fmt.Sprintf(format, args...)}
	}
	if rf.BatchID != b.ID {
		return bad("answers batch %s, not %s", rf.BatchID, b.ID)
	}
	if rf.Count != b.Count || rf.TotalFen != b.TotalFen {
		return bad("header says %d lines, %s; batch %s has %d lines, %s",
			rf.Count, FormatFen(rf.TotalFen), b.ID, b.Count, FormatFen(b.TotalFen))
	}
	bySeq := make(map[int]*BatchLine, len(b.Lines))
	for i := range b.Lines {
		bySeq[b.Lines[i].Seq] = &b.Lines[i]
	}
	seen := make(map[int]bool, len(rf.Lines))
	var sc, fc, sf, ff int64
	for _, l := range rf.Lines {
		want, ok := bySeq[l.Seq]
		switch {
		case !ok || want.PaymentRef != l.PaymentRef:
			return bad("line %06d names reference %s, unknown in batch %s", l.Seq, l.PaymentRef, b.ID)
		case seen[l.Seq]:
			return bad("line %06d (%s) is answered twice", l.Seq, l.PaymentRef)
		case want.CardNumber != l.CardNumber:
			return bad("line %06d (%s) names card %s, the batch paid %s", l.Seq, l.PaymentRef, MaskCard(l.CardNumber), MaskCard(want.CardNumber))
		case want.AmountFen != l.AmountFen:
			return bad("line %06d (%s) names amount %s, the batch paid %s", l.Seq, l.PaymentRef, FormatFen(l.AmountFen), FormatFen(want.AmountFen))
		}
		seen[l.Seq] = true
		if l.Success {
			sc, sf = sc+1, sf+l.AmountFen
		} else {
			fc, ff = fc+1, ff+l.AmountFen
		}
	}
	for _, want := range b.Lines {
		if !seen[want.Seq] {
			return bad("line %06d (%s) of batch %s is not answered", want.Seq, want.PaymentRef, b.ID)
		}
	}
	if sc != rf.SuccessCount || sf != rf.SuccessFen || fc != rf.FailCount || ff != rf.FailFen {
		return bad("trailer says %d settled (%s) and %d failed (%s); the lines say %d (%s) and %d (%s)",
			rf.SuccessCount, FormatFen(rf.SuccessFen), rf.FailCount, FormatFen(rf.FailFen), sc, FormatFen(sf), fc, FormatFen(ff))
	}
	return nil
}

// BatchSpec says how the batch stage makes batches.
type BatchSpec struct {
	BusinessDate     Date
	PayerAccount     string
	Memo             string
	MaxLines         int
	ApprovalRequired bool
	BudgetSet        bool
	BudgetFen        int64
}

// BatchState is a batch with where its money stands, for lists and reports.
type BatchState struct {
	Batch
	ApprovedAt    string
	SentAt        string
	Settled       bool  // the bank's result file was taken
	SettledFen    int64 // the bank's confirmed total
	ReturnedFen   int64
	PaidCount     int64
	ReturnedCount int64
}

// BatchEvent is one thing done to a batch.
type BatchEvent struct {
	At     string `db:"at"`
	Actor  string `db:"actor"`
	Action string `db:"action"`
	Detail string `db:"detail"`
}

// Delivery is a file put at an outbound location.
type Delivery struct {
	Kind     string // payment, sidecar, sms
	BatchID  string
	Location string
	Name     string
	SHA256   string
	Size     int64
	At       string
	Already  bool   // the same bytes were there already, or (Note) nothing was put
	Note     string // why nothing was put, for the batch's events
}
