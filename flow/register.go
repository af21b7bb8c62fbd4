// Package flow is runway's pipeline, written once: plan -> package ->
// register -> run -> promote. The CLI, the GitHub Action and the webhook
// server call it and differ only in how they receive an event and report
// back; none of them re-implements a step. Imports point one way: entry
// points -> flow -> domain packages (packager, fastreg, registrar,
// executor, promote) -> shared internals.
package flow

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

// RegisterRequest asks for the entities of a repository to be registered.
type RegisterRequest struct {
	Repo    string
	Domain  string
	Version string // explicit version; "" = from git
	// Head registers this revision (a PR head) instead of the checkout:
	// the version is the commit it resolves to.
	Head     string
	DryRun   bool
	Platform *platform.Config
	Store    store.Store
	Log      *slog.Logger
	// Package builds what the version runs (bundle, image) and returns the
	// Build to compile against. nil registers without code (tests).
	Package func(ctx context.Context, s *spec.Spec, v registrar.VersionInfo) (registrar.Build, error)
	// DirtyDigest digests an uncommitted working tree.
	DirtyDigest func() (string, error)
}

// RegisterReport is what a registration did.
type RegisterReport struct {
	Project  string                `json:"project"`
	Domain   string                `json:"domain"`
	Version  string                `json:"version"`
	Commit   string                `json:"commit,omitempty"`
	Dirty    bool                  `json:"dirty"`
	Image    string                `json:"image,omitempty"`
	Bundle   string                `json:"bundle,omitempty"`
	DryRun   bool                  `json:"dryRun"`
	Store    string                `json:"store"`
	Entities []registrar.Result    `json:"entities"`
	Spec     *spec.Spec            `json:"-"`
	Build    registrar.Build       `json:"-"`
	Info     registrar.VersionInfo `json:"-"`
}

// Register validates the repository's runway.yaml, decides the version,
// packages the code and writes every entity into the domain.
func Register(ctx context.Context, req RegisterRequest) (*RegisterReport, error) {
	s, err := spec.Load(req.Repo)
	if err != nil {
		return nil, err
	}
	copts := registrar.CompileOptions{Platform: req.Platform, Domain: req.Domain, Store: req.Store}
	// Validate before anything is packaged or written.
	if err := registrar.Validate(ctx, s, copts); err != nil {
		return nil, err
	}
	var v registrar.VersionInfo
	if req.Head != "" {
		v, err = registrar.ResolveCommit(req.Repo, req.Head)
	} else {
		v, err = registrar.DetectVersion(req.Repo, req.Version, req.DirtyDigest)
	}
	if err != nil {
		return nil, err
	}
	b := registrar.Build{Version: v.Version}
	if req.Package != nil && !req.DryRun {
		if b, err = req.Package(ctx, s, v); err != nil {
			return nil, err
		}
		b.Version = v.Version
	}
	ents, err := registrar.Compile(ctx, s, b, copts)
	if err != nil {
		return nil, err
	}
	r := &registrar.Registrar{Store: req.Store, Log: req.Log, DryRun: req.DryRun}
	if req.Platform != nil {
		r.Parallelism = req.Platform.Registry.Parallelism
	}
	rep := &RegisterReport{
		Project: s.Project, Domain: req.Domain, Version: v.Version, Commit: v.Commit, Dirty: v.Dirty,
		Image: b.Image, Bundle: b.Bundle, DryRun: req.DryRun, Store: req.Store.String(), Spec: s, Build: b, Info: v,
	}
	res, err := r.Register(ctx, req.Domain, ents)
	rep.Entities = res
	if err != nil {
		return rep, fmt.Errorf("registering %s@%s into %s: %w", s.Project, v.Version, req.Domain, err)
	}
	return rep, nil
}
