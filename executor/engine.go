package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/runway-ci/runway/internal/lock"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

// Engine runs workflows, tasks and launch plans as DAGs of task attempts on
// a Runner, with caching, retries, records and recovery.
type Engine struct {
	store         store.Store
	runner        Runner
	log           *slog.Logger
	now           func() time.Time
	platform      *platform.Config
	parallelism   int
	systemRetries int
	backoff       time.Duration
	maxBackoff    time.Duration
	scratch       string
	locker        lock.Locker
	// trustedKeys are public keys trusted besides the platform's (WithTrustedKeys).
	trustedKeys []string
}

// Option configures an Engine.
type Option func(*Engine) error

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(e *Engine) error {
		if l == nil {
			return errors.New("nil logger")
		}
		e.log = l
		return nil
	}
}

// WithPlatform applies the platform config: domain defaults and ceilings,
// executor parallelism, systemRetries and backoff (default: platform.Default()).
func WithPlatform(c *platform.Config) Option {
	return func(e *Engine) error {
		if c == nil {
			return errors.New("nil platform config")
		}
		e.platform = c
		if c.Executor.Parallelism < 0 || c.Executor.SystemRetries < 0 {
			return fmt.Errorf("platform executor: parallelism and systemRetries must not be negative")
		}
		if c.Executor.Parallelism > 0 {
			e.parallelism = c.Executor.Parallelism
		}
		e.systemRetries = c.Executor.SystemRetries
		if c.Executor.Backoff != "" {
			d, err := time.ParseDuration(c.Executor.Backoff)
			if err != nil || d < 0 {
				return fmt.Errorf("platform executor.backoff %q is not a duration", c.Executor.Backoff)
			}
			e.backoff = d
		}
		return nil
	}
}

// WithTrustedKeys adds public keys (PEM) the provenance check trusts
// besides the platform's trustedKeys: flow passes the signing key's own.
func WithTrustedKeys(pems ...string) Option {
	return func(e *Engine) error {
		e.trustedKeys = append(e.trustedKeys, pems...)
		return nil
	}
}

// WithParallelism sets the default number of nodes that run at once
// (default: the platform's, else the number of CPUs).
func WithParallelism(n int) Option {
	return func(e *Engine) error {
		if n < 1 {
			return fmt.Errorf("parallelism %d: must be at least 1", n)
		}
		e.parallelism = n
		return nil
	}
}

// WithBackoff sets the first retry delay and its cap; the delay doubles
// per retry (default: the platform's backoff, capped at one minute).
func WithBackoff(first, max time.Duration) Option {
	return func(e *Engine) error {
		if first < 0 || max < first {
			return fmt.Errorf("backoff %s..%s: want 0 <= first <= max", first, max)
		}
		e.backoff, e.maxBackoff = first, max
		return nil
	}
}

// WithClock sets the clock used for records (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(e *Engine) error { e.now = now; return nil }
}

// WithScratchDir sets where launch inputs are archived before upload
// (default os.TempDir()).
func WithScratchDir(dir string) Option {
	return func(e *Engine) error { e.scratch = dir; return nil }
}

// WithLocker sets the Locker of cache keys (default: the one attached to
// the store, lock.For), so that executions in separate processes run a
// cached task once per key.
func WithLocker(l lock.Locker) Option {
	return func(e *Engine) error {
		if l == nil {
			return errors.New("nil locker")
		}
		e.locker = l
		return nil
	}
}

// New returns an engine that keeps records and cache entries in s and runs
// attempts on r.
func New(s store.Store, r Runner, opts ...Option) (*Engine, error) {
	if s == nil || r == nil {
		return nil, errors.New("creating executor: a store and a runner are required")
	}
	e := &Engine{
		store:       s,
		runner:      r,
		log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		now:         time.Now,
		parallelism: runtime.NumCPU(),
		maxBackoff:  time.Minute,
	}
	if err := WithPlatform(platform.Default())(e); err != nil {
		return nil, err
	}
	for _, o := range opts {
		if err := o(e); err != nil {
			return nil, fmt.Errorf("creating executor: %w", err)
		}
	}
	if e.backoff > e.maxBackoff {
		e.maxBackoff = e.backoff
	}
	if e.locker == nil {
		e.locker = lock.For(s)
	}
	return e, nil
}

// Request is what to launch.
type Request struct {
	// Target is a task, workflow or launch plan; an empty Version means
	// the newest registered.
	Target registrar.ID
	// Inputs are raw values by name (see ParseInputArgs); they are typed
	// by the target's interface at launch.
	Inputs map[string]any
	// OverwriteCache runs every cached task again and replaces its entry.
	OverwriteCache bool
	// Parallelism overrides the engine's default when > 0.
	Parallelism int
}

