package pipeline

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// ProgressEvery is how often, at most, a long step logs its progress.
const ProgressEvery = 3 * time.Second

type progressKey struct{}

// progress rate-limits progress lines of one stage.
type progress struct {
	log   *slog.Logger
	mu    sync.Mutex
	start time.Time
	last  time.Time
}

// WithProgress returns a context whose long steps report progress to log.
func WithProgress(ctx context.Context, log *slog.Logger) context.Context {
	now := time.Now()
	return context.WithValue(ctx, progressKey{}, &progress{log: log, start: now, last: now})
}

// Tick tells the context's progress log that a step has done n units; a line
// (count and rate) is logged at most every ProgressEvery. Safe for concurrent use.
func Tick(ctx context.Context, step string, n int64) {
	p, ok := ctx.Value(progressKey{}).(*progress)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < ProgressEvery {
		return
	}
	p.last = now
	rate := float64(n) / now.Sub(p.start).Seconds()
	p.log.Info("progress", "step", step, "done", n, "per_second", int64(rate))
}
