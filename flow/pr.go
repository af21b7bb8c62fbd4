package flow

import (
	"context"
	"fmt"
	"io"
	"time"

	git "github.com/go-git/go-git/v5"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/runway-ci/runway/fastreg"
	"github.com/runway-ci/runway/internal/plan"
	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/packager"
	"github.com/runway-ci/runway/registrar"
)

// PRRequest asks for the pull-request pipeline on one revision of a
// repository: plan -> package -> register.
type PRRequest struct {
	Repo   string // the checkout
	Domain string // where the entities are registered ("" = the first domain)
	// Base is the revision to plan against (the PR's target); "" plans the
	// head against itself (no diff: the image is reused if it exists).
	Base string
	// Head is the revision to register (a PR head or a merge commit), read
	// from git objects; "" registers the checkout as it is, uncommitted
	// changes included (the CLI).
	Head string
	// Version registers under this version instead of the commit SHA
	// (checkout only). The code is still packaged from the checkout.
	Version string
	// ValidateOnly plans and validates and writes nothing: fork PRs,
	// `/runway plan`, `runway validate`.
	ValidateOnly bool
	// DryRun plans, validates and compares with the store, and writes
	// nothing: no image, no bundle, no entity.
	DryRun bool
	// MaxSize raises the bundle budget, where the platform allows it
	// (bundle.allowOverride); "" = the platform's bundle.maxSize.
	MaxSize string
	// InstallOutput receives the image install command's output.
	InstallOutput io.Writer
	// RunwayBinary is embedded in a new dependency image ("" = the running
	// executable).
	RunwayBinary string
	// ImageOptions and BundleOptions are extra options for the packager and
	// the bundle builder (tests: a base resolver, a logger).
	ImageOptions  []packager.Option
	BundleOptions []fastreg.Option
}

// PRReport is what the pipeline decided and did, step by step. A step that
// did not run is nil.
type PRReport struct {
	Plan     *plan.Result    `json:"plan,omitempty"`
	Package  *PackageReport  `json:"packaged,omitempty"`
	Register *RegisterReport `json:"registration,omitempty"`
	// Spec is runway.yaml as validated.
	Spec *spec.Spec `json:"-"`
	// Version is how the version was decided.
	Version registrar.VersionInfo `json:"version"`
}

// PackageReport is what the package step did.
type PackageReport struct {
	Image  ImageReport  `json:"image"`
	Bundle BundleReport `json:"bundle"`
}

// ImageReport says which dependency image the version runs.
type ImageReport struct {
	Ref    string `json:"ref"`    // repo@sha256:...
	Built  bool   `json:"built"`  // built and pushed by this run
	Reused bool   `json:"reused"` // existed already
}

// BundleReport says which code bundle the version runs.
type BundleReport struct {
	Digest   string `json:"digest"`
	Size     int64  `json:"size"`
	Files    int    `json:"files"`
	Uploaded bool   `json:"uploaded"`
}

// RegisterReport is what the register step wrote.
type RegisterReport struct {
	Project  string             `json:"project"`
	Domain   string             `json:"domain"`
	Version  string             `json:"version"`
	Commit   string             `json:"commit,omitempty"`
	Dirty    bool               `json:"dirty"`
	Image    string             `json:"image,omitempty"`
	Bundle   string             `json:"bundle,omitempty"`
	DryRun   bool               `json:"dryRun"`
	Store    string             `json:"store"`
	Entities []registrar.Result `json:"entities"`
	// Attestations is what was signed (nil: no signing key).
	Attestations *AttestReport `json:"attestations,omitempty"`
}

