package sqlite

import (
	"context"
	"fmt"

	"zhutui/pipeline"
)

// Status reads what an operator needs in the morning: the last runs, who
// holds the lease (and whether it still works, seen from host), quarantined
// files, batches awaiting approval and what is waiting.
func (s *Store) Status(ctx context.Context, runs int, host string) (*pipeline.StatusReport, error) {
	r := &pipeline.StatusReport{}
	var ids []int64
	if err := s.db.SelectContext(ctx, &ids, `SELECT id FROM runs ORDER BY id DESC LIMIT ?`, runs); err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	for _, id := range ids {
		run, err := s.Run(ctx, id)
		if err != nil {
			return nil, err
		}
		r.Runs = append(r.Runs, run)
	}
	var lease leaseRow
	err := s.db.GetContext(ctx, &lease, leaseQuery)
	switch {
	case err == nil:
		r.LeaseHolder, r.LeaseRunID = lease.describe(), lease.RunID.Int64
		r.LeaseCutOff = !lease.alive(s.Now(), host)
		if lease.Command == string(pipeline.TriggerIngest) { // zhutui ingest's lease
			r.LeaseRunBy = pipeline.TriggerIngest
		}
	case !isNoRows(err):
		return nil, err
	}
	if err := s.db.SelectContext(ctx, &r.Quarantined, `SELECT kind, location, name, sha256, size, encoding, outcome, reason,
		rows_applied, rows_rejected, taken_at FROM files WHERE outcome = 'quarantined' ORDER BY id DESC LIMIT 10`); err != nil {
		return nil, err
	}
	batches, err := s.Batches(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range batches {
		switch b.Status {
		case pipeline.BatchAwaitingApproval:
			r.Awaiting = append(r.Awaiting, b)
		case pipeline.BatchApproved:
			r.Approved = append(r.Approved, b)
		case pipeline.BatchSent:
			r.Sent = append(r.Sent, b)
		}
	}
	r.BatchAlerts = map[string]int{}
	if err := s.EachAlert(ctx, func(a pipeline.Alert) error {
		r.BatchAlerts[a.BatchID]++
		return nil
	}); err != nil {
		return nil, err
	}
	if err := s.db.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(amount_fen), 0) FROM payments
		WHERE status = 'ELIGIBLE'`).Scan(&r.Unbatched.Count, &r.Unbatched.AmountFen); err != nil {
		return nil, err
	}
	if r.Budget, err = s.budgetState(ctx); err != nil {
		return nil, err
	}
	if r.FullVerification, err = setting(ctx, s.db, "ledger.full_verification"); err != nil {
		return nil, err
	}
	if r.VerdictRun, r.Verdict, err = s.LastVerdict(ctx); err != nil {
		return nil, err
	}
	if r.VerdictDir, err = setting(ctx, s.db, "report.verdict_dir"); err != nil {
		return nil, err
	}
	r.Waiting, err = s.waiting(ctx)
	return r, err
}

// waiting counts the registrations that wait, with the oldest submission.
func (s *Store) waiting(ctx context.Context) ([]pipeline.Waiting, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT status, count(*), min(submitted_at) FROM decisions
		WHERE status IN ('PENDING_VERIFICATION', 'PENDING_CERTIFICATE') GROUP BY status ORDER BY status DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pipeline.Waiting
	for rows.Next() {
		var w pipeline.Waiting
		if err := rows.Scan(&w.Status, &w.Count, &w.OldestSubmitted); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}
