package promote_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/executor/local"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

const schedProject = "sched"

const schedSpec = `project: sched
tasks:
  - name: hello
    command: ["sh", "-c", "echo hello {{inputs.who}} > \"$RUNWAY_OUTPUTS/msg\""]
    inputs: {who: string}
    outputs: {msg: string}
workflows:
  - name: greet
    inputs: {who: string}
    nodes:
      - {id: say, task: hello, inputs: {who: "{{workflow.inputs.who}}"}}
    outputs: {msg: "{{say.outputs.msg}}"}
launchplans:
  - {name: every5, workflow: greet, inputs: {who: world}, schedule: "*/5 * * * *"}
`

// schedFixture registers the small scheduled project into development and
// promotes it to staging, which activates its launch plan there.
func schedFixture(t *testing.T, s store.Store) (string, *promote.Promoter) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "runway.yaml"), []byte(schedSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := git.PlainInit(dir, false); err != nil {
		t.Fatal(err)
	}
	sha := commitAll(t, dir, "scheduled pipeline")
	register(t, s, dir, "development")
	p := newPromoter(t, s, nil)
	if _, err := p.Promote(context.Background(), promote.Request{Project: schedProject, From: "development", To: "staging", Version: sha}); err != nil {
		t.Fatal(err)
	}
	return sha, p
}

// TestSchedulerCatchUp drives Due with chosen times: the first sighting
// starts the clock, a due time fires once, a restarted scheduler does not
// fire it again, and after a downtime only the latest missed time runs.
func TestSchedulerCatchUp(t *testing.T) {
	ctx := context.Background()
	s := layoutStore(t)
	sha, _ := schedFixture(t, s)
	noop := func(context.Context, registrar.ID, time.Time) (string, error) { return "", nil }
	newSched := func() *promote.Scheduler {
		sc, err := promote.NewScheduler(s, noop, promote.WithScope([]string{schedProject}, nil), promote.WithPoll(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	at := func(hm string) time.Time {
		tm, err := time.Parse(time.RFC3339, "2026-01-01T"+hm+"Z")
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	steps := []struct {
		now       string
		restart   bool
		scheduled string // "" = nothing fires
		missed    int
	}{
		{now: "10:02:00"},                        // first sighting: the clock starts
		{now: "10:04:59"},                        // not yet
		{now: "10:05:10", scheduled: "10:05:00"}, // due
		{now: "10:05:30", restart: true},         // a restarted scheduler does not run it twice
		{now: "10:05:40"},                        // nor does the same one
		{now: "10:31:00", restart: true, scheduled: "10:30:00", missed: 4}, // downtime: one catch-up run
		{now: "10:32:00"},
	}
	sc := newSched()
	for _, st := range steps {
		if st.restart {
			sc = newSched()
		}
		fires, next, err := sc.Due(ctx, at(st.now))
		if err != nil {
			t.Fatal(err)
		}
		if st.scheduled == "" {
			if len(fires) != 0 {
				t.Fatalf("at %s: fired %+v", st.now, fires)
			}
			continue
		}
		if len(fires) != 1 || !fires[0].Scheduled.Equal(at(st.scheduled)) || fires[0].Missed != st.missed || fires[0].LaunchPlan.Version != sha || fires[0].LaunchPlan.Domain != "staging" {
			t.Fatalf("at %s: fires %+v, want one for %s with %d missed", st.now, fires, st.scheduled, st.missed)
		}
		if want := at(st.scheduled).Add(5 * time.Minute); !next.Equal(want) {
			t.Errorf("at %s: next %s, want %s", st.now, next, want)
		}
	}
}

// TestSchedulerRunsWithLocalExecutor runs the scheduler loop on a moving
// clock with the real engine and local runner: the due launch plan runs,
// its execution record says succeeded, and that execution then satisfies a
// policy that requires one for promoting to production.
func TestSchedulerRunsWithLocalExecutor(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	s := layoutAt(t, filepath.Join(dir, "store"))
	sha, _ := schedFixture(t, s)
	runner, err := local.New(s.String(), local.WithExecTask(os.Args[0], "exec-task"), local.WithWorkDir(filepath.Join(dir, "work")))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := executor.New(s, runner, executor.WithPlatform(platform.Default()))
	if err != nil {
		t.Fatal(err)
	}
	launch := func(ctx context.Context, id registrar.ID, _ time.Time) (string, error) {
		ex, err := eng.Run(ctx, executor.Request{Target: id}, nil)
		if err != nil {
			return "", err
		}
		return ex.ID, nil
	}
	var mu sync.Mutex
	clock := time.Date(2026, 1, 1, 10, 4, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	after := func(d time.Duration) <-chan time.Time {
		mu.Lock()
		defer mu.Unlock()
		if clock.Minute() >= 5 {
			return nil // past the fire time the clock stops: wait for the run
		}
		clock = clock.Add(d)
		ch := make(chan time.Time, 1)
		ch <- clock
		return ch
	}
	sc, err := promote.NewScheduler(s, launch, promote.WithScope([]string{schedProject}, []string{"staging"}), promote.WithSchedulerClock(now, after), promote.WithPoll(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	fired := make(chan promote.Fire, 4)
	done := make(chan error, 1)
	go func() {
		done <- sc.Run(ctx, func(f promote.Fire) {
			select {
			case fired <- f:
			default:
			}
			cancel() // one run is enough
		})
	}()
	var f promote.Fire
	select {
	case f = <-fired:
	case <-ctx.Done():
		t.Fatal("no scheduled run within a minute")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if f.Error != "" || f.Execution == "" || f.Scheduled.Minute() != 5 {
		t.Fatalf("fire: %+v", f)
	}
	ex, err := executor.Get(context.Background(), s, schedProject, "staging", f.Execution)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Status != executor.StatusSucceeded || ex.Outputs["msg"].Plain() != "hello world" {
		t.Fatalf("execution %s: %s, outputs %v, error %s", ex.ID, ex.Status, ex.Outputs, ex.Error)
	}
	plat := parsePlatform(t, "promotion:\n  rules:\n    - to: production\n      requireExecution: true\n")
	p := newPromoter(t, s, plat)
	rep, err := p.Promote(context.Background(), promote.Request{Project: schedProject, From: "staging", To: "production", Version: sha, Entities: []promote.EntityName{{Kind: registrar.KindLaunchPlan, Name: "every5"}}})
	if err != nil {
		t.Fatalf("promotion with the scheduled run as evidence: %v", err)
	}
	if len(rep.Evidence.Executions) == 0 || rep.Evidence.Executions[0].ID != ex.ID {
		t.Fatalf("evidence %+v, want execution %s", rep.Evidence, ex.ID)
	}
}
