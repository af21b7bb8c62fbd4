package promote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/runway-ci/runway/internal/lock"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

// LaunchFunc starts one run of an active launch plan (id names the active
// version) for the fire time scheduled, and returns the execution's id. The
// CLI runs it with executor.Engine on the local runner.
type LaunchFunc func(ctx context.Context, id registrar.ID, scheduled time.Time) (string, error)

// Fire is one run the scheduler decided to start.
type Fire struct {
	LaunchPlan registrar.ID `json:"launchplan"`
	Schedule   string       `json:"schedule"`
	Scheduled  time.Time    `json:"scheduled"`
	// Missed counts the fire times that passed while no scheduler ran and
	// that were dropped (only the latest one runs: at most one catch-up).
	Missed    int    `json:"missed"`
	CatchUp   bool   `json:"catchUp"`
	Execution string `json:"execution,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Scheduler runs the schedules of active launch plans.
type Scheduler struct {
	store    store.Store
	launch   LaunchFunc
	log      *slog.Logger
	now      func() time.Time
	after    func(time.Duration) <-chan time.Time
	poll     time.Duration
	projects []string
	domains  []string
	locker   lock.Locker
}

// SchedulerOption configures a Scheduler.
type SchedulerOption func(*Scheduler) error

// WithSchedulerClock sets the clock and the timer (defaults time.Now and time.After).
func WithSchedulerClock(now func() time.Time, after func(time.Duration) <-chan time.Time) SchedulerOption {
	return func(s *Scheduler) error {
		if now == nil || after == nil {
			return errors.New("scheduler: nil clock")
		}
		s.now, s.after = now, after
		return nil
	}
}

// WithPoll sets how often active launch plans are looked up again (default 30s).
func WithPoll(d time.Duration) SchedulerOption {
	return func(s *Scheduler) error {
		if d <= 0 {
			return fmt.Errorf("scheduler: poll interval %s must be positive", d)
		}
		s.poll = d
		return nil
	}
}

// WithScope limits the scheduler to projects and domains (empty: all).
func WithScope(projects, domains []string) SchedulerOption {
	return func(s *Scheduler) error { s.projects, s.domains = projects, domains; return nil }
}

// WithSchedulerLogger sets the logger.
func WithSchedulerLogger(l *slog.Logger) SchedulerOption {
	return func(s *Scheduler) error {
		if l == nil {
			return errors.New("scheduler: nil logger")
		}
		s.log = l
		return nil
	}
}

// NextFires returns the next n times schedule fires after t, in t's
// location: what the scheduler would run, shown before a schedule changes.
func NextFires(schedule string, t time.Time, n int) ([]time.Time, error) {
	sched, err := registrar.ParseSchedule(schedule)
	if err != nil {
		return nil, fmt.Errorf("parsing schedule %q: %w", schedule, err)
	}
	var out []time.Time
	for range n {
		t = sched.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out, nil
}

// NewScheduler returns a scheduler over the launch plans in st.
func NewScheduler(st store.Store, launch LaunchFunc, opts ...SchedulerOption) (*Scheduler, error) {
	if st == nil || launch == nil {
		return nil, errors.New("scheduler: a store and a launch function are required")
	}
	s := &Scheduler{store: st, launch: launch, log: slog.New(slog.DiscardHandler), now: time.Now, after: time.After, poll: 30 * time.Second}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	if s.locker == nil {
		s.locker = lock.For(st)
	}
	return s, nil
}

// WithSchedulerLocker sets the Locker of fire-time claims (default: the
// one attached to the store, lock.For).
func WithSchedulerLocker(l lock.Locker) SchedulerOption {
	return func(s *Scheduler) error {
		if l == nil {
			return errors.New("scheduler: nil locker")
		}
		s.locker = l
		return nil
	}
}

// activeLP is an active launch plan with a schedule.
type activeLP struct {
	id       registrar.ID
	schedule cron.Schedule
	spec     string
}

// active finds every active scheduled launch plan in scope.
func (s *Scheduler) active(ctx context.Context) ([]activeLP, error) {
	repos, err := s.store.Repositories(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("listing launch plans: %w", err)
	}
	var out []activeLP
	for _, r := range repos {
		parts := strings.Split(r, "/")
		if len(parts) != 4 || parts[2] != string(registrar.KindLaunchPlan) || !in(s.projects, parts[0]) || !in(s.domains, parts[1]) {
			continue
		}
		v, _, err := ActiveVersion(ctx, s.store, parts[0], parts[1], parts[3])
		if errors.Is(err, ErrNotActive) {
			continue
		}
		if err != nil {
			return nil, err
		}
		st, err := registrar.Get(ctx, s.store, registrar.ID{Project: parts[0], Domain: parts[1], Kind: registrar.KindLaunchPlan, Name: parts[3], Version: v})
		if err != nil {
			return nil, err
		}
		spec := st.Entity.LaunchPlan.Schedule
		if spec == "" {
			continue
		}
		sched, err := registrar.ParseSchedule(spec)
		if err != nil {
			s.log.Warn("launch plan schedule does not parse; skipped", "launchplan", st.ID.String(), "schedule", spec, "err", err)
			continue
		}
		out = append(out, activeLP{id: st.ID, schedule: sched, spec: spec})
	}
	return out, nil
}

func in(list []string, x string) bool {
	if len(list) == 0 {
		return true
	}
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

// Due finds the runs due at now and claims them: for each, the fire time is
// written to the store before the run starts, under Store.Lock, so a
// restarted (or second) scheduler never starts it again. It also returns
// when the next run is due. Catch-up policy: a launch plan seen for the
// first time starts its clock now (nothing from before is run); after a
// downtime that missed several fire times only the latest runs, once.
func (s *Scheduler) Due(ctx context.Context, now time.Time) ([]Fire, time.Time, error) {
	lps, err := s.active(ctx)
	if err != nil {
		return nil, time.Time{}, err
	}
	var fires []Fire
	next := now.Add(s.poll)
	for _, lp := range lps {
		f, n, err := s.claim(ctx, lp, now)
		if err != nil {
			return fires, next, err
		}
		if f != nil {
			fires = append(fires, *f)
		}
		if n.Before(next) {
			next = n
		}
	}
	sort.Slice(fires, func(i, j int) bool { return fires[i].LaunchPlan.String() < fires[j].LaunchPlan.String() })
	return fires, next, nil
}

func (s *Scheduler) claim(ctx context.Context, lp activeLP, now time.Time) (*Fire, time.Time, error) {
	repo, tag := store.ScheduleRepo(lp.id.Project, lp.id.Domain), lp.id.Name
	// The claim holds across processes: two schedulers (a restart racing
	// the old one, two replicas) never both start one fire time.
	held, err := s.locker.Acquire(ctx, lock.ScheduleKey(repo, tag))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("claiming the next run of %s: %w", lp.id, err)
	}
	defer held.Release(context.WithoutCancel(ctx))
	ctx = held.Context()
	last, err := s.lastFire(ctx, repo, tag)
	if errors.Is(err, store.ErrNotFound) {
		// First sighting: start the clock now.
		if err := s.writeLast(ctx, repo, tag, lp, now); err != nil {
			return nil, time.Time{}, err
		}
		return nil, lp.schedule.Next(now), nil
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	due := lp.schedule.Next(last)
	if due.After(now) {
		return nil, due, nil
	}
	missed := 0
	for i := 0; i < 1_000_000; i++ {
		n := lp.schedule.Next(due)
		if n.After(now) || n.IsZero() {
			break
		}
		due, missed = n, missed+1
	}
	if err := s.writeLast(ctx, repo, tag, lp, due); err != nil {
		return nil, time.Time{}, err
	}
	f := &Fire{LaunchPlan: lp.id, Schedule: lp.spec, Scheduled: due, Missed: missed, CatchUp: missed > 0 || now.Sub(due) > time.Minute}
	return f, lp.schedule.Next(due), nil
}

func (s *Scheduler) lastFire(ctx context.Context, repo, tag string) (time.Time, error) {
	m, _, err := store.GetArtifact(ctx, s.store, repo, tag)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, m.Annotations[store.AnnotationScheduleLast])
	if err != nil {
		return time.Time{}, fmt.Errorf("schedule state %s:%s: %w", repo, tag, err)
	}
	return t, nil
}

func (s *Scheduler) writeLast(ctx context.Context, repo, tag string, lp activeLP, t time.Time) error {
	_, err := store.PutArtifact(ctx, s.store, repo, tag, store.Artifact{
		ArtifactType: "application/vnd.runway.schedule.v1+json",
		Layers:       []store.Blob{{MediaType: store.MediaTypeEmptyJSON, Data: store.EmptyJSON}},
		Annotations:  map[string]string{store.AnnotationScheduleLast: t.UTC().Format(time.RFC3339Nano), store.AnnotationScheduleSpec: lp.spec, store.AnnotationScheduleVersion: lp.id.Version},
	})
	if err != nil {
		return fmt.Errorf("recording the fire time of %s: %w", lp.id, err)
	}
	return nil
}

// Run fires due launch plans until ctx is done, each run in its own
// goroutine (a long run does not hold up other schedules), and waits for
// the runs it started before returning. onFire (may be nil) sees each fire
// once its launch returned.
func (s *Scheduler) Run(ctx context.Context, onFire func(Fire)) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		fires, next, err := s.Due(ctx, s.now())
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Error("scheduler pass failed; trying again", "err", err)
		}
		for _, f := range fires {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id, err := s.launch(ctx, f.LaunchPlan, f.Scheduled)
				f.Execution = id
				if err != nil {
					f.Error = err.Error()
					s.log.Error("scheduled run failed", "launchplan", f.LaunchPlan.String(), "scheduled", f.Scheduled, "err", err)
				}
				if onFire != nil {
					onFire(f)
				}
			}()
		}
		wait := next.Sub(s.now())
		if wait > s.poll {
			wait = s.poll
		}
		if wait < 0 {
			wait = 0
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.after(wait):
		}
	}
}
