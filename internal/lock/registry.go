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
	"strconv"
	"strings"
	"sync"
	"time"

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

// observation is what a contender saw of another claim: its manifest
// digest and when (on this process's monotonic clock) it first saw it.
type observation struct {
	digest string
	since  time.Time
}

// Acquire implements Locker with the claim protocol of the package doc.
func (r *Registry) Acquire(ctx context.Context, key string) (Held, error) {
	repo := store.LockRepo(key)
	// The order part is fixed for the whole wait: the oldest contender
	// keeps its claim while younger ones withdraw, which keeps the queue
	// moving (bakery style); safety never depends on it.
	tag := fmt.Sprintf("%s%016x-%s", store.LockClaimTagPrefix, time.Now().UnixNano(), randomHex(8))
	c := &claim{r: r, key: key, repo: repo, tag: tag}
	seen := map[string]observation{}
	wait := r.backoffMin
	for attempt := 1; ; attempt++ {
		wrote := time.Now()
		if err := c.write(ctx); err != nil {
			return nil, fmt.Errorf("acquiring lock %q (%s): %w", key, r, err)
		}
		won, older, err := r.inspect(ctx, c, seen)
		if err != nil {
			c.remove(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("acquiring lock %q (%s): %w", key, r, err)
		}
		if won && time.Since(wrote) < r.deadline() {
			r.log.Debug("lock acquired", "key", key, "claim", repo+":"+tag, "attempts", attempt)
			return c.hold(ctx, wrote), nil
		}
		if older {
			// Someone queued before us: step aside until our next turn.
			c.remove(ctx)
		}
		var d time.Duration
		d, wait = backoff(wait, r.backoffMax, r.jitter)
		if err := sleep(ctx, d); err != nil {
			c.remove(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("waiting for lock %q (%s): %w", key, r, err)
		}
	}
}

// deadline is how long after a claim write began its holder may still
// rely on it: three quarters of the lease, so that a holder stops before
// any contender, counting the full ttl on its own clock from a later
// instant, can think the claim dead.
func (r *Registry) deadline() time.Duration { return r.ttl * 3 / 4 }

// inspect lists the claims and decides: won when ours is listed and no other
// live claim is; older when a live claim queued before ours. Claims seen
// unchanged for longer than the ttl belong to dead holders and are removed.
func (r *Registry) inspect(ctx context.Context, c *claim, seen map[string]observation) (won, older bool, err error) {
	tags, err := r.store.Tags(ctx, c.repo)
	if err != nil {
		return false, false, err
	}
	mine := false
	live := 0
	for _, t := range tags {
		if !strings.HasPrefix(t, store.LockClaimTagPrefix) {
			continue
		}
		if t == c.tag {
			mine = true
			continue
		}
		desc, err := r.store.HeadManifest(ctx, c.repo, t)
		if errors.Is(err, store.ErrNotFound) {
			continue // released between the list and now
		}
		if err != nil {
			return false, false, err
		}
		now := time.Now()
		o, ok := seen[t]
		if !ok || o.digest != desc.Digest.String() {
			seen[t] = observation{digest: desc.Digest.String(), since: now}
			live++
			older = older || t < c.tag
			continue
		}
		if now.Sub(o.since) <= r.ttl {
			live++
			older = older || t < c.tag
			continue
		}
		// Unchanged for a whole lease: its holder is gone.
		r.log.Warn("removing the claim of a holder that stopped renewing", "key", c.key, "claim", c.repo+":"+t, "unchanged for", now.Sub(o.since).Round(time.Millisecond))
		if err := r.store.DeleteTag(ctx, c.repo, t); err != nil && !errors.Is(err, store.ErrNotFound) {
			return false, false, fmt.Errorf("removing the stale claim %s:%s (a registry that cannot delete tags cannot run the claim protocol): %w", c.repo, t, err)
		}
		delete(seen, t)
	}
	return mine && live == 0, older, nil
}

// claim is one contender's claim tag.
type claim struct {
	r         *Registry
	key       string
	repo, tag string
	seq       int
}

// write puts (or rewrites, with a new sequence number, hence a new digest
// that tells observers the holder is alive) the claim.
func (c *claim) write(ctx context.Context) error {
	c.seq++
	_, err := store.PutArtifact(ctx, c.r.store, c.repo, c.tag, store.Artifact{
		ArtifactType: ArtifactTypeClaim,
		Layers:       []store.Blob{{MediaType: store.MediaTypeEmptyJSON, Data: store.EmptyJSON}},
		Annotations: map[string]string{
			store.AnnotationLockKey:    c.key,
			store.AnnotationLockHolder: c.r.holder,
			store.AnnotationLockSeq:    strconv.Itoa(c.seq),
			store.AnnotationLockTTL:    c.r.ttl.String(),
		},
	})
	if err != nil {
		return fmt.Errorf("writing claim %s:%s: %w", c.repo, c.tag, err)
	}
	return nil
}

func (c *claim) remove(ctx context.Context) error {
	err := c.r.store.DeleteTag(ctx, c.repo, c.tag)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("removing claim %s:%s: %w", c.repo, c.tag, err)
	}
	return nil
}

// hold starts renewing a won claim.
func (c *claim) hold(ctx context.Context, wrote time.Time) *registryHeld {
	h := &registryHeld{heldCtx: newHeldCtx(ctx), c: c, stopped: make(chan struct{})}
	go h.renew(wrote)
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
func (h *registryHeld) renew(last time.Time) {
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
			start := time.Now()
			if start.Sub(last) >= r.deadline() {
				r.log.Warn("lock lost: the claim could not be renewed in time", "key", h.c.key, "claim", h.c.repo+":"+h.c.tag)
				h.cancel(ErrLost)
				return
			}
			wctx, cancel := context.WithDeadline(h.ctx, last.Add(r.deadline()))
			err := h.c.write(wctx)
			cancel()
			if err == nil {
				last = start
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

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
