package flow

import (
	"context"
	"log/slog"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/executor/local"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

// RunRequest asks for one execution of a registered entity.
type RunRequest struct {
	Store    store.Store
	Platform *platform.Config
	// Runner runs task attempts; nil means the local runner.
	Runner executor.Runner
	Log    *slog.Logger
	Target registrar.ID // Version "" = the newest registered
	Inputs map[string]any
	// OverwriteCache runs cached tasks again.
	OverwriteCache bool
	Parallelism    int // 0 = the platform's, else the number of CPUs
	// Wait executes the launched record; without it the record is only
	// queued (checked and written).
	Wait     bool
	Observer executor.Observer
}

// Engine builds the execution engine for a store and runner.
func Engine(st store.Store, plat *platform.Config, r executor.Runner, log *slog.Logger, parallelism int) (*executor.Engine, error) {
	if r == nil {
		lr, err := local.New(st.String(), local.WithLogger(orDiscard(log)))
		if err != nil {
			return nil, err
		}
		r = lr
	}
	opts := []executor.Option{executor.WithLogger(orDiscard(log))}
	if plat != nil {
		opts = append(opts, executor.WithPlatform(plat))
		if parallelism == 0 {
			parallelism = plat.Executor.Parallelism
		}
	}
	if parallelism > 0 {
		opts = append(opts, executor.WithParallelism(parallelism))
	}
	return executor.New(st, r, opts...)
}

// Run launches an execution and, with Wait, runs it to the end. Inputs are
// checked against the entity's interface before anything is written.
func Run(ctx context.Context, req RunRequest) (*executor.Execution, error) {
	eng, err := Engine(req.Store, req.Platform, req.Runner, req.Log, req.Parallelism)
	if err != nil {
		return nil, err
	}
	ex, err := eng.Launch(ctx, executor.Request{Target: req.Target, Inputs: req.Inputs, OverwriteCache: req.OverwriteCache, Parallelism: req.Parallelism})
	if err != nil {
		return nil, err // Launch names the target
	}
	if !req.Wait {
		return ex, nil
	}
	return eng.Execute(ctx, ex, req.Observer)
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
