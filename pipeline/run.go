package pipeline

import (
	"errors"
	"fmt"
)

// ErrNotFound means a run, batch or file asked for does not exist.
var ErrNotFound = errors.New("not found")

// Trigger says what started a run.
type Trigger string

// The triggers.
const (
	TriggerManual   Trigger = "manual"
	TriggerSchedule Trigger = "schedule"
	TriggerRerun    Trigger = "rerun"
	TriggerIngest   Trigger = "ingest"
	TriggerReport   Trigger = "report"
)

// Stage is one step of a run. Each stage commits its own work and is safe to
// run again: what it already did, it does not do twice.
type Stage string

// The stages of a nightly run, in order.
const (
	StageCollect   Stage = "collect"
	StageReconcile Stage = "reconcile"
	StageBatch     Stage = "batch"
	StageDeliver   Stage = "deliver"
	StageSettle    Stage = "settle"
	StageNotify    Stage = "notify"
	StageReport    Stage = "report"
)

// The outcomes of runs and stages.
const (
	OutcomeRunning   = "running"
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed"
)

// Run is a recorded run.
type Run struct {
	ID           int64
	BusinessDate Date
	Trigger      Trigger
	StartedAt    string
	FinishedAt   string
	Outcome      string
	Error        string
	Stages       []StageRecord
}

// StageFailed is a run's error when its stage failed with err.
func StageFailed(runID int64, stage Stage, err error) error {
	return fmt.Errorf("run %d, stage %s: %w", runID, stage, err)
}

// Repeats says whether a run's recorded error is only its stage's, which
// zhutui status has shown already: as a nightly run records it (StageFailed),
// or as it is (a manual ingest's).
func (s StageRecord) Repeats(runID int64, runErr string) bool {
	return s.Outcome == OutcomeFailed && s.Error != "" &&
		(runErr == s.Error || runErr == StageFailed(runID, Stage(s.Stage), errors.New(s.Error)).Error())
}

// StageRecord is how one stage of a run went.
type StageRecord struct {
	Stage      string `db:"stage"`
	StartedAt  string `db:"started_at"`
	FinishedAt string `db:"finished_at"`
	Outcome    string `db:"outcome"`
	Counts     string `db:"counts"`
	Error      string `db:"error"`
}

// Holder identifies a process holding the run lease.
type Holder struct {
	User    string
	Host    string
	PID     int
	Command string
}

func (h Holder) String() string { return fmt.Sprintf("%s@%s pid %d", h.User, h.Host, h.PID) }

// BusyError means another process holds the run lease.
type BusyError struct {
	Holder  string
	Command string
	RunID   int64
	Since   string
}

func (e *BusyError) Error() string {
	run := ""
	if e.RunID > 0 {
		run = fmt.Sprintf(", run %d", e.RunID)
	}
	return fmt.Sprintf("another zhutui is working on this database: %s (zhutui %s%s, since %s); try again when it is done",
		e.Holder, e.Command, run, e.Since)
}

// ReconcileCounts is what a reconcile did.
type ReconcileCounts struct {
	Judged   int // registrations whose rules 1-17 were applied again
	Changed  int // registrations whose status or reasons changed
	Payments PaymentCounts
}

// PaymentCounts is what bringing the payments in line with the decisions did.
type PaymentCounts struct {
	Decided   int // payments made ELIGIBLE
	Withdrawn int // ELIGIBLE payments cancelled before a batch
	Reissued  int // returned payments paid again as the next attempt
}
