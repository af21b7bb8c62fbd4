// Package kubelease is the Locker on a Kubernetes cluster: one
// coordination.k8s.io/v1 Lease per lock key, taken and renewed with
// compare-and-swap on resourceVersion, the cluster's own CAS (the same
// mechanism as client-go's leader election).
//
// Acquire creates the Lease (AlreadyExists: someone else did, look again),
// or takes over a Lease whose holder released it (empty holderIdentity) or
// stopped renewing it. "Stopped renewing" is judged as leader election
// does, on the waiter's own monotonic clock, never by comparing the
// holder's renewTime with the waiter's wall clock: a Lease whose
// resourceVersion has not changed for leaseDurationSeconds since this
// waiter first saw that resourceVersion is expired. Every write is an
// Update carrying the resourceVersion that was read, so two waiters that
// both see an expired Lease cannot both take it: the second gets a
// Conflict.
//
// The holder renews every quarter lease and gives the lock up (its
// context is cancelled with lock.ErrLost) when a renewal is refused with a
// Conflict (someone took the Lease) or no renewal has succeeded for three
// quarters of the lease. Release deletes the Lease with a precondition on
// its uid and resourceVersion, so it never deletes a Lease someone else
// holds. A holder killed with -9 blocks others for one lease duration.
//
// RBAC: get, create, update and delete on leases in the lock namespace
// (deploy/rbac.yaml, Role runway-locks).
//
// Layer: an internal package (see README.md). It imports the standard
// library, third-party modules and other internal packages only: never a
// domain package, never flow, a presentation package (prbot, ui) or an entry
// point (cmd/, action/, server/). Only its tests import test kits
// (internal/testkit/...); internal/archtest checks this.
package kubelease

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/runway-ci/runway/internal/kubenames"
	"github.com/runway-ci/runway/internal/lock"
)

// Defaults; each has an option.
const (
	DefaultNamespace = "runway-system"
	DefaultTTL       = 15 * time.Second
	backoffMin       = 25 * time.Millisecond
	backoffMax       = 500 * time.Millisecond
)

// Locker takes Leases in one namespace. Create it with New.
type Locker struct {
	client    kubernetes.Interface
	namespace string
	ttl       time.Duration
	holder    string
	log       *slog.Logger
}

// Option configures New.
type Option func(*Locker) error

// WithNamespace sets the namespace of the Leases (default "runway-system",
// where deploy/rbac.yaml grants them).
func WithNamespace(ns string) Option {
	return func(l *Locker) error {
		if ns == "" {
			return errors.New("kubelease: empty namespace")
		}
		l.namespace = ns
		return nil
	}
}

// WithTTL sets leaseDurationSeconds (whole seconds, at least 1s).
func WithTTL(ttl time.Duration) Option {
	return func(l *Locker) error {
		if ttl < time.Second {
			return fmt.Errorf("kubelease: lease time %s is under the Lease's 1s resolution", ttl)
		}
		l.ttl = ttl.Truncate(time.Second)
		return nil
	}
}

// WithHolder sets holderIdentity (default host/pid plus a random suffix).
func WithHolder(id string) Option {
	return func(l *Locker) error { l.holder = id; return nil }
}

// WithLogger sets the logger (default: discard).
func WithLogger(log *slog.Logger) Option {
	return func(l *Locker) error {
		if log == nil {
			return errors.New("kubelease: nil logger")
		}
		l.log = log
		return nil
	}
}

// New returns a Lease Locker using client.
func New(client kubernetes.Interface, opts ...Option) (*Locker, error) {
	if client == nil {
		return nil, errors.New("kubelease: nil client")
	}
	l := &Locker{client: client, namespace: DefaultNamespace, ttl: DefaultTTL,
		holder: lock.DefaultHolder() + "/" + fmt.Sprintf("%08x", mrand.Uint32()), log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if err := o(l); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (l *Locker) String() string { return "Kubernetes Leases in namespace " + l.namespace }

var unsafeChars = regexp.MustCompile(`[^a-z0-9-]+`)

// LeaseName maps a lock key to a Lease name: a readable part of the key
// and 16 hex of its sha256, a valid DNS-1123 subdomain.
func LeaseName(key string) string {
	sum := sha256.Sum256([]byte(key))
	readable := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(key), "-"), "-")
	if len(readable) > 40 {
		readable = strings.TrimRight(readable[:40], "-")
	}
	return "runway-" + readable + "-" + hex.EncodeToString(sum[:8])
}

func (l *Locker) deadline() time.Duration { return l.ttl * 3 / 4 }

