package action

import (
	"context"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/internal/plan"
	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/promote"
)

// Pipeline is the part of runway's flow the Action drives. The Action
// never implements a step itself; FlowPipeline is the implementation over
// internal/flow and promote, and tests inject nothing else.
type Pipeline interface {
	// PR plans Base..Head and, unless ValidateOnly, packages Head and
	// registers it into Domain.
	PR(ctx context.Context, req PRRequest) (*PRReport, error)
	// Promote promotes a version's entities (promote.Request semantics;
	// the project comes from the repository's runway.yaml).
	Promote(ctx context.Context, req PromoteRequest) (*promote.Report, error)
	// OnMerge is merge-triggered promotion (`runway promote --on-merge`).
	OnMerge(ctx context.Context, req MergeRequest) (*MergeReport, error)
	// Run executes a registered workflow or launch plan and waits for it.
	Run(ctx context.Context, req RunRequest) (*executor.Execution, error)
}

// RunRequest asks for one execution at a version.
type RunRequest struct {
	Repo    string
	Domain  string
	Version string
	// Target is "NAME" (a workflow) or "KIND/NAME" (workflow/train,
	// launchplan/nightly).
	Target string
	Inputs []KV
}

// PRRequest asks for the PR pipeline on one head.
type PRRequest struct {
	Repo   string // the checkout
	Base   string // the PR base SHA
	Head   string // the PR head SHA
	Domain string
	// ValidateOnly plans and validates, and writes nothing: fork PRs and
	// /runway plan.
	ValidateOnly bool
}

// PRReport is what the PR pipeline decided and did.
type PRReport struct {
	Plan     *plan.Result
	Package  *flow.PackageReport  // nil when ValidateOnly
	Register *flow.RegisterReport // nil when ValidateOnly
	// Validated is the spec that passed validation, when ValidateOnly.
	Validated *spec.Spec
	// Execution is the run the `run` input asked for, if any.
	Execution *executor.Execution
}

// PromoteRequest asks for the entities of Version to move From -> To.
type PromoteRequest struct {
	Repo     string
	From, To string
	Version  string
	Actor    promote.Actor
	PR       *promote.PR
	Reason   string
}

// MergeRequest asks for merge-triggered promotion of a merged PR.
type MergeRequest struct {
	Repo     string
	MergeSHA string // the commit the push brought to the default branch
	HeadSHA  string // the PR head that was tested
	From, To string
	Actor    promote.Actor
	PR       *promote.PR
}

// Merge paths.
const (
	// MergePromotedHead: tree(merge) == tree(head), so the PR's tested
	// entities were promoted.
	MergePromotedHead = "promoted-head"
	// MergeRegisteredMerge: the trees differ, so the merge commit was
	// packaged and registered first, then promoted.
	MergeRegisteredMerge = "registered-merge"
)

// MergeReport says which path a merge took and why.
type MergeReport struct {
	Path     string
	Why      string
	Version  string
	Register *flow.RegisterReport // MergeRegisteredMerge only
	Promote  *promote.Report
}
