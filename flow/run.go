package flow

import (
	"context"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/registrar"
)

// RunRequest asks for one execution of a registered entity.
type RunRequest struct {
	Target registrar.ID // Version "" = the newest registered
	Inputs map[string]any
	// Executor is local or kubernetes ("" = the platform's executor.kind).
	Executor string
	// Runner replaces the runner Executor names (tests).
	Runner executor.Runner
	// OverwriteCache runs cached tasks again.
	OverwriteCache bool
	Parallelism    int // 0 = the platform's
	// Wait executes the launched record; without it the record is only
	// queued (checked and written).
	Wait     bool
	Observer executor.Observer
}

// Run launches an execution and, with Wait, runs it to the end. Inputs are
// checked against the entity's interface before anything is written.
func Run(ctx context.Context, p *Project, req RunRequest) (*executor.Execution, error) {
	if err := p.CheckDomain(req.Target.Domain); err != nil {
		return nil, err
	}
	runner, done := req.Runner, func() {}
	if runner == nil {
		var err error
		if runner, done, err = p.Runner(req.Executor); err != nil {
			return nil, err
		}
	}
	defer done()
	eng, err := p.Engine(runner, req.Parallelism)
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