// Launch resolves the target, types the inputs and writes a queued
// execution record. Anything wrong with the target or the inputs is
// returned here (wrapping ErrInvalidInput or ErrInvalidPlan), before
// anything is written or run. Execute runs the returned execution.
func (e *Engine) Launch(ctx context.Context, req Request) (*Execution, error) {
	if req.Parallelism < 0 {
		return nil, fmt.Errorf("parallelism %d: must not be negative: %w", req.Parallelism, ErrInvalidInput)
	}
	p, err := resolve(ctx, e.store, e.platform, req.Target)
	if err != nil {
		return nil, fmt.Errorf("launching %s: %w", req.Target, err)
	}
	repo := store.ExecutionRepo(p.target.Project, p.target.Domain)
	inputs, err := typeInputs(ctx, e.store, repo, e.scratch, p.inputs, req.Inputs, p.defaults)
	if err != nil {
		return nil, fmt.Errorf("launching %s: %w", p.target, err)
	}
	ex := e.newExecution(p, inputs)
	ex.OverwriteCache = req.OverwriteCache
	if req.Parallelism > 0 {
		ex.Parallelism = req.Parallelism
	}
	if err := saveExecution(ctx, e.store, ex); err != nil {
		return nil, fmt.Errorf("launching %s: %w", p.target, err)
	}
	return ex, nil
}

func (e *Engine) newExecution(p *plan, inputs Values) *Execution {
	now := e.now().UTC()
	ex := &Execution{
		ID:          NewID(now),
		Project:     p.target.Project,
		Domain:      p.target.Domain,
		Target:      p.target,
		Workflow:    p.workflow,
		Status:      StatusQueued,
		Inputs:      inputs,
		Parallelism: e.parallelism,
		Created:     now,
		plan:        p,
	}
	for _, n := range p.nodes {
		c := CacheMiss
		if n.task.Cache == nil {
			c = CacheDisabled
		}
		ex.Nodes = append(ex.Nodes, &NodeRecord{ID: n.id, Task: n.ref, Upstream: n.upstream, Status: StatusQueued, Cache: c})
	}
	return ex
}

// ErrNotRecoverable is returned when recover is asked for an execution
// that succeeded or whose owner still runs it.
var ErrNotRecoverable = errors.New("execution cannot be recovered")

// LaunchRecovery starts a new execution with the same target version,
// inputs and settings as execution id. Nodes that succeeded there keep
// their outputs (status succeeded, cache hit, RecoveredFrom set); the
// failed, aborted, skipped and never-run nodes run again when the new
// execution is executed.
func (e *Engine) LaunchRecovery(ctx context.Context, project, domain, id string) (*Execution, error) {
	old, err := Get(ctx, e.store, project, domain, id)
	if err != nil {
		return nil, fmt.Errorf("recovering: %w", err)
	}
	switch {
	case old.Status == StatusSucceeded:
		return nil, fmt.Errorf("recovering %s: it succeeded, nothing to recover: %w", id, ErrNotRecoverable)
	case !old.Status.Done() && old.Owner.PID != 0 && old.Owner.Alive():
		return nil, fmt.Errorf("recovering %s: it is still %s in process %d on %s: %w", id, old.Status, old.Owner.PID, old.Owner.Host, ErrNotRecoverable)
	}
	p, err := resolve(ctx, e.store, e.platform, old.Target)
	if err != nil {
		return nil, fmt.Errorf("recovering %s: %w", id, err)
	}
	ex := e.newExecution(p, old.Inputs)
	ex.OverwriteCache, ex.Parallelism, ex.RecoveredFrom = old.OverwriteCache, old.Parallelism, old.ID
	for _, n := range ex.Nodes {
		o := old.Node(n.ID)
		if o != nil && o.Attempts > 0 {
			// The re-run continues the failed attempt's checkpoint.
			n.Checkpoint = checkpointID(old, o)
		}
		if o == nil || o.Status != StatusSucceeded || checkOutputs(p.byID[n.ID].outputs, o.Outputs) != nil {
			continue
		}
		n.Status, n.Cache, n.CacheKey = StatusSucceeded, CacheHit, o.CacheKey
		n.Inputs, n.Outputs = o.Inputs, o.Outputs
		n.RecoveredFrom = old.ID
		if o.RecoveredFrom != "" {
			n.RecoveredFrom = o.RecoveredFrom
		}
	}
	if err := saveExecution(ctx, e.store, ex); err != nil {
		return nil, fmt.Errorf("recovering %s: %w", id, err)
	}
	return ex, nil
}

