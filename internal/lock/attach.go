package lock

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/store"
)

// Attach returns s carrying l: For(result) is l, and the result's
// Store.Lock takes l. Whoever opens the store (storeopen) attaches the
// configured Locker once; every package that writes through the store
// then finds it with For, so no caller can forget it.
func Attach(s store.Store, l Locker) store.Store {
	if s == nil || l == nil {
		return s
	}
	if a, ok := s.(*attached); ok {
		s = a.Store
	}
	return &attached{Store: s, locker: l}
}

// For returns the Locker attached to s, else ForStore(s): the store's own
// lock (a file lock on disk, in-process for a registry).
func For(s store.Store) Locker {
	if a, ok := s.(*attached); ok {
		return a.locker
	}
	return ForStore(s)
}

type attached struct {
	store.Store
	locker Locker
}

// Lock implements store.Store with the attached Locker (the lock is not
// watched for loss here: use For(s).Acquire and the Held's context).
func (a *attached) Lock(ctx context.Context, key string) (func(), error) {
	h, err := a.locker.Acquire(ctx, key)
	if err != nil {
		return nil, err
	}
	return func() { _ = h.Release(context.WithoutCancel(ctx)) }, nil
}

// WriteImage keeps the store's optional store.ImageWriter capability.
func (a *attached) WriteImage(ctx context.Context, repo, tag string, img v1.Image) (v1.Descriptor, error) {
	return store.WriteImage(ctx, a.Store, repo, tag, img)
}