// Acquire implements lock.Locker.
func (l *Locker) Acquire(ctx context.Context, key string) (lock.Held, error) {
	name := LeaseName(key)
	leases := l.client.CoordinationV1().Leases(l.namespace)
	secs := int32(l.ttl / time.Second)
	var seenRV string
	var seenAt time.Time
	wait := backoffMin
	for {
		start := time.Now()
		now := metav1.NewMicroTime(start)
		cur, err := leases.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			le := &coordv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: l.namespace, Labels: map[string]string{kubenames.LabelLock: kubenames.LabelValue(key)},
					Annotations: map[string]string{kubenames.AnnotationLockKey: key}},
				Spec: coordv1.LeaseSpec{HolderIdentity: &l.holder, LeaseDurationSeconds: &secs, AcquireTime: &now, RenewTime: &now},
			}
			got, err := leases.Create(ctx, le, metav1.CreateOptions{})
			if err == nil {
				return l.hold(ctx, key, got, start), nil
			}
			if !apierrors.IsAlreadyExists(err) {
				return nil, l.errorf(key, "creating Lease %s/%s: %w", l.namespace, name, err)
			}
			continue
		case err != nil:
			return nil, l.errorf(key, "reading Lease %s/%s: %w", l.namespace, name, err)
		}
		free := cur.Spec.HolderIdentity == nil || *cur.Spec.HolderIdentity == ""
		if !free {
			if cur.ResourceVersion != seenRV {
				seenRV, seenAt = cur.ResourceVersion, start
			} else if dur := leaseDuration(cur); start.Sub(seenAt) > dur {
				l.log.Warn("taking over a Lease whose holder stopped renewing", "lease", name, "holder", *cur.Spec.HolderIdentity, "unchanged for", start.Sub(seenAt).Round(time.Millisecond))
				free = true
			}
		}
		if free {
			next := cur.DeepCopy()
			next.Spec.HolderIdentity, next.Spec.LeaseDurationSeconds = &l.holder, &secs
			next.Spec.AcquireTime, next.Spec.RenewTime = &now, &now
			got, err := leases.Update(ctx, next, metav1.UpdateOptions{})
			if err == nil {
				return l.hold(ctx, key, got, start), nil
			}
			if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
				return nil, l.errorf(key, "taking Lease %s/%s: %w", l.namespace, name, err)
			}
			continue // someone else wrote it first: look again
		}
		var d time.Duration
		d, wait = jittered(wait)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, l.errorf(key, "waiting for Lease %s/%s held by %s: %w", l.namespace, name, *cur.Spec.HolderIdentity, ctx.Err())
		case <-t.C:
		}
	}
}

func (l *Locker) errorf(key, format string, args ...any) error {
	return fmt.Errorf("acquiring lock %q (%s): %w", key, l, fmt.Errorf(format, args...))
}

func leaseDuration(le *coordv1.Lease) time.Duration {
	if le.Spec.LeaseDurationSeconds == nil || *le.Spec.LeaseDurationSeconds <= 0 {
		return DefaultTTL
	}
	return time.Duration(*le.Spec.LeaseDurationSeconds) * time.Second
}

func jittered(cur time.Duration) (wait, next time.Duration) {
	wait = cur - time.Duration(mrand.Int64N(int64(cur)/2+1))
	next = min(cur*2, backoffMax)
	return wait, next
}

type held struct {
	l       *Locker
	key     string
	ctx     context.Context
	cancel  context.CancelCauseFunc
	mu      sync.Mutex
	lease   *coordv1.Lease
	once    sync.Once
	stopped chan struct{}
}

func (l *Locker) hold(ctx context.Context, key string, le *coordv1.Lease, wrote time.Time) *held {
	hctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })
	h := &held{l: l, key: key, ctx: hctx, cancel: cancel, lease: le, stopped: make(chan struct{})}
	go func() { <-hctx.Done(); stop() }()
	go h.renew(wrote)
	return h
}

func (h *held) Context() context.Context { return h.ctx }

func (h *held) renew(last time.Time) {
	defer close(h.stopped)
	l := h.l
	leases := l.client.CoordinationV1().Leases(l.namespace)
	for {
		t := time.NewTimer(l.ttl / 4)
		select {
		case <-h.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		for {
			start := time.Now()
			if start.Sub(last) >= l.deadline() {
				l.log.Warn("lock lost: the Lease could not be renewed in time", "key", h.key, "lease", h.lease.Name)
				h.cancel(lock.ErrLost)
				return
			}
			h.mu.Lock()
			next := h.lease.DeepCopy()
			h.mu.Unlock()
			now := metav1.NewMicroTime(start)
			next.Spec.RenewTime = &now
			wctx, cancel := context.WithDeadline(h.ctx, last.Add(l.deadline()))
			got, err := leases.Update(wctx, next, metav1.UpdateOptions{})
			cancel()
			if err == nil {
				h.mu.Lock()
				h.lease = got
				h.mu.Unlock()
				last = start
				break
			}
			if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
				l.log.Warn("lock lost: the Lease was taken over", "key", h.key, "lease", h.lease.Name, "err", err)
				h.cancel(lock.ErrLost)
				return
			}
			if h.ctx.Err() != nil {
				return
			}
			l.log.Warn("renewing Lease failed; retrying", "key", h.key, "err", err)
			time.Sleep(backoffMin)
		}
	}
}

// Release implements lock.Held: it deletes the Lease if it is still ours.
func (h *held) Release(ctx context.Context) error {
	var err error
	h.once.Do(func() {
		h.cancel(lock.ErrReleased)
		<-h.stopped
		h.mu.Lock()
		le := h.lease
		h.mu.Unlock()
		uid, rv := le.UID, le.ResourceVersion
		derr := h.l.client.CoordinationV1().Leases(h.l.namespace).Delete(ctx, le.Name,
			metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
		if derr != nil && !apierrors.IsNotFound(derr) && !apierrors.IsConflict(derr) {
			err = fmt.Errorf("releasing Lease %s/%s: %w", h.l.namespace, le.Name, derr)
		}
	})
	return err
}
