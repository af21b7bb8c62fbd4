package lock_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runway-ci/runway/internal/lock"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/storetest"
)

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// newRegistryLocker gives each caller its own remote store object, as two
// CI jobs would have: nothing is shared but the registry.
func newRegistryLocker(t *testing.T, host string, opts ...lock.RegistryOption) *lock.Registry {
	t.Helper()
	s, err := remote.New(host+"/runway", remote.WithRetryMax(0))
	if err != nil {
		t.Fatal(err)
	}
	l, err := lock.NewRegistry(s, append([]lock.RegistryOption{lock.WithBackoff(5*time.Millisecond, 50*time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// exclusion runs n contenders each taking key rounds times and fails if
// two ever hold it at once.
func exclusion(t *testing.T, lockers []lock.Locker, rounds int) {
	ctx := ctxFor(t, 2*time.Minute)
	var inside, maxInside, total atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, len(lockers)*rounds)
	for _, l := range lockers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				err := lock.Do(ctx, l, "entity/p/dev/task/a", func(ctx context.Context) error {
					n := inside.Add(1)
					for {
						m := maxInside.Load()
						if n <= m || maxInside.CompareAndSwap(m, n) {
							break
						}
					}
					time.Sleep(2 * time.Millisecond)
					inside.Add(-1)
					total.Add(1)
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if m := maxInside.Load(); m != 1 {
		t.Fatalf("%d holders at once", m)
	}
	if got, want := int(total.Load()), len(lockers)*rounds; got != want {
		t.Fatalf("%d critical sections ran, want %d", got, want)
	}
}

func TestRegistryMutualExclusion(t *testing.T) {
	reg := storetest.NewRegistry(t)
	var ls []lock.Locker
	for range 6 {
		ls = append(ls, newRegistryLocker(t, reg.Host))
	}
	exclusion(t, ls, 8)
	// Every claim was released: the lock repository has no tags left.
	s, _ := remote.New(reg.Host + "/runway")
	tags, err := s.Tags(context.Background(), store.LockRepo("entity/p/dev/task/a"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 0 {
		t.Fatalf("claims left behind: %v", tags)
	}
}

func TestProcessAndFileLockers(t *testing.T) {
	exclusion(t, []lock.Locker{&lock.Process{}, &lock.Process{}}[:1], 10)
	p := &lock.Process{}
	exclusion(t, []lock.Locker{p, p, p}, 10)
	dir := t.TempDir()
	var ls []lock.Locker
	for range 3 {
		s, err := layout.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, lock.ForStore(s))
	}
	exclusion(t, ls, 10)
}

// A holder that died (its claim is never renewed nor removed) blocks a
// contender for about one lease time, no longer, and its claim is removed.
func TestRegistryDeadHolderLapses(t *testing.T) {
	reg := storetest.NewRegistry(t)
	ctx := ctxFor(t, time.Minute)
	key := "entity/p/dev/launchplan/nightly"
	// What a holder killed with -9 leaves: a claim no one renews.
	s, _ := remote.New(reg.Host + "/runway")
	repo := store.LockRepo(key)
	orphan := store.LockClaimTagPrefix + "0000000000000001-deadbeefdeadbeef-00000001"
	if _, err := store.PutArtifact(ctx, s, repo, orphan, store.Artifact{ArtifactType: lock.ArtifactTypeClaim,
		Layers: []store.Blob{{MediaType: store.MediaTypeEmptyJSON, Data: store.EmptyJSON}}}); err != nil {
		t.Fatal(err)
	}

	l := newRegistryLocker(t, reg.Host, lock.WithTTL(time.Second))
	start := time.Now()
	h, err := l.Acquire(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	waited := time.Since(start)
	if waited < time.Second || waited > 3*time.Second {
		t.Fatalf("waited %s for a dead holder with a 1s lease", waited)
	}
	tags, _ := s.Tags(ctx, repo)
	for _, tg := range tags {
		if tg == orphan {
			t.Fatalf("the dead holder's claim is still there: %v", tags)
		}
	}
	if err := h.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// A holder that cannot renew loses the lock: its context ends with
// ErrLost within the lease, and Do reports it.
func TestRegistryLostWhenRenewalsFail(t *testing.T) {
	reg := storetest.NewRegistry(t)
	ctx := ctxFor(t, time.Minute)
	l := newRegistryLocker(t, reg.Host, lock.WithTTL(time.Second))
	var lostAfter time.Duration
	err := lock.Do(ctx, l, "cache/p/dev/k", func(hctx context.Context) error {
		reg.Inject(storetest.Fault{Status: http.StatusInternalServerError, Times: -1, Match: func(r *http.Request) bool {
			return r.Method == http.MethodPut || r.Method == http.MethodHead
		}})
		start := time.Now()
		select {
		case <-hctx.Done():
			lostAfter = time.Since(start)
		case <-time.After(5 * time.Second):
			t.Error("the holder kept the lock with every renewal failing")
		}
		return nil
	})
	reg.ClearFaults()
	if !errors.Is(err, lock.ErrLost) || !strings.Contains(err.Error(), "cache/p/dev/k") {
		t.Fatalf("Do: want ErrLost naming the key, got %v", err)
	}
	if lostAfter > time.Second {
		t.Fatalf("lost after %s, want within the 1s lease", lostAfter)
	}
}

func TestRegistryOptionsRefuseNonsense(t *testing.T) {
	s, _ := remote.New("127.0.0.1:1/x")
	for _, o := range []lock.RegistryOption{lock.WithTTL(time.Millisecond), lock.WithBackoff(0, time.Second), lock.WithBackoff(time.Second, time.Millisecond), lock.WithLogger(nil)} {
		if _, err := lock.NewRegistry(s, o); err == nil {
			t.Fatal("a nonsense option was accepted")
		}
	}
	if _, err := lock.NewRegistry(nil); err == nil {
		t.Fatal("nil store accepted")
	}
}

func TestAcquireHonoursContext(t *testing.T) {
	reg := storetest.NewRegistry(t)
	a := newRegistryLocker(t, reg.Host)
	b := newRegistryLocker(t, reg.Host)
	ctx := ctxFor(t, time.Minute)
	h, err := a.Acquire(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release(ctx)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := b.Acquire(short, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a deadline error while another holds the lock, got %v", err)
	}
}

func TestKeysAreDistinct(t *testing.T) {
	keys := []string{
		lock.EntityKey("p", "dev", "task", "a"), lock.CacheKey("p", "dev", "k"),
		lock.ScheduleKey("p/dev/schedule", "a"), lock.PRKey("o/r", 7), lock.LeaderKey("webhook-server"),
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			t.Fatalf("duplicate key %q", k)
		}
		seen[k] = true
	}
}

func TestLostOr(t *testing.T) {
	base := errors.New("putting manifest: context canceled")
	ctx, cancel := context.WithCancelCause(context.Background())
	if got := lock.LostOr(ctx, base); got != base { //nolint:errorlint // identity: a live lock returns the error itself
		t.Fatalf("a live lock changed the error: %v", got)
	}
	cancel(lock.ErrLost)
	got := lock.LostOr(ctx, base)
	if !errors.Is(got, lock.ErrLost) || !errors.Is(got, base) || !strings.Contains(got.Error(), "run the same command again") {
		t.Fatalf("a lost lock: %v", got)
	}
}