// PR runs the pipeline in DESIGN's order. runway.yaml is parsed once (from
// git at the head, or from the checkout when it has uncommitted changes)
// and compiled once, before anything is packaged or written, so a spec
// error costs no upload.
func PR(ctx context.Context, p *Project, req PRRequest) (*PRReport, error) {
	if req.Domain == "" {
		req.Domain = p.Platform.Domains[0].Name // as compilePR, which has its own copy of req
	}
	if !req.DryRun && !req.ValidateOnly {
		// A signing key that cannot be loaded fails before anything is
		// uploaded, not after the version is registered unsigned.
		if _, err := p.Signer(ctx); err != nil {
			return nil, err
		}
	}
	rep, ents, b, err := p.compilePR(ctx, req)
	if err != nil || req.ValidateOnly {
		return rep, err
	}
	s, v := rep.Spec, rep.Version

	// register
	r := &registrar.Registrar{Store: p.Store, Log: p.Log, DryRun: req.DryRun, Parallelism: p.Platform.Registry.Parallelism}
	rep.Register = &RegisterReport{
		Project: s.Project, Domain: req.Domain, Version: v.Version, Commit: v.Commit, Dirty: v.Dirty,
		Image: b.Image, Bundle: b.Bundle, DryRun: req.DryRun, Store: p.Store.String(),
	}
	started := time.Now()
	res, err := r.Register(ctx, req.Domain, ents)
	rep.Register.Entities = res
	if err != nil {
		return rep, fmt.Errorf("registering %s@%s into %s: %w", s.Project, v.Version, req.Domain, err)
	}
	if !req.DryRun {
		// Signed provenance of everything the version runs (when the
		// platform has a signing key): a failure fails the registration,
		// since a domain that requires it would refuse the version later.
		if rep.Register.Attestations, err = p.attest(ctx, rep, req.Repo, started); err != nil {
			return rep, fmt.Errorf("registered %s@%s into %s, but %w", s.Project, v.Version, req.Domain, err)
		}
	}
	if rep.Plan != nil && !req.DryRun {
		if err := writePlanRecord(ctx, p.Store, newPlanRecord(rep.Plan, v.Version, p.RunwayVersion)); err != nil {
			p.Log.Warn("the version trail will lack the plan decision", "err", err)
		}
	}
	return rep, nil
}

// compilePR runs the pipeline up to the entities: version, plan, the one
// compile and (unless ValidateOnly) package, with the entities bound to the
// image and bundle. With ValidateOnly it returns after the compile; with
// DryRun it writes nothing.
func (p *Project) compilePR(ctx context.Context, req PRRequest) (*PRReport, []*registrar.Entity, registrar.Build, error) {
	var b registrar.Build
	if req.Domain == "" {
		req.Domain = p.Platform.Domains[0].Name
	}
	if err := p.CheckDomain(req.Domain); err != nil {
		return nil, nil, b, err
	}
	if req.Head != "" && req.Version != "" {
		return nil, nil, b, fmt.Errorf("%w: an explicit version registers the checkout; a revision (%s) registers under its commit SHA", ErrUsage, req.Head)
	}
	limits, err := p.bundleLimits(req.MaxSize)
	if err != nil {
		return nil, nil, b, err
	}
	rep := &PRReport{}
	// The version first: a dirty checkout's version names its bundle.
	// runway.yaml is decoded leniently (spec.ParsePartial): its decode
	// errors are reported with the semantic ones, all at once.
	var worktree *spec.Spec
	var decodeErrs spec.Errors
	loadWorktree := func() (*spec.Spec, error) {
		s, derrs, err := spec.LoadPartial(req.Repo)
		if err != nil {
			return nil, err
		}
		worktree, decodeErrs = s, derrs
		return s, nil
	}
	dirtyDigest := func() (string, error) {
		s, err := loadWorktree()
		if err != nil {
			return "", err
		}
		b, err := fastreg.BuildWorktree(ctx, req.Repo, p.bundleOptions(s, limits, req.BundleOptions)...)
		if err != nil {
			return "", err
		}
		defer b.Close()
		return b.Digest.String(), nil
	}
	if req.Head != "" {
		rep.Version, err = registrar.ResolveCommit(req.Repo, req.Head)
	} else {
		rep.Version, err = registrar.DetectVersion(req.Repo, req.Version, dirtyDigest)
	}
	if err != nil {
		return rep, nil, b, err
	}
	v := rep.Version
	if v.Dirty && worktree == nil { // an explicit version over a dirty tree
		if _, err = loadWorktree(); err != nil {
			return rep, nil, b, err
		}
	}

	// plan
	if v.Commit != "" {
		base := req.Base
		if base == "" {
			base = v.Commit
		}
		rep.Plan, err = plan.Plan(ctx, req.Repo, base, v.Commit, plan.WithStore(p.Store), plan.WithLogger(p.Log),
			plan.WithParser(func(b []byte) (*spec.Spec, error) {
				if worktree != nil {
					return worktree, nil // the dirty checkout's, decoded once
				}
				s, derrs, err := spec.ParsePartial(spec.FileName, b)
				decodeErrs = derrs
				return s, err
			}))
		if err != nil {
			return rep, nil, b, err
		}
	}
	switch {
	case worktree != nil:
		rep.Spec = worktree
	case rep.Plan != nil:
		rep.Spec = rep.Plan.Spec
	default: // --version outside git: only the directory exists
		if rep.Spec, err = loadWorktree(); err != nil {
			return rep, nil, b, err
		}
	}
	s := rep.Spec

	// validate: the one compile
	copts := registrar.CompileOptions{Platform: p.Platform, Domain: req.Domain, Store: p.Store}
	ents, err := registrar.CompilePartial(ctx, s, decodeErrs, registrar.Build{Version: v.Version}, copts)
	if err != nil || req.ValidateOnly {
		return rep, ents, b, err
	}

	// package
	b.Version = v.Version
	if rep.Plan != nil || v.Dirty {
		pk, err := p.pack(ctx, req, rep.Plan, s, v, limits)
		rep.Package = pk
		if err != nil {
			return rep, nil, b, err
		}
		b.Image, b.Bundle = pk.Image.Ref, pk.Bundle.Digest
	}
	registrar.Bind(ents, b)
	return rep, ents, b, nil
}

