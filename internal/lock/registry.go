package lock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/store"
)

// Registry claim protocol defaults; each has an option.
const (
	DefaultTTL        = 30 * time.Second
	DefaultBackoffMin = 25 * time.Millisecond
	DefaultBackoffMax = 500 * time.Millisecond
)

// ArtifactTypeClaim is the artifactType of a claim manifest.
const ArtifactTypeClaim = "application/vnd.runway.lock.claim.v1+json"

// Registry is the registry claim protocol (see the package doc): a Locker
// for teams with a registry and no cluster. Create it with NewRegistry.
type Registry struct {
	store      store.Store
	ttl        time.Duration
	backoffMin time.Duration
	backoffMax time.Duration
	holder     string
	log        *slog.Logger
	jitter     func(int64) int64
	byDigest   atomic.Bool // the registry refused to delete a tag by name
}

// RegistryOption configures NewRegistry.
type RegistryOption func(*Registry) error

// WithTTL sets the lease time: how long a claim that stopped being renewed
// blocks others (default 30s). A holder renews every ttl/4 and gives the
// lock up (ErrLost) when it could not renew for ttl*3/4.
func WithTTL(ttl time.Duration) RegistryOption {
	return func(r *Registry) error {
		if ttl < 200*time.Millisecond {
			return fmt.Errorf("lock ttl %s is too short (at least 200ms)", ttl)
		}
		r.ttl = ttl
		return nil
	}
}

// WithBackoff sets the wait between attempts while another holds the lock.
func WithBackoff(min, max time.Duration) RegistryOption {
	return func(r *Registry) error {
		if min <= 0 || max < min {
			return fmt.Errorf("lock backoff: want 0 < min <= max, got %s and %s", min, max)
		}
		r.backoffMin, r.backoffMax = min, max
		return nil
	}
}

// WithHolder sets the identity written into claims (default host/pid).
func WithHolder(id string) RegistryOption {
	return func(r *Registry) error { r.holder = id; return nil }
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) RegistryOption {
	return func(r *Registry) error {
		if l == nil {
			return errors.New("lock: nil logger")
		}
		r.log = l
		return nil
	}
}

