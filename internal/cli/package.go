package cli

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/runway-ci/runway/fastreg"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

// packaging adapts the CLI's flags to the flow's package step.
type packaging struct {
	g       *Global
	plat    *platform.Config
	store   store.Store
	maxSize string
}

func (p *packaging) bundleOptions(s *spec.Spec) ([]fastreg.Option, error) {
	limit := p.plat.Bundle.MaxSize
	if p.maxSize != "" {
		if !p.plat.Bundle.AllowOverride {
			return nil, Usagef("--max-size: the platform config does not allow raising the bundle budget (bundle.allowOverride)")
		}
		limit = p.maxSize
	}
	q, err := resource.ParseQuantity(limit)
	if err != nil {
		return nil, fmt.Errorf("bundle size budget %q is not a quantity such as 100Mi", limit)
	}
	opts := []fastreg.Option{fastreg.WithMaxSize(q.Value()), fastreg.WithLogger(p.g.Log())}
	if s != nil {
		opts = append(opts, fastreg.WithExclude(s.Bundle.Exclude...))
	}
	return opts, nil
}

// DirtyDigest digests the bundle of an uncommitted working tree.
func (p *packaging) DirtyDigest() (string, error) {
	s, err := spec.Load(p.g.Repo)
	if err != nil {
		return "", err
	}
	opts, err := p.bundleOptions(s)
	if err != nil {
		return "", err
	}
	b, err := fastreg.BuildWorktree(context.Background(), p.g.Repo, opts...)
	if err != nil {
		return "", err
	}
	defer b.Close()
	return b.Digest.String(), nil
}

// Package builds and pushes the code bundle for the version.
func (p *packaging) Package(ctx context.Context, s *spec.Spec, v registrar.VersionInfo) (registrar.Build, error) {
	opts, err := p.bundleOptions(s)
	if err != nil {
		return registrar.Build{}, err
	}
	var b *fastreg.Bundle
	if v.Dirty {
		b, err = fastreg.BuildWorktree(ctx, p.g.Repo, opts...)
	} else if v.Commit != "" {
		b, err = fastreg.Build(ctx, p.g.Repo, append(opts, fastreg.WithRevision(v.Commit))...)
	} else {
		return registrar.Build{Version: v.Version}, nil // --version outside git: no code to bundle
	}
	if err != nil {
		return registrar.Build{}, err
	}
	defer b.Close()
	if _, err := fastreg.Push(ctx, p.store, s.Project, b); err != nil {
		return registrar.Build{}, err
	}
	return registrar.Build{Version: v.Version, Bundle: b.Digest.String()}, nil
}