// pack makes sure the version's dependency image and code bundle are in the
// store. With DryRun it only reports what exists.
func (p *Project) pack(ctx context.Context, req PRRequest, pl *plan.Result, s *spec.Spec, v registrar.VersionInfo, limits int64) (*PackageReport, error) {
	rep := &PackageReport{}
	if pl != nil {
		repo, tag := store.ImageRepo(s.Project), store.ImageTag(pl.Image.Hash)
		if desc, err := p.Store.HeadManifest(ctx, repo, tag); err == nil {
			rep.Image = ImageReport{Ref: p.imageRef(repo, desc.Digest.String()), Reused: true}
		} else if !req.DryRun {
			res, err := packager.Build(ctx, p.Store, packager.Request{
				Project: s.Project, Image: s.Image, Hash: pl.Image.Hash, RepoDir: req.Repo,
				Revision: pl.Head, Source: originURL(req.Repo), RunwayBinary: req.RunwayBinary,
			}, p.imageOptions(req)...)
			if err != nil {
				return rep, fmt.Errorf("building the dependency image %s:%s: %w", repo, tag, err)
			}
			rep.Image = ImageReport{Ref: p.imageRef(repo, res.Descriptor.Digest.String()), Built: !res.Existed, Reused: res.Existed}
		}
	}
	opts := p.bundleOptions(s, limits, req.BundleOptions)
	switch {
	case v.Dirty:
		// The working tree as it is: the image from HEAD's dependency
		// files, the bundle from the files on disk.
		b, err := fastreg.BuildWorktree(ctx, req.Repo, opts...)
		if err != nil {
			return rep, err
		}
		defer b.Close()
		rep.Bundle = BundleReport{Digest: b.Digest.String(), Size: b.Size, Files: b.Files}
		if !req.DryRun {
			pushed, err := fastreg.Push(ctx, p.Store, s.Project, b)
			if err != nil {
				return rep, err
			}
			rep.Bundle.Uploaded = pushed.Uploaded
		}
	case pl.Bundle.Built && pl.Bundle.Digest != "":
		rep.Bundle = BundleReport{Digest: pl.Bundle.Digest, Size: pl.Bundle.Size, Files: pl.Bundle.Files}
	case req.DryRun:
		// Not built yet: the dry run names no bundle rather than build one.
	default:
		b, err := fastreg.Build(ctx, req.Repo, append(opts, fastreg.WithRevision(pl.Head))...)
		if err != nil {
			return rep, err
		}
		defer b.Close()
		pushed, err := fastreg.Push(ctx, p.Store, s.Project, b)
		if err != nil {
			return rep, err
		}
		// The tree tag lets the next plan of the same tree skip the build.
		raw, desc, err := p.Store.GetManifest(ctx, store.BundleRepo(s.Project), store.BundleTag(b.Digest.Hex))
		if err != nil {
			return rep, fmt.Errorf("reading back bundle %s: %w", b.Digest, err)
		}
		treeTag := store.BundleTreeTag(pl.HeadTree)
		if _, err := p.Store.PutManifest(ctx, store.BundleRepo(s.Project), treeTag, string(desc.MediaType), raw); err != nil {
			return rep, fmt.Errorf("tagging bundle %s as %s: %w", b.Digest, treeTag, err)
		}
		rep.Bundle = BundleReport{Digest: b.Digest.String(), Size: b.Size, Files: b.Files, Uploaded: pushed.Uploaded}
	}
	return rep, nil
}

