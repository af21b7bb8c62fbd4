package executor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/runway-ci/runway/internal/lock"
	"github.com/runway-ci/runway/internal/provenance"
	"github.com/runway-ci/runway/internal/store"
)

// dag schedules the nodes of one execution: ready nodes run in parallel up
// to the execution's parallelism; the first failure stops the rest
// (failFast) and cancelling ctx aborts everything.
type dag struct {
	engine *Engine
	plan   *plan
	rec    *recorder
}

type nodeResult struct {
	id      string
	outputs Values
	failed  bool
}

func (d *dag) run(ctx context.Context) {
	start := d.rec.snapshot()
	par := start.Parallelism
	if par < 1 {
		par = 1
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	outputs := map[string]Values{}
	waiting := map[string]int{}
	down := map[string][]string{}
	var ready []*planNode
	for _, n := range d.plan.nodes {
		if r := start.Node(n.id); r != nil && r.Status == StatusSucceeded {
			outputs[n.id] = r.Outputs
		}
	}
	for _, n := range d.plan.nodes {
		if _, done := outputs[n.id]; done {
			continue
		}
		for _, u := range n.upstream {
			down[u] = append(down[u], n.id)
			if _, done := outputs[u]; !done {
				waiting[n.id]++
			}
		}
		if waiting[n.id] == 0 {
			ready = append(ready, n)
		}
	}

	results := make(chan nodeResult)
	running, failed, stopping := 0, "", false
	for {
		if ctx.Err() != nil {
			stopping = true
		}
		for !stopping && running < par && len(ready) > 0 {
			n := ready[0]
			ready = ready[1:]
			in := d.bindInputs(n, start.Inputs, outputs)
			running++
			go func() { results <- d.runNode(runCtx, n, in, start.OverwriteCache, start.ID) }()
		}
		if running == 0 {
			break
		}
		r := <-results
		running--
		if r.failed {
			if failed == "" {
				failed = r.id
			}
			stopping = true
			cancel()
			continue
		}
		outputs[r.id] = r.outputs
		for _, dn := range down[r.id] {
			waiting[dn]--
			if waiting[dn] == 0 {
				ready = append(ready, d.plan.byID[dn])
			}
		}
	}

	now := d.engine.now().UTC()
	d.rec.update(EventExecutionFinished, "", func(x *Execution) {
		for _, n := range x.Nodes {
			if !n.Status.Done() {
				n.Status = StatusSkipped
			}
		}
		x.Finished = &now
		switch {
		case ctx.Err() != nil:
			x.Status, x.Error = StatusAborted, fmt.Sprintf("aborted: %v", context.Cause(ctx))
		case failed != "":
			x.Status = StatusFailed
			x.Error = fmt.Sprintf("node %q failed", failed)
			if f := x.Node(failed).Failure; f != nil {
				x.Error += ": " + f.Error()
			}
		default:
			x.Status = StatusSucceeded
			x.Outputs = Values{}
			for name, b := range d.plan.outputs {
				x.Outputs[name] = bindValue(b, x.Inputs, outputs)
			}
		}
	})
}

func (d *dag) bindInputs(n *planNode, wfInputs Values, outputs map[string]Values) Values {
	in := Values{}
	for name, b := range n.bindings {
		in[name] = bindValue(b, wfInputs, outputs)
	}
	return in
}

func bindValue(b binding, wfInputs Values, outputs map[string]Values) Value {
	switch {
	case b.literal != nil:
		return *b.literal
	case b.wfInput != "":
		return wfInputs[b.wfInput]
	}
	return outputs[b.node][b.output]
}

// runNode takes one node through cache lookup, run (with retries) and
// cache write, and records the outcome.
func (d *dag) runNode(ctx context.Context, n *planNode, in Values, overwrite bool, execID string) nodeResult {
	e := d.engine
	ex := d.rec.snapshot()
	started := e.now().UTC()
	d.rec.update(EventNodeStarted, n.id, func(x *Execution) {
		r := x.Node(n.id)
		r.Status, r.Started, r.Inputs, r.Failure, r.Attempts = StatusRunning, &started, in, nil, 0
	})
	key, err := CacheKey(ex.Project, ex.Domain, n.ref.Name, n.task, in)
	if err != nil {
		return d.finishNode(n.id, nil, &TaskError{Kind: SystemFailure, Reason: ReasonInternal, Message: err.Error(), Permanent: true}, CacheDisabled)
	}
	if key == "" {
		out, used, te := d.attempts(ctx, n, in, ex, "")
		return d.finishNodeUsed(n.id, out, te, CacheDisabled, used)
	}
	d.rec.update(EventNodeAttempt, n.id, func(x *Execution) { x.Node(n.id).CacheKey = key })
	if !overwrite {
		if out, hit, te := d.lookup(ctx, n, ex, key); te != nil {
			return d.finishNode(n.id, nil, te, CacheMiss)
		} else if hit {
			return d.finishNode(n.id, out, nil, CacheHit)
		}
	}
	// One run per cache key across processes. The task runs under the
	// caller's context, not the lock's: a lost lock only risks a second
	// run of the same key, whose entry is as valid as the first.
	held, err := e.locker.Acquire(ctx, lock.CacheKey(ex.Project, ex.Domain, key))
	if err != nil {
		return d.finishNode(n.id, nil, d.abortedOr(ctx, &TaskError{Kind: SystemFailure, Reason: ReasonStore, Message: fmt.Sprintf("locking cache key %s: %v", key, err)}), CacheMiss)
	}
	defer held.Release(context.WithoutCancel(ctx))
	if !overwrite {
		// Another execution may have run the task while this one waited.
		if out, hit, te := d.lookup(ctx, n, ex, key); te != nil {
			return d.finishNode(n.id, nil, te, CacheMiss)
		} else if hit {
			return d.finishNode(n.id, out, nil, CacheHit)
		}
	}
	out, used, te := d.attempts(ctx, n, in, ex, key)
	return d.finishNodeUsed(n.id, out, te, CacheMiss, used)
}

// lookup reads the cache, retrying store failures on the system budget.
// hit says whether an entry was found: a task with no outputs hits with
// no values, because its recorded success is what the entry caches.
func (d *dag) lookup(ctx context.Context, n *planNode, ex *Execution, key string) (out Values, hit bool, _ *TaskError) {
	e := d.engine
	for try := 0; ; try++ {
		entry, err := lookupCache(ctx, e.store, ex.Project, ex.Domain, key, n.outputs)
		switch {
		case err == nil && entry == nil:
			return nil, false, nil
		case err == nil:
			if entry.Outputs == nil {
				entry.Outputs = Values{}
			}
			return entry.Outputs, true, nil
		case errors.Is(err, errCorruptEntry):
			e.log.Warn("ignoring unusable cache entry; the task runs again", "node", n.id, "key", key, "err", err)
			return nil, false, nil
		}
		if ctx.Err() != nil || try >= e.systemRetries {
			return nil, false, d.abortedOr(ctx, &TaskError{Kind: SystemFailure, Reason: ReasonStore, Message: err.Error()})
		}
		if e.sleep(ctx, try+1) != nil {
			return nil, false, d.abortedOr(ctx, nil)
		}
	}
}

// attempts runs the task until it succeeds or its retry budgets are spent:
// user failures count against the task's retries, system failures against
// the platform's systemRetries. A successful attempt of a cached task
// counts only once its cache entry is written. It also returns what the
// successful attempt used, when the runner measured it.
func (d *dag) attempts(ctx context.Context, n *planNode, in Values, ex *Execution, key string) (Values, *Usage, *TaskError) {
	e := d.engine
	userFails, sysFails := 0, 0
	for number := 1; ; number++ {
		started := e.now().UTC()
		d.rec.update(EventNodeAttempt, n.id, func(x *Execution) {
			r := x.Node(n.id)
			r.Attempts = number
			r.AttemptLog = append(slices.Clone(r.AttemptLog), AttemptRecord{Number: number, Started: started})
		})
		res, err := e.runner.Run(ctx, Attempt{
			ExecutionID:  ex.ID,
			NodeID:       n.id,
			Number:       number,
			Project:      ex.Project,
			Domain:       ex.Domain,
			TaskRef:      n.ref,
			Task:         *n.task,
			Inputs:       in,
			Outputs:      n.outputs,
			Limits:       n.limits,
			Timeout:      n.timeout,
			DataRepo:     store.ExecutionRepo(ex.Project, ex.Domain),
			CheckpointID: checkpointID(ex, ex.Node(n.id)),
			Provenance:   provenance.RequirementFor(e.platform, ex.Domain, e.trustedKeys...),
		})
		if err == nil {
			if cerr := checkOutputs(n.outputs, res.Outputs); cerr != nil {
				err = &TaskError{Kind: UserFailure, Reason: ReasonBadOutput, Message: cerr.Error()}
			}
		}
		if err == nil && key != "" {
			werr := writeCache(ctx, e.store, ex.Project, ex.Domain, &cacheEntry{
				Key: key, Task: n.ref, Outputs: res.Outputs, Execution: ex.ID, Node: n.id, Created: e.now().UTC(),
			})
			if werr != nil {
				err = &TaskError{Kind: SystemFailure, Reason: ReasonStore, Message: werr.Error()}
			}
		}
		if err == nil {
			return res.Outputs, res.Usage, nil
		}
		if ctx.Err() != nil {
			return nil, nil, d.abortedOr(ctx, nil)
		}
		te := AsTaskError(err)
		if te.Kind == UserFailure {
			userFails++
		} else {
			sysFails++
		}
		if te.Permanent || userFails > n.task.Retries || sysFails > e.systemRetries {
			return nil, nil, te
		}
		e.log.Info("retrying task", "execution", ex.ID, "node", n.id, "attempt", number, "err", te)
		end := e.now().UTC()
		d.rec.update(EventNodeRetrying, n.id, func(x *Execution) {
			r := x.Node(n.id)
			r.Failure, r.AttemptLog = te, endAttempt(r.AttemptLog, end, te, nil)
		})
		if e.sleep(ctx, userFails+sysFails) != nil {
			return nil, nil, d.abortedOr(ctx, nil)
		}
	}
}

// abortedOr returns an Aborted error when ctx is done, else te.
func (d *dag) abortedOr(ctx context.Context, te *TaskError) *TaskError {
	if ctx.Err() != nil {
		return &TaskError{Kind: SystemFailure, Reason: ReasonAborted, Message: fmt.Sprintf("stopped: %v", context.Cause(ctx))}
	}
	return te
}

func (d *dag) finishNode(id string, out Values, te *TaskError, cache CacheStatus) nodeResult {
	return d.finishNodeUsed(id, out, te, cache, nil)
}

// finishNodeUsed is finishNode with what the last attempt used.
func (d *dag) finishNodeUsed(id string, out Values, te *TaskError, cache CacheStatus, used *Usage) nodeResult {
	now := d.engine.now().UTC()
	d.rec.update(EventNodeFinished, id, func(x *Execution) {
		r := x.Node(id)
		r.Finished, r.Cache = &now, cache
		r.AttemptLog = endAttempt(r.AttemptLog, now, te, used)
		switch {
		case te == nil:
			r.Status, r.Outputs, r.Failure = StatusSucceeded, out, nil
		case te.Reason == ReasonAborted:
			r.Status, r.Failure = StatusAborted, te
		default:
			r.Status, r.Failure = StatusFailed, te
		}
	})
	return nodeResult{id: id, outputs: out, failed: te != nil}
}

// sleep waits the backoff before retry number n (1-based): the first
// delay doubled per retry, capped.
func (e *Engine) sleep(ctx context.Context, n int) error {
	d := e.backoff
	for i := 1; i < n && d < e.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, e.maxBackoff)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
