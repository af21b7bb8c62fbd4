package promote

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/lock"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/store"
)

// Promoter promotes entities between domains, activates launch plans and
// writes their records. Build it with New.
type Promoter struct {
	store      store.Store
	plat       *platform.Config
	log        *slog.Logger
	now        func() time.Time
	version    string
	executions ExecutionLister
	schedules  ScheduleSync
	locker     lock.Locker
	// trusted are public keys trusted besides the platform's (WithTrustedKeys).
	trusted []string
}

// ExecutionLister lists the execution records of a project's domain; the
// default is executor.List. Policy evidence and history read executions
// through it.
type ExecutionLister func(ctx context.Context, s store.Store, project, domain string) ([]*executor.Execution, error)

// Option configures a Promoter.
type Option func(*Promoter) error

// WithTrustedKeys adds public keys (PEM) the provenance check trusts
// besides the platform's provenance.trustedKeys: flow passes the signing
// key's own.
func WithTrustedKeys(pems ...string) Option {
	return func(p *Promoter) error {
		p.trusted = append(p.trusted, pems...)
		return nil
	}
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(p *Promoter) error {
		if l == nil {
			return errors.New("promote: nil logger")
		}
		p.log = l
		return nil
	}
}

// WithClock sets the clock records are stamped with (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(p *Promoter) error {
		if now == nil {
			return errors.New("promote: nil clock")
		}
		p.now = now
		return nil
	}
}

// WithRunwayVersion sets the runway version written into records.
func WithRunwayVersion(v string) Option {
	return func(p *Promoter) error { p.version = v; return nil }
}

// WithExecutions replaces how execution records are listed.
func WithExecutions(l ExecutionLister) Option {
	return func(p *Promoter) error {
		if l == nil {
			return errors.New("promote: nil execution lister")
		}
		p.executions = l
		return nil
	}
}

// WithScheduleSync tells sync about every launch plan activation and
// deactivation (the Kubernetes executor's CronJobs).
func WithScheduleSync(sync ScheduleSync) Option {
	return func(p *Promoter) error { p.schedules = sync; return nil }
}

// WithLocker sets the Locker that serialises promotions and activations
// across processes (default: the one attached to the store, lock.For).
func WithLocker(l lock.Locker) Option {
	return func(p *Promoter) error {
		if l == nil {
			return errors.New("promote: nil locker")
		}
		p.locker = l
		return nil
	}
}

// New returns a Promoter on s with the platform config plat (nil: the
// embedded defaults).
func New(s store.Store, plat *platform.Config, opts ...Option) (*Promoter, error) {
	if s == nil {
		return nil, errors.New("promote: nil store")
	}
	if plat == nil {
		plat = platform.Default()
	}
	p := &Promoter{
		store: s, plat: plat, now: time.Now,
		log: slog.New(slog.DiscardHandler),
		executions: func(ctx context.Context, s store.Store, project, domain string) ([]*executor.Execution, error) {
			return executor.List(ctx, s, project, domain, executor.ListOptions{})
		},
	}
	for _, o := range opts {
		if err := o(p); err != nil {
			return nil, err
		}
	}
	if p.locker == nil {
		p.locker = lock.For(s)
	}
	return p, nil
}
