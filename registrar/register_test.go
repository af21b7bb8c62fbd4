package registrar

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/storetest"
)

// stores returns both backends, fresh for each test.
func stores(t *testing.T) map[string]func(t *testing.T) store.Store {
	return map[string]func(t *testing.T) store.Store{
		"layout": func(t *testing.T) store.Store {
			s, err := layout.New(t.TempDir(), layout.WithoutFsync())
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"registry": func(t *testing.T) store.Store {
			reg := storetest.NewRegistry(t)
			s, err := remote.New(reg.Host+"/runway", remote.WithRetryWait(time.Millisecond, 10*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
}

func sampleEntities(t *testing.T, version string) []*Entity {
	t.Helper()
	s, err := spec.Load("../testdata/sample")
	if err != nil {
		t.Fatal(err)
	}
	ents, err := Compile(context.Background(), s, Build{Version: version, Bundle: "sha256:" + strings.Repeat("b", 64)}, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ents
}

func statuses(res []Result) map[Status]int {
	m := map[Status]int{}
	for _, r := range res {
		m[r.Status]++
	}
	return m
}

func TestRegisterIdempotentAndImmutable(t *testing.T) {
	for name, newStore := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newStore(t)
			r := &Registrar{Store: s}
			v := strings.Repeat("1", 40)
			ents := sampleEntities(t, v)
			res, err := r.Register(ctx, "development", ents)
			if err != nil {
				t.Fatal(err)
			}
			if got := statuses(res); got[StatusCreated] != len(ents) {
				t.Fatalf("first registration: %v", got)
			}
			res, err = r.Register(ctx, "development", sampleEntities(t, v))
			if err != nil {
				t.Fatal(err)
			}
			if got := statuses(res); got[StatusUnchanged] != len(ents) {
				t.Fatalf("second registration: %v", got)
			}
			// Read back: list and get agree with what was registered.
			list, err := List(ctx, s, "house-prices", "development", "")
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != len(ents) {
				t.Fatalf("list has %d entities, want %d", len(list), len(ents))
			}
			got, err := Get(ctx, s, ID{Project: "house-prices", Domain: "development", Kind: KindTask, Name: "prepare"})
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := ents[0].Digest(); got.Digest != want || got.ID.Version != v {
				t.Errorf("get: digest %s version %s, want %s %s", got.Digest, got.ID.Version, want, v)
			}

			// A changed task under the same SHA is refused with a field diff.
			changed := sampleEntities(t, v)
			changed[0].Task.Retries = 5
			changed[0].Task.Command = append(changed[0].Task.Command, "--fast")
			_, err = r.Register(ctx, "development", changed)
			if !errors.Is(err, ErrConflict) {
				t.Fatalf("want ErrConflict, got %v", err)
			}
			var ce *ConflictError
			if !errors.As(err, &ce) {
				t.Fatalf("want *ConflictError in %v", err)
			}
			old, _ := ents[0].Digest()
			nw, _ := changed[0].Digest()
			if ce.Existing != old || ce.New != nw {
				t.Errorf("conflict digests %s %s, want %s %s", ce.Existing, ce.New, old, nw)
			}
			msg := err.Error()
			for _, want := range []string{old.String(), nw.String(), "task.retries: 1 -> 5", `task.command: ["python3"`} {
				if !strings.Contains(msg, want) {
					t.Errorf("conflict message lacks %q:\n%s", want, msg)
				}
			}
			// Nothing was overwritten.
			got, err = Get(ctx, s, ID{Project: "house-prices", Domain: "development", Kind: KindTask, Name: "prepare", Version: v})
			if err != nil || got.Digest != old {
				t.Errorf("stored entity changed: %v %v", got, err)
			}
		})
	}
}

func TestConcurrentRegistrationsOfOneIdentity(t *testing.T) {
	for name, newStore := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newStore(t)
			v := strings.Repeat("2", 40)
			const n = 8
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					e := sampleEntities(t, v)[0]
					e.Task.Retries = i % 2 // two different contents race
					_, errs[i] = (&Registrar{Store: s}).Register(ctx, "development", []*Entity{e})
				}(i)
			}
			wg.Wait()
			ok, conflict := 0, 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case errors.Is(err, ErrConflict):
					conflict++
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}
			// Exactly one content won; every writer of it succeeded, every
			// writer of the other got a conflict.
			if ok != n/2 || conflict != n/2 {
				t.Errorf("ok=%d conflict=%d, want %d each", ok, conflict, n/2)
			}
			vs, err := Versions(ctx, s, ID{Project: "house-prices", Domain: "development", Kind: KindTask, Name: "prepare"})
			if err != nil || len(vs) != 1 {
				t.Errorf("versions = %v, %v; want exactly one", vs, err)
			}
		})
	}
}