// NewRegistry returns the claim-protocol Locker on s.
func NewRegistry(s store.Store, opts ...RegistryOption) (*Registry, error) {
	if s == nil {
		return nil, errors.New("lock: nil store")
	}
	r := &Registry{
		store: s, ttl: DefaultTTL, backoffMin: DefaultBackoffMin, backoffMax: DefaultBackoffMax,
		holder: DefaultHolder(), log: slog.New(slog.DiscardHandler),
		jitter: func(n int64) int64 { return mrand.Int64N(n) },
	}
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// DefaultHolder names this process: "host/pid".
func DefaultHolder() string {
	h, _ := os.Hostname()
	return h + "/" + strconv.Itoa(os.Getpid())
}

func (r *Registry) String() string { return "registry claims in " + r.store.String() }

// A claim is one contender's: "claim-<order>-<random>" names it, and each
// write of it is a new tag "claim-<order>-<random>-<seq>" (seq in hex,
// growing), written before the previous one is deleted, so the claim is
// listed continuously from its first write to its release, and a tag list
// alone shows whether its holder is alive: a live holder's seq grows.
type claim struct {
	r     *Registry
	key   string
	repo  string
	id    string // "claim-<order>-<random>"
	seq   int
	tag   string // the current tag, "" when not written
	wrote time.Time
}

func (c *claim) tagFor(seq int) string { return fmt.Sprintf("%s-%08x", c.id, seq) }

// parseClaimTag splits "claim-<order>-<random>-<seq>" into the claim id and
// its sequence number.
func parseClaimTag(tag string) (id string, seq int, ok bool) {
	if !strings.HasPrefix(tag, store.LockClaimTagPrefix) {
		return "", 0, false
	}
	i := strings.LastIndexByte(tag, '-')
	if i < len(store.LockClaimTagPrefix) {
		return "", 0, false
	}
	n, err := strconv.ParseInt(tag[i+1:], 16, 64)
	if err != nil {
		return "", 0, false
	}
	return tag[:i], int(n), true
}

// observation is what a contender saw of another claim: its highest
// sequence number and when (on this process's monotonic clock) it first
// saw that number.
type observation struct {
	seq   int
	since time.Time
}

// view is one reading of the claim repository.
type view struct {
	mine   bool     // our current tag is listed
	others []string // ids of other live claims
	older  bool     // one of them queued before us
}

// Acquire implements Locker with the claim protocol of the package doc.
func (r *Registry) Acquire(ctx context.Context, key string) (Held, error) {
	// The order part is fixed for the whole wait: when two claims meet,
	// the older stays and the younger withdraws.
	c := &claim{r: r, key: key, repo: store.LockRepo(key),
		id: fmt.Sprintf("%s%016x-%s", store.LockClaimTagPrefix, time.Now().UnixNano(), randomHex(8))}
	seen := map[string]observation{}
	wait := r.backoffMin
	fail := func(err error) (Held, error) {
		_ = c.remove(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("acquiring lock %q (%s): %w", key, r, err)
	}
	for attempt := 1; ; attempt++ {
		v, err := r.look(ctx, c, seen)
		if err != nil {
			return fail(err)
		}
		switch {
		case c.tag == "" && len(v.others) == 0:
			// The room looks empty: claim, then look again.
			if err := c.write(ctx); err != nil {
				return fail(err)
			}
			if v, err = r.look(ctx, c, seen); err != nil {
				return fail(err)
			}
			if v.mine && len(v.others) == 0 && time.Since(c.wrote) < r.deadline() {
				r.log.Debug("lock acquired", "key", key, "claim", c.repo+":"+c.tag, "attempts", attempt)
				return c.hold(ctx), nil
			}
			if v.older || !v.mine {
				if err := c.remove(ctx); err != nil {
					return fail(err)
				}
			}
		case c.tag != "" && v.older:
			if err := c.remove(ctx); err != nil {
				return fail(err)
			}
		case c.tag != "":
			// We are the oldest claim: stay, keep it fresh, and win once
			// the younger ones have withdrawn (or the holder released).
			if err := c.write(ctx); err != nil {
				return fail(err)
			}
			if v, err = r.look(ctx, c, seen); err != nil {
				return fail(err)
			}
			if v.mine && len(v.others) == 0 && time.Since(c.wrote) < r.deadline() {
				r.log.Debug("lock acquired", "key", key, "claim", c.repo+":"+c.tag, "attempts", attempt)
				return c.hold(ctx), nil
			}
		}
		var d time.Duration
		d, wait = backoff(wait, r.backoffMax, r.jitter)
		if err := sleep(ctx, d); err != nil {
			return fail(fmt.Errorf("waiting: %w", err))
		}
	}
}

// deadline is how long after a claim write began its holder may still
// rely on it: three quarters of the lease, so that a holder stops before
// any contender, counting the full ttl on its own clock from a later
// instant, can think the claim dead.
func (r *Registry) deadline() time.Duration { return r.ttl * 3 / 4 }

// look lists the claims. A claim whose sequence number this contender has
// seen unchanged for longer than the lease belongs to a dead holder: its
// tags are deleted and it does not count.
func (r *Registry) look(ctx context.Context, c *claim, seen map[string]observation) (view, error) {
	tags, err := r.store.Tags(ctx, c.repo)
	if err != nil {
		return view{}, err
	}
	var v view
	top := map[string]int{}
	byID := map[string][]string{}
	for _, t := range tags {
		id, seq, ok := parseClaimTag(t)
		if !ok {
			continue
		}
		if id == c.id {
			v.mine = v.mine || t == c.tag
			continue
		}
		if cur, ok := top[id]; !ok || seq > cur {
			top[id] = seq
		}
		byID[id] = append(byID[id], t)
	}
	now := time.Now()
	for id, seq := range top {
		o, ok := seen[id]
		if !ok || o.seq != seq {
			seen[id] = observation{seq: seq, since: now}
		} else if now.Sub(o.since) > r.ttl {
			r.log.Warn("removing the claim of a holder that stopped renewing", "key", c.key, "claim", c.repo+":"+id, "unchanged for", now.Sub(o.since).Round(time.Millisecond))
			for _, t := range byID[id] {
				if err := r.deleteTag(ctx, c.repo, t); err != nil && !errors.Is(err, store.ErrNotFound) {
					return view{}, fmt.Errorf("removing the stale claim %s:%s (the claim protocol needs a registry that deletes tags): %w", c.repo, t, err)
				}
			}
			delete(seen, id)
			continue
		}
		v.others = append(v.others, id)
		v.older = v.older || id < c.id
	}
	return v, nil
}

// write puts the claim under its next tag, then deletes the previous tag:
// the new sequence number tells observers the holder is alive.
func (c *claim) write(ctx context.Context) error {
	start := time.Now()
	next := c.tagFor(c.seq + 1)
	_, err := store.PutArtifact(ctx, c.r.store, c.repo, next, store.Artifact{
		ArtifactType: ArtifactTypeClaim,
		Layers:       []store.Blob{{MediaType: store.MediaTypeEmptyJSON, Data: store.EmptyJSON}},
		Annotations: map[string]string{
			store.AnnotationLockKey:    c.key,
			store.AnnotationLockHolder: c.r.holder + " " + c.id, // unique to this claim: see deleteTag
			store.AnnotationLockSeq:    strconv.Itoa(c.seq + 1),
			store.AnnotationLockTTL:    c.r.ttl.String(),
		},
	})
	if err != nil {
		return fmt.Errorf("writing claim %s:%s: %w", c.repo, next, err)
	}
	prev := c.tag
	c.seq, c.tag, c.wrote = c.seq+1, next, start
	if prev != "" {
		if err := c.r.deleteTag(ctx, c.repo, prev); err != nil && !errors.Is(err, store.ErrNotFound) {
			c.r.log.Debug("removing a previous claim tag failed; it lapses", "claim", c.repo+":"+prev, "err", err)
		}
	}
	return nil
}

// remove withdraws the claim: every tag of it.
func (c *claim) remove(ctx context.Context) error {
	if c.tag == "" {
		return nil
	}
	tag := c.tag
	c.tag = ""
	err := c.r.deleteTag(ctx, c.repo, tag)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("removing claim %s:%s: %w", c.repo, tag, err)
	}
	return nil
}

// hold starts renewing a won claim.
func (c *claim) hold(ctx context.Context) *registryHeld {
	h := &registryHeld{heldCtx: newHeldCtx(ctx), c: c, stopped: make(chan struct{})}
	go h.renew()
	return h
}

type registryHeld struct {
	heldCtx
	c       *claim
	once    sync.Once
	stopped chan struct{}
}

func (h *registryHeld) Context() context.Context { return h.ctx }

// renew rewrites the claim every ttl/4. The lock is lost (ErrLost) once no
// renewal has succeeded for the deadline; it never writes after that, which
// would resurrect a claim another contender may already have removed.
func (h *registryHeld) renew() {
	defer close(h.stopped)
	r := h.c.r
	every := r.ttl / 4
	for {
		t := time.NewTimer(every)
		select {
		case <-h.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		for {
			last := h.c.wrote
			if time.Since(last) >= r.deadline() {
				r.log.Warn("lock lost: the claim could not be renewed in time", "key", h.c.key, "claim", h.c.repo+":"+h.c.id)
				h.cancel(ErrLost)
				return
			}
			wctx, cancel := context.WithDeadline(h.ctx, last.Add(r.deadline()))
			err := h.c.write(wctx)
			cancel()
			if err == nil {
				break
			}
			if h.ctx.Err() != nil {
				return
			}
			r.log.Warn("renewing lock claim failed; retrying", "key", h.c.key, "err", err)
			if sleep(h.ctx, r.backoffMin) != nil {
				return
			}
		}
	}
}

func (h *registryHeld) Release(ctx context.Context) error {
	var err error
	h.once.Do(func() {
		h.cancel(ErrReleased)
		<-h.stopped
		// Removing our own claim is safe even after the lock was lost: it
		// only ever takes a claim away.
		err = h.c.remove(ctx)
	})
	return err
}

// deleteTag removes a claim tag: by name, or, on registries that refuse
// that (distribution 2.x), by deleting its manifest, which is unique to the
// tag (the holder annotation names the claim, the seq annotation the
// write), so no other tag goes with it.
//
// distribution 2.8 deletes the manifest first and untags second, and the
// untagging fails (500) when another tag of the repository is deleted at
// the same moment; the retried DELETE then finds no manifest, and the tag
// stays listed with nothing behind it. A claim tag left like that would
// count as a claim forever, so when a tag is still listed after its
// deletion, it is repaired: a fresh tombstone manifest is put under it and
// deleted by digest, at most three times.
func (r *Registry) deleteTag(ctx context.Context, repo, tag string) error {
	md, canByDigest := r.store.(store.ManifestDeleter)
	if !r.byDigest.Load() || !canByDigest {
		err := r.store.DeleteTag(ctx, repo, tag)
		if err == nil || errors.Is(err, store.ErrNotFound) || !canByDigest {
			return err
		}
		r.byDigest.Store(true) // this registry deletes by digest only
	}
	var last error
	for try := 0; try < 3; try++ {
		var d v1.Hash
		if try == 0 {
			desc, err := r.store.HeadManifest(ctx, repo, tag)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			d = desc.Digest
		} else {
			// Repair: give the tag a manifest of its own again.
			desc, err := store.PutArtifact(ctx, r.store, repo, tag, store.Artifact{
				ArtifactType: ArtifactTypeClaim,
				Layers:       []store.Blob{{MediaType: store.MediaTypeEmptyJSON, Data: store.EmptyJSON}},
				Annotations:  map[string]string{store.AnnotationLockHolder: "tombstone " + tag + " " + randomHex(8)},
			})
			if err != nil {
				return fmt.Errorf("repairing claim tag %s:%s: %w", repo, tag, err)
			}
			d = desc.Digest
		}
		if d.Hex != "" {
			if err := md.DeleteManifest(ctx, repo, d); err != nil && !errors.Is(err, store.ErrNotFound) {
				last = err
			}
		}
		tags, err := r.store.Tags(ctx, repo)
		if err != nil {
			return err
		}
		if !slices.Contains(tags, tag) {
			return nil
		}
	}
	return fmt.Errorf("claim tag %s:%s is still listed after deleting it three times: %w", repo, tag, errors.Join(last, errors.New("the registry does not untag")))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
