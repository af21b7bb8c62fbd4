package action

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/internal/plan"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// FlowPipeline is Pipeline over internal/flow and promote.
//
// Wiring: Run calls flow.Run. PR calls flow.Register with flow.PackageFunc
// (plan -> image if missing -> bundle -> register); ValidateOnly calls
// registrar.Validate and plan.Plan, because flow has no validate-and-plan
// entry yet. Promote calls promote.Promoter.Promote. OnMerge compares the
// trees and then calls flow.Register and promote.Promote: flow's own merge
// entry (internal/flow/merge.go) is being written, and OnMerge should call
// it once it lands, so that the CLI's --on-merge and the Action share it.
type FlowPipeline struct {
	platform *platform.Config
	store    store.Store
	log      *slog.Logger
	binary   string
}

// NewFlowPipeline returns the Pipeline that runs runway's flow on st.
// runwayBinary is the executable embedded in dependency images ("" = the
// running executable, which in the Action is runway itself).
func NewFlowPipeline(plat *platform.Config, st store.Store, log *slog.Logger, runwayBinary string) *FlowPipeline {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &FlowPipeline{platform: plat, store: st, log: log, binary: runwayBinary}
}

func parseSpec(b []byte) (*spec.Spec, error) { return spec.Parse(spec.FileName, b) }

// PR implements Pipeline.
func (p *FlowPipeline) PR(ctx context.Context, req PRRequest) (*PRReport, error) {
	if req.ValidateOnly {
		// flow.Register's dry run compares against the store, where an
		// entity compiled without its image and bundle would conflict with
		// the registered one; validation is its first step, called alone.
		s, err := spec.Load(req.Repo)
		if err != nil {
			return nil, err
		}
		if err := registrar.Validate(ctx, s, registrar.CompileOptions{Platform: p.platform, Domain: req.Domain, Store: p.store}); err != nil {
			return nil, err
		}
		pl, err := plan.Plan(ctx, req.Repo, req.Base, req.Head, plan.WithStore(p.store), plan.WithParser(parseSpec), plan.WithLogger(p.log))
		return &PRReport{Plan: pl, Validated: s}, err
	}
	var pkg *flow.PackageReport
	preq := flow.PackageRequest{Repo: req.Repo, Base: req.Base, Head: req.Head, Store: p.store, Platform: p.platform, Log: p.log, RunwayBinary: p.binary}
	reg, err := flow.Register(ctx, flow.RegisterRequest{Repo: req.Repo, Domain: req.Domain, Head: req.Head,
		Platform: p.platform, Store: p.store, Log: p.log, Package: flow.PackageFunc(preq, &pkg)})
	rep := &PRReport{Package: pkg, Register: reg}
	if pkg != nil {
		rep.Plan = pkg.Plan
	}
	return rep, err
}

// Promote implements Pipeline.
func (p *FlowPipeline) Promote(ctx context.Context, req PromoteRequest) (*promote.Report, error) {
	s, err := spec.Load(req.Repo)
	if err != nil {
		return nil, err
	}
	pr, err := promote.New(p.store, p.platform, promote.WithLogger(p.log))
	if err != nil {
		return nil, err
	}
	return pr.Promote(ctx, promote.Request{Project: s.Project, From: req.From, To: req.To, Version: req.Version,
		Actor: req.Actor, PR: req.PR, Reason: req.Reason})
}

// OnMerge implements Pipeline.
func (p *FlowPipeline) OnMerge(ctx context.Context, req MergeRequest) (*MergeReport, error) {
	same, mergeTree, headTree, parent, err := sameTree(req.Repo, req.MergeSHA, req.HeadSHA)
	if err != nil {
		return nil, err
	}
	rep := &MergeReport{}
	version := req.HeadSHA
	if same {
		rep.Path = MergePromotedHead
		rep.Why = fmt.Sprintf("the merge commit's tree %s equals the PR head's tree, so the entities tested on the PR are promoted", short(mergeTree))
	} else {
		rep.Path = MergeRegisteredMerge
		rep.Why = fmt.Sprintf("the merge commit's tree %s differs from the PR head's tree %s (the base moved), so the merge commit was packaged and registered first", short(mergeTree), short(headTree))
		version = req.MergeSHA
		r, err := p.PR(ctx, PRRequest{Repo: req.Repo, Base: parent, Head: req.MergeSHA, Domain: req.From})
		if r != nil {
			rep.Register = r.Register
		}
		if err != nil {
			return rep, fmt.Errorf("registering merge commit %s into %s: %w", req.MergeSHA, req.From, err)
		}
	}
	rep.Version = version
	rep.Promote, err = p.Promote(ctx, PromoteRequest{Repo: req.Repo, From: req.From, To: req.To, Version: version,
		Actor: req.Actor, PR: req.PR, Reason: fmt.Sprintf("merge of #%d (%s)", prNum(req.PR), rep.Path)})
	return rep, err
}

func prNum(pr *promote.PR) int {
	if pr == nil {
		return 0
	}
	return pr.Number
}

// sameTree compares the trees of two commits and returns the merge's first
// parent (the base of its plan).
func sameTree(dir, mergeSHA, headSHA string) (same bool, mergeTree, headTree, parent string, err error) {
	r, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return false, "", "", "", fmt.Errorf("opening the checkout %s: %w", dir, err)
	}
	m, err := r.CommitObject(plumbing.NewHash(mergeSHA))
	if err != nil {
		return false, "", "", "", fmt.Errorf("reading merge commit %s: %w (check out the pushed commit with its history: fetch-depth: 0)", mergeSHA, err)
	}
	h, err := r.CommitObject(plumbing.NewHash(headSHA))
	if err != nil {
		return false, "", "", "", fmt.Errorf("reading PR head %s: %w (check out the pushed commit with its history: fetch-depth: 0)", headSHA, err)
	}
	if len(m.ParentHashes) > 0 {
		parent = m.ParentHashes[0].String()
	} else {
		return false, "", "", "", errors.New("the merge commit has no parent to plan against")
	}
	return m.TreeHash == h.TreeHash, m.TreeHash.String(), h.TreeHash.String(), parent, nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// Run implements Pipeline with flow.Run on the platform's executor (the
// local runner here; a Kubernetes platform runs the Action's executions
// through the runway server or CLI, see doc.go).
func (p *FlowPipeline) Run(ctx context.Context, req RunRequest) (*executor.Execution, error) {
	s, err := spec.Load(req.Repo)
	if err != nil {
		return nil, err
	}
	kind, name := registrar.KindWorkflow, req.Target
	if k, n, ok := strings.Cut(req.Target, "/"); ok {
		if kind, err = registrar.ParseKind(k); err != nil {
			return nil, err
		}
		name = n
	}
	if kind == registrar.KindTask {
		return nil, fmt.Errorf("run a workflow or a launch plan, not a task (%q)", req.Target)
	}
	args := make([]string, len(req.Inputs))
	for i, kv := range req.Inputs {
		args[i] = kv.Key + "=" + kv.Value
	}
	inputs, err := executor.ParseInputArgs(args, "")
	if err != nil {
		return nil, err
	}
	return flow.Run(ctx, flow.RunRequest{
		Store: p.store, Platform: p.platform, Log: p.log, Wait: true,
		Target: registrar.ID{Project: s.Project, Domain: req.Domain, Kind: kind, Name: name, Version: req.Version},
		Inputs: inputs,
	})
}
