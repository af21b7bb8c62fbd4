package flow

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	git "github.com/go-git/go-git/v5"

	"github.com/runway-ci/runway/fastreg"
	"github.com/runway-ci/runway/internal/plan"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/packager"
	"github.com/runway-ci/runway/registrar"
)

// PackageRequest says what to package for one commit.
type PackageRequest struct {
	Repo     string
	Base     string // plan against this revision; "" = the head itself (no diff)
	Head     string // "" = HEAD
	Store    store.Store
	Platform *platform.Config
	Log      *slog.Logger
	// Bundle options (size budget, ...). Exclusions come from runway.yaml.
	BundleOptions []fastreg.Option
	// Packager options (base resolver, progress, ...).
	ImageOptions []packager.Option
	// RunwayBinary is embedded in images ("" = this executable).
	RunwayBinary string
	// InstallOutput receives the image install command's output.
	InstallOutput io.Writer
	// SkipBundle packages only the image (the caller bundles a dirty tree).
	SkipBundle bool
}

// PackageReport says what packaging decided and did.
type PackageReport struct {
	Plan   *plan.Result `json:"plan"`
	Image  ImageReport  `json:"image"`
	Bundle BundleReport `json:"bundle"`
}

// ImageReport is the dependency image the version runs.
type ImageReport struct {
	Ref    string `json:"ref"`    // repo@sha256:...
	Built  bool   `json:"built"`  // built and pushed by this run
	Reused bool   `json:"reused"` // existed already
}

// BundleReport is the code bundle the version runs.
type BundleReport struct {
	Digest   string `json:"digest"`
	Size     int64  `json:"size"`
	Files    int    `json:"files"`
	Uploaded bool   `json:"uploaded"`
}

// Package plans the change and produces the image and bundle the head runs:
// the image is built only when no image with the head's dependency hash
// exists (so only when dependency files changed, or never built), and the
// code always ships as a content-addressed bundle, uploaded only if new.
func Package(ctx context.Context, req PackageRequest) (*PackageReport, error) {
	head := req.Head
	if head == "" {
		head = "HEAD"
	}
	base := req.Base
	if base == "" {
		base = head
	}
	p, err := plan.Plan(ctx, req.Repo, base, head, plan.WithStore(req.Store), plan.WithParser(func(b []byte) (*spec.Spec, error) {
		return spec.Parse(spec.FileName, b)
	}))
	if err != nil {
		return nil, err
	}
	rep := &PackageReport{Plan: p}
	s := p.Spec
	// Image: the dependency hash names it; build only if it is missing.
	repo := store.ImageRepo(s.Project)
	tag := store.ImageTag(p.Image.Hash)
	if desc, err := req.Store.HeadManifest(ctx, repo, tag); err == nil {
		rep.Image = ImageReport{Ref: imageRef(req.Store, repo, desc.Digest.String()), Reused: true}
	} else {
		res, err := packager.Build(ctx, req.Store, packager.Request{
			Project: s.Project, Image: s.Image, Hash: p.Image.Hash, RepoDir: req.Repo,
			Revision: p.Head, Source: originURL(req.Repo), RunwayBinary: req.RunwayBinary,
		}, imageOptions(req)...)
		if err != nil {
			return nil, fmt.Errorf("building the dependency image %s:%s: %w", repo, tag, err)
		}
		rep.Image = ImageReport{Ref: imageRef(req.Store, repo, res.Descriptor.Digest.String()), Built: !res.Existed, Reused: res.Existed}
	}
	// Bundle: reuse the head tree's bundle if one was pushed before.
	treeTag := store.BundleTreeTag(p.HeadTree)
	if req.SkipBundle {
		return rep, nil
	}
	if p.Bundle.Built && p.Bundle.Digest != "" {
		rep.Bundle = BundleReport{Digest: p.Bundle.Digest, Size: p.Bundle.Size, Files: p.Bundle.Files}
		return rep, nil
	}
	opts := append([]fastreg.Option{fastreg.WithRevision(p.Head), fastreg.WithExclude(BundleExcludes(s)...)}, req.BundleOptions...)
	b, err := fastreg.Build(ctx, req.Repo, opts...)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	pushed, err := fastreg.Push(ctx, req.Store, s.Project, b)
	if err != nil {
		return nil, err
	}
	// Alias the bundle by tree so the next plan of this tree reports it
	// without building (same manifest bytes, a second tag).
	raw, desc, err := req.Store.GetManifest(ctx, store.BundleRepo(s.Project), store.BundleTag(b.Digest.Hex))
	if err != nil {
		return nil, fmt.Errorf("reading back bundle %s: %w", b.Digest, err)
	}
	if _, err := req.Store.PutManifest(ctx, store.BundleRepo(s.Project), treeTag, string(desc.MediaType), raw); err != nil {
		return nil, fmt.Errorf("tagging bundle %s as %s: %w", b.Digest, treeTag, err)
	}
	rep.Bundle = BundleReport{Digest: b.Digest.String(), Size: b.Size, Files: b.Files, Uploaded: pushed.Uploaded}
	return rep, nil
}

// PackageFunc adapts Package to RegisterRequest.Package for a clean commit.
// Dirty trees and explicit versions outside git are handled by the caller.
func PackageFunc(req PackageRequest, out **PackageReport) func(context.Context, *spec.Spec, registrar.VersionInfo) (registrar.Build, error) {
	return func(ctx context.Context, s *spec.Spec, v registrar.VersionInfo) (registrar.Build, error) {
		if req.Head == "" {
			req.Head = v.Commit
		}
		rep, err := Package(ctx, req)
		if err != nil {
			return registrar.Build{}, err
		}
		if out != nil {
			*out = rep
		}
		return registrar.Build{Version: v.Version, Image: rep.Image.Ref, Bundle: rep.Bundle.Digest}, nil
	}
}

func imageRef(s store.Store, repo, digest string) string {
	return s.String() + "/" + repo + "@" + digest
}

// originURL is the repository's origin remote, for image annotations.
func originURL(dir string) string {
	r, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return ""
	}
	rem, err := r.Remote("origin")
	if err != nil || len(rem.Config().URLs) == 0 {
		return ""
	}
	return rem.Config().URLs[0]
}

func imageOptions(req PackageRequest) []packager.Option {
	var o []packager.Option
	if req.InstallOutput != nil {
		o = append(o, packager.WithInstallOutput(req.InstallOutput))
	}
	if req.Log != nil {
		o = append(o, packager.WithLogger(req.Log))
	}
	return append(o, req.ImageOptions...)
}

// BundleExcludes are the globs a bundle leaves out: the documentation and
// metadata the plan ignores too (plan.DefaultExcludes), then bundle.exclude.
// Plan and bundle must agree, or a plan could promise a bundle that is not
// the one built.
func BundleExcludes(s *spec.Spec) []string {
	return append(plan.DefaultExcludes(), s.Bundle.Exclude...)
}
