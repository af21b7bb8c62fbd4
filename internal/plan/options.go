package plan

import (
	"context"
	"fmt"
	"log/slog"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"gopkg.in/yaml.v3"

	"github.com/runway-ci/runway/internal/pathmatch"
	"github.com/runway-ci/runway/internal/spec"
)

// Store is the part of store.Store the plan reads: whether the dependency
// image exists, and the bundle already built for the head tree.
type Store interface {
	HeadManifest(ctx context.Context, repo, ref string) (v1.Descriptor, error)
	GetManifest(ctx context.Context, repo, ref string) ([]byte, v1.Descriptor, error)
	String() string
}

// Option configures Plan.
type Option func(*options) error

type options struct {
	store    Store
	parse    func(b []byte) (*spec.Spec, error)
	excludes []string
	log      *slog.Logger
}

func newOptions(opts []Option) (*options, error) {
	o := &options{
		parse:    decodeSpec,
		excludes: DefaultExcludes(),
		log:      slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithStore makes Plan look up the dependency image and the head tree's
// bundle in s. Without a store, both are reported as not existing.
func WithStore(s Store) Option {
	return func(o *options) error {
		o.store = s
		return nil
	}
}

// WithParser replaces the runway.yaml parser (default: a plain, lenient
// yaml.v3 decode into spec.Spec). Pass the strict loader, e.g.
// func(b []byte) (*spec.Spec, error) { return spec.Parse(spec.FileName, b) }.
func WithParser(parse func(b []byte) (*spec.Spec, error)) Option {
	return func(o *options) error {
		if parse == nil {
			return fmt.Errorf("plan: WithParser(nil)")
		}
		o.parse = parse
		return nil
	}
}

// WithDefaultExcludes replaces DefaultExcludes (for a platform that wants a
// different list; fastreg must be given the same one).
func WithDefaultExcludes(globs ...string) Option {
	return func(o *options) error {
		for _, g := range globs {
			if err := pathmatch.Valid(g); err != nil {
				return fmt.Errorf("plan: default exclude: %w", err)
			}
		}
		o.excludes = append([]string(nil), globs...)
		return nil
	}
}

// WithLogger sets the logger for debug timings.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("plan: WithLogger(nil)")
		}
		o.log = l
		return nil
	}
}

// decodeSpec is the default parser: a plain yaml.v3 decode. Unknown fields
// are tolerated here; the strict loader (spec.Parse) reports them.
func decodeSpec(b []byte) (*spec.Spec, error) {
	s := &spec.Spec{}
	if err := yaml.Unmarshal(b, s); err != nil {
		return nil, err
	}
	return s, nil
}
