package executor

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// EventType names a state change of an execution.
type EventType string

// Event types, in the order they happen for one node.
const (
	EventExecutionStarted  EventType = "execution-started"
	EventNodeStarted       EventType = "node-started"
	EventNodeAttempt       EventType = "node-attempt"
	EventNodeRetrying      EventType = "node-retrying"
	EventNodeFinished      EventType = "node-finished"
	EventExecutionFinished EventType = "execution-finished"
)

// Event is one state change. Execution and Node are snapshots that the
// observer may keep; Node is nil for execution events.
type Event struct {
	Type      EventType
	Execution *Execution
	Node      *NodeRecord
}

// Observer sees every state change of an execution, in order. Observe is
// called synchronously: it must return quickly and must not call the engine.
type Observer interface {
	Observe(Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Event)

// Observe calls f.
func (f ObserverFunc) Observe(ev Event) { f(ev) }

// recorder owns the execution record while it runs: every change goes
// through update, which notifies the observer and marks the record dirty.
// One goroutine writes dirty records to the store, so a burst of changes
// costs one write; finish writes the final record synchronously.
type recorder struct {
	e     *Engine
	obs   Observer
	mu    sync.Mutex
	ex    *Execution
	dirty chan struct{}
	stop  chan struct{}
	done  chan struct{}
}

func newRecorder(ctx context.Context, e *Engine, ex *Execution, obs Observer) *recorder {
	r := &recorder{e: e, obs: obs, ex: ex.clone(), dirty: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go r.saveLoop(context.WithoutCancel(ctx))
	return r
}

// saveInterval is the least time between two progress writes of a
// record; the final write is not delayed.
const saveInterval = 100 * time.Millisecond

func (r *recorder) saveLoop(ctx context.Context) {
	defer close(r.done)
	for {
		select {
		case <-r.stop:
			return
		case <-r.dirty:
			t := time.NewTimer(saveInterval)
			select {
			case <-r.stop:
				t.Stop()
				return
			case <-t.C:
			}
			snap := r.snapshot()
			if err := saveExecution(ctx, r.e.store, snap); err != nil {
				r.e.log.Warn("saving execution record", "execution", snap.ID, "err", err)
			}
		}
	}
}

// update applies f to the record under the lock and notifies the observer.
// For node events, node names the node whose snapshot goes with the event.
func (r *recorder) update(t EventType, node string, f func(*Execution)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r.ex)
	select {
	case r.dirty <- struct{}{}:
	default:
	}
	if r.obs == nil {
		return
	}
	ev := Event{Type: t, Execution: r.ex.clone()}
	if node != "" {
		ev.Node = ev.Execution.Node(node)
	}
	r.obs.Observe(ev)
}

func (r *recorder) snapshot() *Execution {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ex.clone()
}

// finish stops the background writer and writes the final record. The
// write uses a context that outlives ctx, so an aborted execution is
// recorded as aborted.
func (r *recorder) finish(ctx context.Context) (*Execution, error) {
	close(r.stop)
	<-r.done
	snap := r.snapshot()
	if err := saveExecution(context.WithoutCancel(ctx), r.e.store, snap); err != nil {
		return snap, fmt.Errorf("recording execution %s: %w", snap.ID, err)
	}
	return snap, nil
}

// clone copies the record deeply enough for a snapshot: node records are
// copied, and the maps and pointers they hold are only ever replaced,
// never changed in place.
func (x *Execution) clone() *Execution {
	c := *x
	c.Nodes = make([]*NodeRecord, len(x.Nodes))
	for i, n := range x.Nodes {
		nc := *n
		c.Nodes[i] = &nc
	}
	return &c
}
