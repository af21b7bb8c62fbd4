package lock

import (
	"context"
	"sync"

	"github.com/runway-ci/runway/internal/store"
)

// Process is an in-process Locker: it orders the goroutines of one process
// and nothing else. Use it in tests and for single-process use (--lock
// process); two CI jobs share no memory, so it protects nothing between
// them. The zero value is ready to use.
type Process struct {
	locks store.KeyedLocker
}

// Acquire implements Locker. A process lock is never lost.
func (p *Process) Acquire(ctx context.Context, key string) (Held, error) {
	unlock, err := p.locks.Lock(ctx, key)
	if err != nil {
		return nil, err
	}
	return newFuncHeld(ctx, unlock), nil
}

func (p *Process) String() string { return "in-process locks" }

// ForStore adapts a store's own Store.Lock: a file lock shared by every
// process using the same on-disk store (package layout), an in-process lock
// for a registry (package remote). It is the default of the domain
// packages when no Locker is configured, and what --lock auto picks for an
// on-disk store.
func ForStore(s store.Store) Locker { return storeLocker{s} }

type storeLocker struct{ s store.Store }

func (l storeLocker) Acquire(ctx context.Context, key string) (Held, error) {
	unlock, err := l.s.Lock(ctx, key)
	if err != nil {
		return nil, err
	}
	return newFuncHeld(ctx, unlock), nil
}

func (l storeLocker) String() string { return "the store's own locks (" + l.s.String() + ")" }

// funcHeld is a lock released by calling a function; it is never lost.
type funcHeld struct {
	heldCtx
	once   sync.Once
	unlock func()
}

func newFuncHeld(ctx context.Context, unlock func()) *funcHeld {
	return &funcHeld{heldCtx: newHeldCtx(ctx), unlock: unlock}
}

func (h *funcHeld) Context() context.Context { return h.ctx }

func (h *funcHeld) Release(context.Context) error {
	h.once.Do(func() {
		h.cancel(ErrReleased)
		h.unlock()
	})
	return nil
}
