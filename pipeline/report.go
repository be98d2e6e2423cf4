package pipeline

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Tally counts registrations under one key (a status, a level, a station),
// with how many of them hold money decided payable and its sum.
type Tally struct {
	Key       string
	Count     int64
	Payable   int64
	AmountFen int64
}

// FileRecord is an inbound file as recorded.
type FileRecord struct {
	Kind      string `db:"kind"`
	Location  string `db:"location"`
	Name      string `db:"name"`
	SHA256    string `db:"sha256"`
	Size      int64  `db:"size"`
	Encoding  string `db:"encoding"`
	Outcome   string `db:"outcome"`
	Reason    string `db:"reason"`
	Applied   int64  `db:"rows_applied"`   // rows that became the current version
	Unchanged int64  `db:"rows_unchanged"` // rows equal to or older than the current version
	Rejected  int64  `db:"rows_rejected"`
	TakenAt   string `db:"taken_at"` // when it was taken or quarantined (Beijing time); zhutui status reads it
}

// Summary is the head of a run's reconciliation report. The tallies are
// filled from the registrations as registrations.csv is written (Tallies).
type Summary struct {
	Run           Run
	Programme     string
	Registrations int64
	ByStatus      []Tally
	ByLevel       []Tally
	ByStation     []Tally
	Files         []FileRecord // files the run took or quarantined
	Money         *MoneyCheck
	Batches       []BatchState
	Alerts        []Alert // the first MaxListed of AlertCount
	AlertCount    int64
	Budget        *BudgetState // nil when the programme has no budget
	NoMobile      []Notice     // paid or returned members no SMS could reach: the first MaxListed
	NoMobileCount int64
	Waiting       []Waiting // registrations not final yet
	// LastRun is the latest run when the report was written: its
	// registrations, money and ledger are the state after that run, which
	// is not the state at the end of Run when Run is an earlier one.
	LastRun int64
}

// Held says why the run's batch or deliver stage moved no money (the books
// did not agree), "" when no stage held it.
func (s *Summary) Held() string {
	for _, st := range s.Run.Stages {
		if held, ok := strings.CutPrefix(st.Counts, HeldPrefix); ok {
			return held
		}
	}
	return ""
}

// Earlier says whether the report is of a run before the last one, whose
// registrations and money it shows as they stand now.
func (s *Summary) Earlier() bool { return s.LastRun != s.Run.ID }

// EarlierNote is what a report of an earlier run says about it.
func (s *Summary) EarlierNote() string {
	return fmt.Sprintf("注意：运行 %d 不是最近一次运行，本报告中的登记、资金和账本是运行 %d 之后的状态。"+
		"Run %d is not the last run: the registrations, money and ledger here are as they stand after run %d, "+
		"not as they were when run %d finished. The files taken and the rows rejected are run %d's.",
		s.Run.ID, s.LastRun, s.Run.ID, s.LastRun, s.Run.ID, s.Run.ID)
}

// MaxListed is how many alerts, and how many members no SMS could reach, the
// summary shows; the report's alerts.csv and no-sms.csv list every one. A
// night that changes many registrations at once can bring tens of thousands.
const MaxListed = 200

// Verdict is the report's verdict line.
func (s *Summary) Verdict() string { return s.Money.Verdict() }

// Alert is a change that arrived after a registration's payment entered a
// batch: it moves no money by itself, finance staff decide.
type Alert struct {
	RegistrationID string
	PaymentRef     string
	BatchID        string // the batch the payment is in
	PaymentStatus  Status
	Decision       Status // what the rules say now
	Reasons        string
	// Change says how the registration's current version differs from the
	// place it was paid for (certificate, ID number, level), "" when it
	// does not.
	Change string
}

// Describe says what changed, after the registration and its payment:
// "now CERT_REVOKED 证书已撤销 [CERT_REVOKED]", and ", not the place it was
// paid for: certificate C1 → C9" when it moved.
func (a Alert) Describe() string {
	s := fmt.Sprintf("now %s %s [%s]", a.Decision, a.Decision.Text(), a.Reasons)
	if a.Change != "" {
		s += ", not the place it was paid for: " + a.Change
	}
	return s
}

// BudgetState is how much of a programme's budget the batches took.
type BudgetState struct {
	BudgetFen    int64
	CommittedFen int64 // in batches: BATCHED, SENT, PAID or RETURNED
	WaitingCount int64 // ELIGIBLE payments not batched
	WaitingFen   int64
}