// checkpointID is the checkpoint the attempts of node n of ex use.
func checkpointID(ex *Execution, n *NodeRecord) string {
	if n != nil && n.Checkpoint != "" {
		return n.Checkpoint
	}
	id := ""
	if n != nil {
		id = n.ID
	}
	return ex.ID + "/" + id
}

// LaunchResume prepares a crashed execution to run again under its own
// ID: the runway that owned it died (its process is gone) while nodes ran.
// Succeeded nodes keep their outputs; every other node starts over at
// attempt 1, so a runner whose work is named by (execution, node,
// attempt), like the Kubernetes runner's Jobs, re-attaches to the work
// still running instead of starting it twice. Use LaunchRecovery for a
// failed or aborted execution: it starts a new one.
func (e *Engine) LaunchResume(ctx context.Context, project, domain, id string) (*Execution, error) {
	ex, err := Get(ctx, e.store, project, domain, id)
	if err != nil {
		return nil, fmt.Errorf("resuming: %w", err)
	}
	switch {
	case ex.Status.Done():
		return nil, fmt.Errorf("resuming %s: it ended (%s); use recover to re-run what did not succeed: %w", id, ex.Status, ErrNotRecoverable)
	case ex.Owner.PID != 0 && ex.Owner.Alive():
		return nil, fmt.Errorf("resuming %s: it is still %s in process %d on %s: %w", id, ex.Status, ex.Owner.PID, ex.Owner.Host, ErrNotRecoverable)
	}
	ex.Status, ex.Owner = StatusQueued, Owner{}
	for _, n := range ex.Nodes {
		if n.Status == StatusSucceeded {
			continue
		}
		n.Status, n.Attempts, n.Failure, n.Started, n.Finished = StatusQueued, 0, nil, nil, nil
	}
	if err := saveExecution(ctx, e.store, ex); err != nil {
		return nil, fmt.Errorf("resuming %s: %w", id, err)
	}
	return ex, nil
}

// Resume launches the resumption of a crashed execution and executes it.
func (e *Engine) Resume(ctx context.Context, project, domain, id string, obs Observer) (*Execution, error) {
	ex, err := e.LaunchResume(ctx, project, domain, id)
	if err != nil {
		return nil, err
	}
	return e.Execute(ctx, ex, obs)
}

// Run launches and executes req, returning the finished execution.
func (e *Engine) Run(ctx context.Context, req Request, obs Observer) (*Execution, error) {
	ex, err := e.Launch(ctx, req)
	if err != nil {
		return nil, err
	}
	return e.Execute(ctx, ex, obs)
}

// Recover launches a recovery of execution id and executes it.
func (e *Engine) Recover(ctx context.Context, project, domain, id string, obs Observer) (*Execution, error) {
	ex, err := e.LaunchRecovery(ctx, project, domain, id)
	if err != nil {
		return nil, err
	}
	return e.Execute(ctx, ex, obs)
}

// Execute runs a launched execution to its end and returns the final
// record; obs (may be nil) sees every state change. The error is non-nil
// only when runway itself could not run or record the execution; a task
// failure is reported through the record's status (failed), as is
// cancellation of ctx (aborted: every running task is stopped).
func (e *Engine) Execute(ctx context.Context, ex *Execution, obs Observer) (*Execution, error) {
	if ex == nil || ex.Status != StatusQueued {
		return nil, fmt.Errorf("executing: want a queued execution from Launch, LaunchRecovery or LaunchResume")
	}
	p := ex.plan
	if p == nil || p.target != ex.Target {
		var err error
		if p, err = resolve(ctx, e.store, e.platform, ex.Target); err != nil {
			return nil, fmt.Errorf("executing %s: %w", ex.ID, err)
		}
	}
	host, _ := os.Hostname()
	rec := newRecorder(ctx, e, ex, obs)
	rec.update(EventExecutionStarted, "", func(x *Execution) {
		now := e.now().UTC()
		x.Status, x.Started, x.Owner = StatusRunning, &now, Owner{Host: host, PID: os.Getpid()}
	})
	d := &dag{engine: e, plan: p, rec: rec}
	d.run(ctx)
	final, err := rec.finish(ctx)
	if dn, ok := e.runner.(ExecutionDoner); ok {
		dn.Done(final.ID, final.Status)
	}
	return final, err
}
