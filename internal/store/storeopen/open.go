package storeopen

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/internal/store/remote"
)

type options struct {
	log     *slog.Logger
	getenv  func(string) string
	remote  []remote.Option
	noFsync bool

	lockPlat *platform.Config
}

// Option configures Open.
type Option func(*options) error

// WithLogger sets the logger of the store (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("nil logger")
		}
		o.log = l
		o.remote = append(o.remote, remote.WithLogger(l))
		return nil
	}
}

// WithRetryMax sets how many times a failed registry request is retried.
func WithRetryMax(n int) Option {
	return func(o *options) error { o.remote = append(o.remote, remote.WithRetryMax(n)); return nil }
}

// WithMaxRetryAfter caps how long a registry's Retry-After can make a
// request wait.
func WithMaxRetryAfter(d time.Duration) Option {
	return func(o *options) error { o.remote = append(o.remote, remote.WithMaxRetryAfter(d)); return nil }
}

// WithRetryWait sets the backoff bounds between registry retries.
func WithRetryWait(min, max time.Duration) Option {
	return func(o *options) error { o.remote = append(o.remote, remote.WithRetryWait(min, max)); return nil }
}

// WithInsecure talks plain HTTP to the registry (automatic for localhost).
func WithInsecure(insecure bool) Option {
	return func(o *options) error { o.remote = append(o.remote, remote.WithInsecure(insecure)); return nil }
}

// WithParallelism bounds concurrent blob uploads of one image write.
func WithParallelism(n int) Option {
	return func(o *options) error { o.remote = append(o.remote, remote.WithParallelism(n)); return nil }
}

// WithProgress receives upload progress of image writes (registry only).
func WithProgress(fn func(remote.Progress)) Option {
	return func(o *options) error { o.remote = append(o.remote, remote.WithProgress(fn)); return nil }
}

// WithRemoteOptions passes options straight to remote.New.
func WithRemoteOptions(opts ...remote.Option) Option {
	return func(o *options) error { o.remote = append(o.remote, opts...); return nil }
}

// WithoutFsync makes a layout store skip fsync (tests, scratch stores).
func WithoutFsync() Option {
	return func(o *options) error { o.noFsync = true; return nil }
}

// WithGetenv replaces os.Getenv for RUNWAY_HOME and HOME.
func WithGetenv(getenv func(string) string) Option {
	return func(o *options) error {
		if getenv == nil {
			return errors.New("nil getenv")
		}
		o.getenv = getenv
		return nil
	}
}

// Open returns the store named by spec (see the package doc), carrying the
// Locker chosen by WithLock and the RUNWAY_LOCK* variables (lock.For finds
// it).
func Open(spec string, opts ...Option) (store.Store, error) {
	s, o, err := open(spec, opts...)
	if err != nil {
		return nil, err
	}
	// The caller says which store it was opening; the error says which lock.
	return attachLocker(s, o)
}

func open(spec string, opts ...Option) (store.Store, options, error) {
	o := options{log: slog.New(slog.DiscardHandler), getenv: os.Getenv}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, o, fmt.Errorf("opening store %q: %w", spec, err)
		}
	}
	switch {
	case spec == "":
		dir, err := DefaultDir(o.getenv)
		if err != nil {
			return nil, o, err
		}
		s, err := openLayout(dir, o)
		return s, o, err
	case strings.HasPrefix(spec, "file://"):
		dir := strings.TrimPrefix(spec, "file://")
		if dir == "" {
			return nil, o, fmt.Errorf("opening store %q: no directory after file://", spec)
		}
		s, err := openLayout(dir, o)
		return s, o, err
	case strings.Contains(spec, "://") && !strings.HasPrefix(spec, "http://") && !strings.HasPrefix(spec, "https://"):
		return nil, o, fmt.Errorf("opening store %q: unknown scheme (want file://DIR, HOST[:PORT][/PREFIX], or empty for the default)", spec)
	}
	s, err := remote.New(spec, o.remote...)
	if err != nil {
		return nil, o, fmt.Errorf("opening store %q: %w", spec, err)
	}
	return s, o, nil
}

func openLayout(dir string, o options) (store.Store, error) {
	lo := []layout.Option{layout.WithLogger(o.log)}
	if o.noFsync {
		lo = append(lo, layout.WithoutFsync())
	}
	s, err := layout.New(dir, lo...)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// DefaultDir is the embedded default store: $RUNWAY_HOME/store, else
// $HOME/.runway/store.
func DefaultDir(getenv func(string) string) (string, error) {
	return store.DefaultDir(getenv)
}
