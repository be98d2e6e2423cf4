package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// Store is everything a run needs from the database; connectors/sqlite
// implements it.
type Store interface {
	IngestStore
	ReportSource
	Programme(ctx context.Context) (*Programme, error)
	BeginRun(ctx context.Context, businessDate Date, trigger Trigger) (int64, error)
	Run(ctx context.Context, id int64) (Run, error)
	StartStage(ctx context.Context, runID int64, stage Stage) error
	FinishStage(ctx context.Context, runID int64, stage Stage, counts string, err error) error
	FinishRun(ctx context.Context, runID int64, err error) error
	Reconcile(ctx context.Context, runID int64, p *Programme) (ReconcileCounts, error)
}

// Reporter writes a run's report and returns where it went.
type Reporter interface {
	Write(ctx context.Context, runID int64, src ReportSource) (string, *Summary, error)
}

// Inbox is an inbound location and the kind of file it holds.
type Inbox struct {
	Kind     FileKind
	Location Location
}

// Runner runs the stages of a nightly cycle. Its fields are set once by the
// caller; a Runner must not run two cycles at the same time.
type Runner struct {
	Store   Store
	Formats Formats
	Inboxes []Inbox
	Reports Reporter
	Log     *slog.Logger
}

// Result is what a run did.
type Result struct {
	RunID     int64
	Files     []Taken
	Reconcile ReconcileCounts
	ReportDir string
	Summary   *Summary
}

// stage is one step of the cycle: it does its work and returns a short
// account of it for the stage record.
type stage struct {
	name Stage
	do   func(ctx context.Context, runID int64, res *Result) (string, error)
}

func (r *Runner) stages() []stage {
	return []stage{
		{StageCollect, r.collect},
		{StageReconcile, r.reconcile},
		{StageReport, r.report},
	}
}

// Run records a new run for a business date and performs its stages.
func (r *Runner) Run(ctx context.Context, businessDate Date, trigger Trigger) (*Result, error) {
	id, err := r.Store.BeginRun(ctx, businessDate, trigger)
	if err != nil {
		return nil, err
	}
	return r.Resume(ctx, id)
}

// Resume performs every stage of a recorded run again, in order. Stages are
// idempotent, so what a cut-off run already did is not done twice.
func (r *Runner) Resume(ctx context.Context, runID int64) (*Result, error) {
	res := &Result{RunID: runID}
	log := r.log().With("run", runID)
	for _, s := range r.stages() {
		if err := r.Store.StartStage(ctx, runID, s.name); err != nil {
			return res, err
		}
		log.Info("stage started", "stage", s.name)
		counts, err := s.do(ctx, runID, res)
		if ferr := r.Store.FinishStage(context.WithoutCancel(ctx), runID, s.name, counts, err); ferr != nil && err == nil {
			err = ferr
		}
		if err != nil {
			log.Error("stage failed", "stage", s.name, "err", err)
			err = fmt.Errorf("run %d, stage %s: %w", runID, s.name, err)
			if ferr := r.Store.FinishRun(context.WithoutCancel(ctx), runID, err); ferr != nil {
				err = errors.Join(err, ferr)
			}
			return res, err
		}
		log.Info("stage finished", "stage", s.name, "counts", counts)
	}
	return res, r.Store.FinishRun(ctx, runID, nil)
}

func (r *Runner) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

// collect takes every new file of every inbound location. A file that cannot
// be trusted is quarantined and the next goes on; a file that cannot be read
// at all fails the stage once the others are taken.
func (r *Runner) collect(ctx context.Context, runID int64, res *Result) (string, error) {
	var errs []error
	taken, quarantined, skipped := 0, 0, 0
	for _, in := range r.Inboxes {
		names, err := in.Location.List(ctx)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, name := range names {
			if !Inbound(in.Kind, name) {
				continue
			}
			t, err := TakeFile(ctx, r.Store, r.Formats, in.Kind, in.Location, name, runID)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			switch {
			case t.Skipped:
				skipped++
				continue
			case t.Quarantined != "":
				quarantined++
				r.log().Warn("file quarantined", "run", runID, "kind", in.Kind, "file", name, "reason", t.Quarantined)
			default:
				taken++
				r.log().Info("file taken", "run", runID, "kind", in.Kind, "file", name,
					"applied", t.Applied, "unchanged", t.Unchanged, "rejected", t.Rejected)
			}
			res.Files = append(res.Files, t)
		}
	}
	return fmt.Sprintf("taken=%d quarantined=%d skipped=%d", taken, quarantined, skipped), errors.Join(errs...)
}

func (r *Runner) reconcile(ctx context.Context, runID int64, res *Result) (string, error) {
	p, err := r.Store.Programme(ctx)
	if err != nil {
		return "", err
	}
	res.Reconcile, err = r.Store.Reconcile(ctx, runID, p)
	return fmt.Sprintf("judged=%d changed=%d", res.Reconcile.Judged, res.Reconcile.Changed), err
}

func (r *Runner) report(ctx context.Context, runID int64, res *Result) (string, error) {
	dir, sum, err := r.Reports.Write(ctx, runID, r.Store)
	if err != nil {
		return "", err
	}
	res.ReportDir, res.Summary = dir, sum
	return "dir=" + dir, nil
}
