package fastreg

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"

	"github.com/runway-ci/runway/internal/pathmatch"
)

// DefaultMaxSize is the default budget of a bundle: 100 MiB of uncompressed tar.
const DefaultMaxSize int64 = 100 << 20

// Option configures Build and BuildWorktree.
type Option func(*options) error

type options struct {
	revision    string
	exclude     []string
	maxSize     int64
	tempDir     string
	concurrency int
	log         *slog.Logger
	// streamAbove: blobs larger than this are streamed, not read whole
	// (streamThreshold; tests lower it to cover both paths cheaply).
	streamAbove int64
}

func newOptions(opts []Option) (*options, error) {
	o := &options{
		revision:    "HEAD",
		maxSize:     DefaultMaxSize,
		tempDir:     os.TempDir(),
		concurrency: runtime.GOMAXPROCS(0),
		streamAbove: streamThreshold,
		log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithRevision selects the commit to bundle (any revision go-git resolves:
// "HEAD", a branch, a tag, a SHA). The default is HEAD. BuildWorktree ignores
// it: a worktree bundle is always compared against HEAD.
func WithRevision(rev string) Option {
	return func(o *options) error {
		if rev == "" {
			return fmt.Errorf("revision must not be empty")
		}
		o.revision = rev
		return nil
	}
}

// WithExclude adds bundle.exclude globs from runway.yaml (pathmatch syntax;
// a glob that matches a directory excludes everything below it).
func WithExclude(globs ...string) Option {
	return func(o *options) error {
		for _, g := range globs {
			if err := pathmatch.Valid(g); err != nil {
				return fmt.Errorf("bundle.exclude: %w", err)
			}
		}
		o.exclude = append(o.exclude, globs...)
		return nil
	}
}

// WithMaxSize sets the budget in bytes of uncompressed tar (the platform's
// bundle.maxSize, or --max-size). The default is DefaultMaxSize.
func WithMaxSize(n int64) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("bundle max size must be positive, got %d", n)
		}
		o.maxSize = n
		return nil
	}
}

// WithTempDir sets where the bundle's temporary file is written (default
// os.TempDir()).
func WithTempDir(dir string) Option {
	return func(o *options) error {
		if dir == "" {
			return fmt.Errorf("temp dir must not be empty")
		}
		o.tempDir = dir
		return nil
	}
}

// WithConcurrency sets how many goroutines compress and read objects
// (default GOMAXPROCS). It changes speed only, never the bytes.
func WithConcurrency(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("concurrency must be at least 1, got %d", n)
		}
		o.concurrency = n
		return nil
	}
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("logger must not be nil")
		}
		o.log = l
		return nil
	}
}
