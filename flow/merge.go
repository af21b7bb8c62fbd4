package flow

import (
	"context"
	"errors"
	"fmt"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/runway-ci/runway/promote"
)

// Merge paths OnMerge can take.
const (
	// MergePromoteHead: the merge commit's tree equals the PR head's, so
	// the PR's tested entities (version = head SHA) are promoted.
	MergePromoteHead = "promote-head"
	// MergeRegisterMerge: the trees differ (the base moved, a merge or
	// squash combined other changes), so the merge commit is packaged and
	// registered first (version = merge SHA), then promoted.
	MergeRegisterMerge = "register-merge"
)

// MergeRequest is `runway promote --on-merge`.
type MergeRequest struct {
	// Repo is a checkout that holds both commits; when the trees differ it
	// must be checked out at MergeSHA (it is registered from there).
	Repo     string
	MergeSHA string
	PRHead   string
	// Register is the registration to run when the trees differ: Repo,
	// Domain (the promotion's source) and Version (MergeSHA) are set by
	// OnMerge; the caller provides the store, platform, packaging and log.
	Register RegisterRequest
	// Promote is the promotion: From defaults to the domain before To, To to
	// the platform's promotion.onMerge; Version is set by OnMerge.
	Promote  promote.Request
	Promoter *promote.Promoter
}

// MergeReport says which path OnMerge took and why, and what it did.
type MergeReport struct {
	Path         string          `json:"path"`
	Reason       string          `json:"reason"`
	MergeTree    string          `json:"mergeTree"`
	HeadTree     string          `json:"headTree"`
	Version      string          `json:"version"`
	Registration *RegisterReport `json:"registration,omitempty"`
	Promotion    *promote.Report `json:"promotion,omitempty"`
}

// OnMerge promotes what a merged PR ships. When tree(MergeSHA) ==
// tree(PRHead) the PR head's entities, which are what was tested, are
// promoted; otherwise the merge commit is registered into the source domain
// through Register (the PR pipeline) and then promoted. The report says
// which path was taken and why, also when an error follows.
func OnMerge(ctx context.Context, req MergeRequest) (*MergeReport, error) {
	if req.MergeSHA == "" || req.PRHead == "" {
		return nil, errors.New("on-merge promotion needs both the merge commit and the PR head SHA")
	}
	if req.Promoter == nil || req.Register.Platform == nil {
		return nil, errors.New("on-merge promotion needs a promoter and the platform config")
	}
	repo, err := git.PlainOpenWithOptions(req.Repo, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return nil, fmt.Errorf("opening %s to compare the merge with the PR head: %w", req.Repo, err)
	}
	mt, err := treeOf(repo, req.MergeSHA)
	if err != nil {
		return nil, err
	}
	ht, err := treeOf(repo, req.PRHead)
	if err != nil {
		return nil, err
	}
	plat := req.Register.Platform
	preq := req.Promote
	if preq.To == "" {
		preq.To = plat.Promote.OnMerge
	}
	if preq.From == "" {
		src := promote.AllowedSources(plat, preq.To)
		if len(src) == 0 {
			return nil, fmt.Errorf("on-merge promotion into %s: no domain may promote into it", preq.To)
		}
		preq.From = src[0]
	}
	if preq.PR == nil {
		preq.PR = &promote.PR{}
	}
	preq.PR.HeadSHA, preq.PR.MergeSHA = req.PRHead, req.MergeSHA
	rep := &MergeReport{MergeTree: mt, HeadTree: ht}
	if mt == ht {
		rep.Path, rep.Version = MergePromoteHead, req.PRHead
		rep.Reason = fmt.Sprintf("the merge commit %s has the same tree (%s) as the PR head %s, so the entities the PR registered and tested are promoted", short12(req.MergeSHA), short12(mt), short12(req.PRHead))
	} else {
		rep.Path, rep.Version = MergeRegisterMerge, req.MergeSHA
		rep.Reason = fmt.Sprintf("the merge commit %s has tree %s but the PR head %s has %s (the base moved or other changes were merged), so the merge commit is packaged and registered into %s first", short12(req.MergeSHA), short12(mt), short12(req.PRHead), short12(ht), preq.From)
		head, err := repo.Head()
		if err != nil {
			return rep, fmt.Errorf("reading HEAD of %s: %w", req.Repo, err)
		}
		if head.Hash().String() != req.MergeSHA {
			return rep, fmt.Errorf("%s is checked out at %s; check out the merge commit %s to register it", req.Repo, short12(head.Hash().String()), short12(req.MergeSHA))
		}
		rr := req.Register
		rr.Repo, rr.Domain, rr.Version = req.Repo, preq.From, req.MergeSHA
		reg, err := Register(ctx, rr)
		rep.Registration = reg
		if err != nil {
			return rep, err
		}
	}
	preq.Version = rep.Version
	if preq.Reason == "" {
		preq.Reason = "on merge: " + rep.Path
	}
	pr, err := req.Promoter.Promote(ctx, preq)
	rep.Promotion = pr
	return rep, err
}

func treeOf(repo *git.Repository, rev string) (string, error) {
	h, err := repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return "", fmt.Errorf("resolving %s (fetch it first): %w", rev, err)
	}
	c, err := repo.CommitObject(*h)
	if err != nil {
		return "", fmt.Errorf("reading commit %s: %w", rev, err)
	}
	return c.TreeHash.String(), nil
}

func short12(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
