package lock

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrLost is the cause of a Held's context when the lock was lost while held:
// a renewal failed for longer than the lease allows, or another holder took
// it over. Work under the lock must stop; nothing it writes after that is
// protected.
var ErrLost = errors.New("lock lost")

// ErrReleased is the cause of a Held's context after Release.
var ErrReleased = errors.New("lock released")

// Locker hands out named exclusive locks. Acquire blocks until it holds
// key or ctx ends.
type Locker interface {
	Acquire(ctx context.Context, key string) (Held, error)
	// String names the implementation and where it keeps its state, for
	// messages ("registry claims in localhost:5000/runway").
	String() string
}

// Held is one acquired lock.
type Held interface {
	// Context is derived from the ctx given to Acquire and is cancelled,
	// with cause ErrLost, when the lock is lost, or with cause ErrReleased
	// after Release. Do every write under the lock with it.
	Context() context.Context
	// Release gives the lock up. It is idempotent; an error means the
	// lock could not be removed at once and lapses after its lease time.
	Release(ctx context.Context) error
}

// Do runs fn holding key. fn gets the Held's context; an error is returned
// when the lock was lost while fn ran, even if fn itself succeeded, since
// its writes may have raced another holder's.
func Do(ctx context.Context, l Locker, key string, fn func(ctx context.Context) error) error {
	h, err := l.Acquire(ctx, key)
	if err != nil {
		return err
	}
	ferr := fn(h.Context())
	lost := context.Cause(h.Context())
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = h.Release(rctx) // a claim left behind lapses after its lease
	if errors.Is(lost, ErrLost) {
		return errors.Join(ferr, fmt.Errorf("lock %q (%s) was lost while held: %w", key, l, ErrLost))
	}
	return ferr
}

// heldCtx is the Held bookkeeping every implementation shares: the context
// handed out and how it ends.
type heldCtx struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
}

func newHeldCtx(parent context.Context) heldCtx {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	// The holder's own ctx still bounds the work: forward its end.
	stop := context.AfterFunc(parent, func() { cancel(context.Cause(parent)) })
	go func() { <-ctx.Done(); stop() }()
	return heldCtx{ctx: ctx, cancel: cancel}
}

// backoff returns the next wait: doubled up to max, with up to 50% jitter
// taken off so that contenders spread out.
func backoff(cur, max time.Duration, jitter func(int64) int64) (wait, next time.Duration) {
	wait = cur
	if j := int64(cur) / 2; j > 0 {
		wait -= time.Duration(jitter(j))
	}
	next = cur * 2
	if next > max {
		next = max
	}
	return wait, next
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// LostOr returns err, or, when ctx (a Held's context) ended because the
// lock was lost, err joined with an error that says so (errors.Is ErrLost):
// a write that failed with "context canceled" then says why.
func LostOr(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); errors.Is(cause, ErrLost) {
		return errors.Join(err, fmt.Errorf("the lock was lost while writing; nothing written after that is trusted, run the same command again: %w", cause))
	}
	return err
}
