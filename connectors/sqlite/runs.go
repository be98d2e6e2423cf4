package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jmoiron/sqlx"

	"zhutui/pipeline"
)

// BeginRun records a new run and returns its id.
func (s *Store) BeginRun(ctx context.Context, businessDate pipeline.Date, trigger pipeline.Trigger) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO runs (business_date, trigger, started_at) VALUES (?, ?, ?)`,
			businessDate.String(), string(trigger), s.now())
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("begin run: %w", err)
	}
	return id, nil
}

// Run returns a recorded run with its stages.
func (s *Store) Run(ctx context.Context, id int64) (pipeline.Run, error) {
	var r pipeline.Run
	var row struct {
		ID           int64          `db:"id"`
		BusinessDate string         `db:"business_date"`
		Trigger      string         `db:"trigger"`
		StartedAt    string         `db:"started_at"`
		FinishedAt   sql.NullString `db:"finished_at"`
		Outcome      string         `db:"outcome"`
		Error        sql.NullString `db:"error"`
	}
	if err := s.db.GetContext(ctx, &row, `SELECT * FROM runs WHERE id = ?`, id); err != nil {
		if isNoRows(err) {
			return r, fmt.Errorf("run %d: %w", id, pipeline.ErrNotFound)
		}
		return r, fmt.Errorf("read run %d: %w", id, err)
	}
	r = pipeline.Run{ID: row.ID, Trigger: pipeline.Trigger(row.Trigger), StartedAt: row.StartedAt,
		FinishedAt: row.FinishedAt.String, Outcome: row.Outcome, Error: row.Error.String}
	if err := r.BusinessDate.UnmarshalText([]byte(row.BusinessDate)); err != nil {
		return r, err
	}
	err := s.db.SelectContext(ctx, &r.Stages, `SELECT stage, started_at, coalesce(finished_at, '') AS finished_at,
		outcome, counts, coalesce(error, '') AS error FROM stages WHERE run_id = ? ORDER BY started_at, rowid`, id)
	if err != nil {
		return r, fmt.Errorf("read stages of run %d: %w", id, err)
	}
	return r, nil
}

// RunsAfter returns the runs begun after run id, without their stages, for
// pipeline.Supersede.
func (s *Store) RunsAfter(ctx context.Context, id int64) ([]pipeline.Run, error) {
	return runsAfter(ctx, s.db, id)
}

func runsAfter(ctx context.Context, q sqlx.QueryerContext, id int64) ([]pipeline.Run, error) {
	var rows []struct {
		ID      int64  `db:"id"`
		Trigger string `db:"trigger"`
		Outcome string `db:"outcome"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT id, trigger, outcome FROM runs WHERE id > ? ORDER BY id`, id); err != nil {
		return nil, fmt.Errorf("read the runs after run %d: %w", id, err)
	}
	out := make([]pipeline.Run, len(rows))
	for i, r := range rows {
		out[i] = pipeline.Run{ID: r.ID, Trigger: pipeline.Trigger(r.Trigger), Outcome: r.Outcome}
	}
	return out, nil
}

// RunStarts returns when each run started, by its id (as Run gives it).
func (s *Store) RunStarts(ctx context.Context) (map[int64]string, error) {
	var rows []struct {
		ID        int64  `db:"id"`
		StartedAt string `db:"started_at"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT id, started_at FROM runs`); err != nil {
		return nil, fmt.Errorf("read when the runs started: %w", err)
	}
	starts := make(map[int64]string, len(rows))
	for _, r := range rows {
		starts[r.ID] = r.StartedAt
	}
	return starts, nil
}

// LastRunID returns the id of the latest run, 0 when there is none.
func (s *Store) LastRunID(ctx context.Context) (int64, error) {
	var id int64
	err := s.db.GetContext(ctx, &id, `SELECT coalesce(max(id), 0) FROM runs`)
	return id, err
}

// LatestBatch returns the batch with the latest business date (of those,
// the last made) and that date, or "" and "" when no batch was made yet.
func (s *Store) LatestBatch(ctx context.Context) (id, businessDate string, err error) {
	var row struct {
		ID   string `db:"id"`
		Date string `db:"business_date"`
	}
	err = s.db.GetContext(ctx, &row, `SELECT id, business_date FROM batches ORDER BY business_date DESC, id DESC LIMIT 1`)
	if isNoRows(err) {
		return "", "", nil
	}
	return row.ID, row.Date, err
}

// RestartRun marks a recorded run as running again, for a rerun.
func (s *Store) RestartRun(ctx context.Context, runID int64) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET outcome = 'running', finished_at = NULL, error = NULL,
			trigger = CASE WHEN trigger LIKE '%rerun' THEN trigger ELSE trigger || '+rerun' END WHERE id = ?`, runID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("run %d: %w", runID, pipeline.ErrNotFound)
		}
		return nil
	})
}

// StartStage records that a stage of a run began (again).
func (s *Store) StartStage(ctx context.Context, runID int64, stage pipeline.Stage) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO stages (run_id, stage, started_at, outcome) VALUES (?, ?, ?, 'running')
			ON CONFLICT (run_id, stage) DO UPDATE SET started_at = excluded.started_at, finished_at = NULL,
			outcome = 'running', error = NULL`, runID, string(stage), s.now())
		return err
	})
}

// FinishStage records how a stage ended: err nil for success.
func (s *Store) FinishStage(ctx context.Context, runID int64, stage pipeline.Stage, counts string, stageErr error) error {
	outcome, msg := pipeline.OutcomeSucceeded, sql.NullString{}
	if stageErr != nil {
		outcome, msg = pipeline.OutcomeFailed, sql.NullString{String: stageErr.Error(), Valid: true}
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE stages SET finished_at = ?, outcome = ?, counts = ?, error = ?
			WHERE run_id = ? AND stage = ?`, s.now(), outcome, counts, msg, runID, string(stage))
		return err
	})
}

// FinishRun records how a run ended: err nil for success.
func (s *Store) FinishRun(ctx context.Context, runID int64, runErr error) error {
	outcome, msg := pipeline.OutcomeSucceeded, sql.NullString{}
	if runErr != nil {
		outcome, msg = pipeline.OutcomeFailed, sql.NullString{String: runErr.Error(), Valid: true}
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE runs SET finished_at = ?, outcome = ?, error = ? WHERE id = ?`,
			s.now(), outcome, msg, runID)
		return err
	})
}
