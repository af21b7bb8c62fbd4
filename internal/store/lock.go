package store

import (
	"context"
	"fmt"
	"sync"
)

// KeyedLocker hands out exclusive in-process locks by name. The zero value is
// ready to use. Backends use it for Store.Lock: Remote relies on it alone (a
// registry has no compare-and-swap), Layout takes it before its file lock so
// that goroutines of one process queue here, where waiting honours ctx.
type KeyedLocker struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	ch   chan struct{} // holds one token while the lock is held
	refs int           // holders plus waiters; the entry is dropped at zero
}

// Lock blocks until it holds the lock named key or ctx is done. The returned
// function releases the lock; calling it more than once is harmless.
func (k *KeyedLocker) Lock(ctx context.Context, key string) (unlock func(), err error) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{ch: make(chan struct{}, 1)}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()

	select {
	case l.ch <- struct{}{}:
	case <-ctx.Done():
		k.release(key, l)
		return nil, fmt.Errorf("waiting for lock %q: %w", key, ctx.Err())
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-l.ch
			k.release(key, l)
		})
	}, nil
}

func (k *KeyedLocker) release(key string, l *keyedLock) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l.refs--
	if l.refs == 0 {
		delete(k.locks, key)
	}
}
