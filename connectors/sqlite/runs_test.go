package sqlite_test

import (
	"context"
	"errors"
	"testing"

	"zhutui/pipeline"
)

// TestRunRecords: a rerun marks its run running again once (its trigger
// says rerun once, however often), clears how it ended and how its stages
// ended, and a run that does not exist is not found.
func TestRunRecords(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	id, err := st.BeginRun(ctx, pipeline.MustDate("2014-02-01"), pipeline.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.StartStage(ctx, id, pipeline.StageCollect); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := st.FinishStage(ctx, id, pipeline.StageCollect, "", boom); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishRun(ctx, id, boom); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := st.RestartRun(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.StartStage(ctx, id, pipeline.StageCollect); err != nil {
		t.Fatal(err)
	}
	r, err := st.Run(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Trigger != "manual+rerun" || r.Outcome != "running" || r.Error != "" || r.FinishedAt != "" {
		t.Errorf("the run rerun twice: %+v", r)
	}
	if len(r.Stages) != 1 || r.Stages[0].Outcome != "running" || r.Stages[0].Error != "" {
		t.Errorf("its stage started again: %+v", r.Stages)
	}
	if err := st.RestartRun(ctx, id+1); !errors.Is(err, pipeline.ErrNotFound) {
		t.Errorf("rerun of a run that does not exist: %v", err)
	}
}