// bundleLimits is the platform's bundle budget in bytes, raised by maxSize only where
// the platform allows it.
func (p *Project) bundleLimits(maxSize string) (int64, error) {
	limit := p.Platform.Bundle.MaxSize
	if maxSize != "" {
		if !p.Platform.Bundle.AllowOverride {
			return 0, fmt.Errorf("%w: the platform config does not allow raising the bundle budget (bundle.allowOverride)", ErrUsage)
		}
		limit = maxSize
	}
	q, err := resource.ParseQuantity(limit)
	if err != nil {
		return 0, fmt.Errorf("bundle size budget %q is not a quantity such as 100Mi", limit)
	}
	return q.Value(), nil
}

// bundleOptions are the options every bundle of the project is built with:
// the budget, the excludes and the logger.
func (p *Project) bundleOptions(s *spec.Spec, maxSize int64, extra []fastreg.Option) []fastreg.Option {
	opts := []fastreg.Option{fastreg.WithExclude(BundleExcludes(s)...), fastreg.WithLogger(p.Log)}
	if maxSize > 0 {
		opts = append(opts, fastreg.WithMaxSize(maxSize))
	}
	return append(opts, extra...)
}

func (p *Project) imageOptions(req PRRequest) []packager.Option {
	o := []packager.Option{packager.WithLogger(p.Log)}
	if req.InstallOutput != nil {
		o = append(o, packager.WithInstallOutput(req.InstallOutput))
	}
	return append(o, req.ImageOptions...)
}

func (p *Project) imageRef(repo, digest string) string {
	return p.Store.String() + "/" + repo + "@" + digest
}

// CheckDomain refuses a domain the platform does not have, naming the ones
// it has (platform.CheckDomain: one answer for every command).
func (p *Project) CheckDomain(name string) error { return p.Platform.CheckDomain(name) }

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

// BundleExcludes are the paths no bundle of s carries: runway's defaults
// (documentation, repository metadata) and the spec's bundle.exclude.
func BundleExcludes(s *spec.Spec) []string {
	return append(plan.DefaultExcludes(), s.Bundle.Exclude...)
}

// BuildBundle builds the code bundle of a revision alone (`runway
// bundle`), with the options the pipeline uses: the platform's budget
// (raised by maxSize where allowed) and the spec's excludes.
func BuildBundle(ctx context.Context, p *Project, repo, rev, maxSize string) (*fastreg.Bundle, *spec.Spec, error) {
	limit, err := p.bundleLimits(maxSize)
	if err != nil {
		return nil, nil, err
	}
	s, err := spec.Load(repo)
	if err != nil {
		return nil, nil, err
	}
	b, err := fastreg.Build(ctx, repo, append(p.bundleOptions(s, limit, nil), fastreg.WithRevision(rev))...)
	return b, s, err
}