// Left says what of the budget is left, or, when batches made before the
// budget was set or lowered hold more than it, by how much they pass it.
func (b *BudgetState) Left() string {
	if left := b.BudgetFen - b.CommittedFen; left >= 0 {
		return FormatFen(left) + " left"
	}
	return "nothing left: " + FormatFen(b.CommittedFen-b.BudgetFen) + " over it, in batches made before it was set or lowered"
}

// RegistrationLine is one line of registrations.csv, with the level and
// station the summary counts it under.
type RegistrationLine struct {
	RegistrationID string
	Status         Status
	AmountFen      *int64 // nil when nothing is payable
	Reasons        string // every failing code, joined by ';'
	PaymentRef     string
	BatchID        string
	Level          int
	Station        string
}

// Tallies counts registrations by status, level and station as they stream
// by, so that one pass over them gives registrations.csv and the summary.
type Tallies struct {
	byStatus, byLevel, byStation map[string]*Tally
	Registrations                int64
}

// Add counts one registration.
func (t *Tallies) Add(l *RegistrationLine) {
	if t.byStatus == nil {
		t.byStatus, t.byLevel, t.byStation = map[string]*Tally{}, map[string]*Tally{}, map[string]*Tally{}
	}
	t.Registrations++
	count(t.byStatus, string(l.Status), l.AmountFen)
	count(t.byLevel, strconv.Itoa(l.Level), l.AmountFen)
	count(t.byStation, l.Station, l.AmountFen)
}

func count(m map[string]*Tally, key string, amountFen *int64) {
	x := m[key]
	if x == nil {
		x = &Tally{Key: key}
		m[key] = x
	}
	x.Count++
	if amountFen != nil {
		x.Payable++
		x.AmountFen += *amountFen
	}
}

