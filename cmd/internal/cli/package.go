package cli

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/runway-ci/runway/fastreg"
	"github.com/runway-ci/runway/flow"
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
	base    string
	head    string
	// report is what flow.Package did, for printing.
	report *flow.PackageReport
}

func (p *packaging) bundleOptions() ([]fastreg.Option, error) {
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
	return []fastreg.Option{fastreg.WithMaxSize(q.Value()), fastreg.WithLogger(p.g.Log())}, nil
}

func (p *packaging) request() (flow.PackageRequest, error) {
	bo, err := p.bundleOptions()
	if err != nil {
		return flow.PackageRequest{}, err
	}
	return flow.PackageRequest{
		Repo: p.g.Repo, Base: p.base, Head: p.head, Store: p.store, Platform: p.plat,
		Log: p.g.Log(), BundleOptions: bo, InstallOutput: p.g.IO.Err,
	}, nil
}

// DirtyDigest digests the bundle of an uncommitted working tree.
func (p *packaging) DirtyDigest() (string, error) {
	s, err := spec.Load(p.g.Repo)
	if err != nil {
		return "", err
	}
	opts, err := p.bundleOptions()
	if err != nil {
		return "", err
	}
	b, err := fastreg.BuildWorktree(context.Background(), p.g.Repo, append(opts, fastreg.WithExclude(flow.BundleExcludes(s)...))...)
	if err != nil {
		return "", err
	}
	defer b.Close()
	return b.Digest.String(), nil
}

// Package plans, builds the image if it is missing, and ships the bundle.
func (p *packaging) Package(ctx context.Context, s *spec.Spec, v registrar.VersionInfo) (registrar.Build, error) {
	if v.Commit == "" {
		// --version outside git: there is no commit to package.
		return registrar.Build{Version: v.Version}, nil
	}
	req, err := p.request()
	if err != nil {
		return registrar.Build{}, err
	}
	if !v.Dirty {
		if req.Head == "" {
			req.Head = v.Commit
		}
		return flow.PackageFunc(req, &p.report)(ctx, s, v)
	}
	// A dirty tree: the image from HEAD's dependency files, the bundle from
	// the working tree as it is.
	req.Head, req.SkipBundle = v.Commit, true
	rep, err := flow.Package(ctx, req)
	if err != nil {
		return registrar.Build{}, err
	}
	p.report = rep
	b, err := fastreg.BuildWorktree(ctx, p.g.Repo, append(req.BundleOptions, fastreg.WithExclude(flow.BundleExcludes(s)...))...)
	if err != nil {
		return registrar.Build{}, err
	}
	defer b.Close()
	pushed, err := fastreg.Push(ctx, p.store, s.Project, b)
	if err != nil {
		return registrar.Build{}, err
	}
	rep.Bundle = flow.BundleReport{Digest: b.Digest.String(), Size: b.Size, Files: b.Files, Uploaded: pushed.Uploaded}
	return registrar.Build{Version: v.Version, Image: rep.Image.Ref, Bundle: rep.Bundle.Digest}, nil
}