func TestRegistrationFailureReportsWhatWasWritten(t *testing.T) {
	ctx := context.Background()
	reg := storetest.NewRegistry(t)
	s, err := remote.New(reg.Host+"/runway", remote.WithRetryMax(2), remote.WithRetryWait(time.Millisecond, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	v := strings.Repeat("3", 40)
	// The workflow's manifest upload keeps failing.
	f := reg.Inject(storetest.Fault{
		Match:  storetest.All(storetest.MatchKind(http.MethodPut, storetest.KindManifest), storetest.MatchRepo("runway/house-prices/development/workflow/train")),
		Status: http.StatusInternalServerError, Times: -1,
	})
	res, err := (&Registrar{Store: s}).Register(ctx, "development", sampleEntities(t, v))
	var re *RegisterError
	if !errors.As(err, &re) {
		t.Fatalf("want *RegisterError, got %v", err)
	}
	if f.Hits() < 2 {
		t.Errorf("the failing write was not retried (hits=%d)", f.Hits())
	}
	got := statuses(res)
	if got[StatusCreated] != 4 || got[StatusFailed] != 1 || got[StatusSkipped] != 1 {
		t.Errorf("statuses = %v, want 4 tasks created, the workflow failed, the launch plan not attempted", got)
	}
	msg := err.Error()
	for _, want := range []string{"4 stored", "failed: workflow/train", "not attempted: launchplan/nightly", "writing workflow", "500"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	// Running it again once the registry is healthy completes it.
	reg.ClearFaults()
	res, err = (&Registrar{Store: s}).Register(ctx, "development", sampleEntities(t, v))
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(res); got[StatusUnchanged] != 4 || got[StatusCreated] != 2 {
		t.Errorf("retry statuses = %v", got)
	}
}

func TestRegistryFlakyThenHealthy(t *testing.T) {
	ctx := context.Background()
	reg := storetest.NewRegistry(t)
	s, err := remote.New(reg.Host+"/runway", remote.WithRetryWait(time.Millisecond, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	reg.FailNext(1, http.StatusInternalServerError, storetest.MatchKind(http.MethodPut, storetest.KindManifest))
	reg.FailNext(1, http.StatusServiceUnavailable, storetest.MatchKind("", storetest.KindUpload))
	if _, err := (&Registrar{Store: s}).Register(ctx, "development", sampleEntities(t, strings.Repeat("4", 40))); err != nil {
		t.Fatalf("a 500 then 200 must succeed after a retry: %v", err)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	ctx := context.Background()
	s, err := layout.New(t.TempDir(), layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	res, err := (&Registrar{Store: s, DryRun: true}).Register(ctx, "development", sampleEntities(t, strings.Repeat("5", 40)))
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(res); got[StatusPlanned] != 6 {
		t.Errorf("statuses = %v", got)
	}
	repos, err := s.Repositories(ctx, "")
	if err != nil || len(repos) != 0 {
		t.Errorf("dry run wrote %v (%v)", repos, err)
	}
}

// manyEntities makes n distinct tasks.
func manyEntities(n int, version string) []*Entity {
	ents := make([]*Entity, n)
	for i := range ents {
		ents[i] = &Entity{Kind: KindTask, Project: "bench", Name: fmt.Sprintf("task-%04d", i), Version: version,
			Task: &Task{Command: []string{"python3", "-m", "job", fmt.Sprint(i)}, Bundle: "sha256:" + strings.Repeat("c", 64),
				Inputs: map[string]string{"rows": "int"}, Outputs: map[string]string{"out": "file"},
				Resources: Resources{Limits: map[string]string{"cpu": "1", "memory": "1Gi"}}}}
	}
	return ents
}

// BenchmarkRegister1000 registers 1,000 entities into the in-process
// registry. Target: under 2 s per op on 2 cores.
func BenchmarkRegister1000(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		reg := storetest.NewRegistry(b)
		s, err := remote.New(reg.Host + "/runway")
		if err != nil {
			b.Fatal(err)
		}
		ents := manyEntities(1000, fmt.Sprintf("%040d", i))
		b.StartTimer()
		res, err := (&Registrar{Store: s, Parallelism: 8}).Register(ctx, "development", ents)
		if err != nil {
			b.Fatal(err)
		}
		if got := statuses(res); got[StatusCreated] != 1000 {
			b.Fatalf("statuses %v", got)
		}
	}
}

func TestVersionsSortedByRegistration(t *testing.T) {
	ctx := context.Background()
	s, err := layout.New(t.TempDir(), layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var want []string
	for _, v := range []string{"f", "a", "c"} {
		ver := strings.Repeat(v, 40)
		want = append(want, ver)
		clock = clock.Add(time.Minute)
		now := clock
		if _, err := (&Registrar{Store: s, Now: func() time.Time { return now }}).Register(ctx, "development", sampleEntities(t, ver)[:1]); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Versions(ctx, s, ID{Project: "house-prices", Domain: "development", Kind: KindTask, Name: "prepare"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("versions %v, want registration order %v", got, want)
	}
	latest, _ := Latest(ctx, s, ID{Project: "house-prices", Domain: "development", Kind: KindTask, Name: "prepare"})
	if latest != want[2] {
		t.Errorf("latest = %s", latest)
	}
	_ = sort.Strings
}