// Fill puts the tallies, sorted by key, into a summary.
func (t *Tallies) Fill(s *Summary) {
	sorted := func(m map[string]*Tally) []Tally {
		out := make([]Tally, 0, len(m))
		for _, x := range m {
			out = append(out, *x)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
		return out
	}
	s.Registrations = t.Registrations
	s.ByStatus, s.ByLevel, s.ByStation = sorted(t.byStatus), sorted(t.byLevel), sorted(t.byStation)
}

// ExceptionLine is one failing check of one registration.
type ExceptionLine struct {
	RegistrationID string
	Station        string
	Status         Status // the registration's primary status
	Finding
}

// ReportSource is what a report is read from; the store implements it.
type ReportSource interface {
	Summary(ctx context.Context, runID int64) (*Summary, error)
	// EachRegistration calls fn for every registration in registration_id order.
	EachRegistration(ctx context.Context, fn func(RegistrationLine) error) error
	// EachException calls fn for every failing check, by registration_id and
	// the order of §3.
	EachException(ctx context.Context, fn func(ExceptionLine) error) error
	// EachAlert calls fn for every alert, by registration_id.
	EachAlert(ctx context.Context, fn func(Alert) error) error
	// EachNoMobile calls fn for every notice no SMS could carry (no valid
	// mobile), by message_id.
	EachNoMobile(ctx context.Context, fn func(Notice) error) error
	// EachReject calls fn for every row rejected from the files a run took.
	EachReject(ctx context.Context, runID int64, fn func(Reject) error) error
	// CountRegistrations counts the registrations the report lists.
	CountRegistrations(ctx context.Context) (int64, error)
	// VerifyNewEntries verifies the ledger entries added since the last
	// verification and returns what does not verify.
	VerifyNewEntries(ctx context.Context) ([]string, error)
	// SaveVerdict records the verdict of the report written for a run, and
	// the folder it was written to.
	SaveVerdict(ctx context.Context, runID int64, verdict, dir string) error

	// ReportChanges makes sure that every later change of a registration's
	// line is noted, and says what was noted so far and which state file
	// the last report saved (see SaveReportState).
	ReportChanges(ctx context.Context) (ReportChanges, error)
	// EachChangedRegistration calls fn, in registration_id order, with the
	// line of every registration noted up to mark.
	EachChangedRegistration(ctx context.Context, mark int64, fn func(RegistrationLine) error) error
	// EachChangedException calls fn, in registration_id order, with the
	// exception lines (none when it has none) of every registration whose
	// lines may have changed with the notes up to mark.
	EachChangedException(ctx context.Context, mark int64, fn func(id string, lines []ExceptionLine) error) error
	// SaveReportState records the state files a report wrote, which hold
	// every change noted up to mark, and forgets those notes, unless the
	// state recorded is no longer prev (another report saved since).
	SaveReportState(ctx context.Context, prev, st ReportState, mark int64) error
}

// ReportState identifies the state files a report wrote, from which the next
// report starts: every registration's line, and every exception's line.
type ReportState struct {
	SHA256           string // registrations
	Rows             int64
	ExceptionsSHA256 string // "" when no exceptions were kept
	ExceptionRows    int64
}

// ReportChanges is what changed since the last report's state.
type ReportChanges struct {
	Mark  int64       // the last note so far
	Notes int64       // how many notes up to Mark (a registration may have several)
	State ReportState // zero when no report saved one
}

// Waiting is a group of registrations that wait (not final): for a station's
// check or for their certificate to reach the feed.
type Waiting struct {
	Status          Status
	Count           int64
	OldestSubmitted string
}

// FinishHint is what an operator types to finish a run that failed or was
// cut off. A manual ingest is not rerun: its files are taken again.
func FinishHint(runID int64, by Trigger) string {
	if by == TriggerIngest {
		return fmt.Sprintf("run %d was a manual ingest, which is not rerun: correct its files and take them with zhutui ingest", runID)
	}
	return fmt.Sprintf("finish it with: zhutui rerun %d", runID)
}

// Supersede tells what became of the work of a nightly run that did not
// finish, once other runs began after it (later: runs in any order; earlier
// ones and manual ingests are passed over). Each nightly run takes every
// stage again, so a later one that succeeded did all of it (done, by the
// first such); otherwise the latest is the one to finish. ok is false when
// no nightly run began after it. Rerunning the earlier one instead would
// batch that day's payments under its own, older business date.
func Supersede(run Run, later []Run) (by Run, done, ok bool) {
	for _, l := range later {
		if l.ID <= run.ID || l.Trigger == TriggerIngest {
			continue
		}
		switch {
		case l.Outcome == OutcomeSucceeded && (!done || l.ID < by.ID):
			by, done, ok = l, true, true
		case !done && (!ok || l.ID > by.ID):
			by, ok = l, true
		}
	}
	return by, done, ok
}

// FinishDelivery says what finishes a batch's delivery that run began and
// did not record as done, given the runs zhutui status shows (any order):
// that run's rerun, or a later run's, which takes it up (Supersede). A later
// run that succeeded and left it unfinished held its money, so the next run
// once the books agree.
func FinishDelivery(run int64, runs []Run) string {
	by, done, ok := Supersede(Run{ID: run}, runs)
	switch {
	case !ok:
		return fmt.Sprintf("zhutui rerun %d finishes it", run)
	case done:
		return "the next run finishes it, once the books agree"
	default:
		return fmt.Sprintf("zhutui rerun %d finishes it", by.ID)
	}
}

// FinishHintAfter is FinishHint for a run that runs begun after it may have
// done or taken over (see Supersede).
func FinishHintAfter(run Run, later []Run) string {
	by, done, ok := Supersede(run, later)
	switch {
	case run.Trigger == TriggerIngest || !ok:
		return FinishHint(run.ID, run.Trigger)
	case done:
		return fmt.Sprintf("run %d, begun after it, succeeded and took every stage again: nothing is left to finish", by.ID)
	default:
		return fmt.Sprintf("run %d, begun after it, takes every stage again: finish that one (zhutui rerun %d), not this one", by.ID, by.ID)
	}
}

// StatusReport is what `zhutui status` shows.
type StatusReport struct {
	Runs        []Run   // the latest first
	LeaseHolder string  // who holds the run lease, or ""
	LeaseCutOff bool    // the holder stopped without giving it up (kill -9, power cut)
	LeaseRunID  int64   // the run it was working on, or 0
	LeaseRunBy  Trigger // what started that run
	Quarantined []FileRecord
	Awaiting    []BatchState   // waiting for someone to approve them
	Approved    []BatchState   // for the next run to deliver
	Sent        []BatchState   // waiting for the bank's result file
	BatchAlerts map[string]int // alerts (see Alert) by the batch their payment is in
	Unbatched   Tally          // ELIGIBLE payments, for the next run's batch stage
	Waiting     []Waiting
	Budget      *BudgetState // nil when the programme has no budget
	// FullVerification is how the last verification of the whole ledger
	// went: when, how many entries, the outcome ("" when there was none).
	FullVerification string
	// The last report's verdict, its run and its folder: money moves only
	// while it is RECONCILED ("" before the first report; the folder ""
	// for a report written before zhutui recorded it).
	Verdict    string
	VerdictRun int64
	VerdictDir string
}
