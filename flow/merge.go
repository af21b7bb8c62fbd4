package flow

import (
	"context"
	"fmt"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/runway-ci/runway/promote"
)

// Merge paths.
const (
	// MergePromoteHead: the merge commit's tree equals the PR head's, so
	// the entities the PR registered and tested are promoted.
	MergePromoteHead = "promote-head"
	// MergeRegisterMerge: the trees differ (the base moved, or other
	// changes were merged), so the merge commit is planned against its
	// first parent, packaged and registered first, then promoted.
	MergeRegisterMerge = "register-merge"
)

// MergeRequest asks for merge-triggered promotion of a merged PR.
type MergeRequest struct {
	Repo     string // a checkout at MergeSHA, with history back to PRHead
	MergeSHA string // the commit the push brought to the default branch
	PRHead   string // the PR head that was tested
	// Promote says who promotes and with what evidence. From and To
	// default to the platform's promotion.onMerge and the first domain
	// allowed to promote into it; Version is decided here.
	Promote promote.Request
	// PR carries the pipeline options for registering the merge commit.
	PR PRRequest
}

// MergeReport says which path a merge took, why, and what it did.
type MergeReport struct {
	Path         string          `json:"path"`
	Reason       string          `json:"reason"`
	MergeTree    string          `json:"mergeTree"`
	HeadTree     string          `json:"headTree"`
	Version      string          `json:"version"`
	Registration *PRReport       `json:"registration,omitempty"`
	Promotion    *promote.Report `json:"promotion,omitempty"`
}

// Merge is merge-triggered promotion, the one implementation the CLI
// (`runway promote --on-merge`), the Action and the server share.
func Merge(ctx context.Context, p *Project, req MergeRequest) (*MergeReport, error) {
	if req.MergeSHA == "" || req.PRHead == "" {
		return nil, fmt.Errorf("%w: on-merge promotion needs both the merge commit and the PR head SHA", ErrUsage)
	}
	repo, err := git.PlainOpenWithOptions(req.Repo, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return nil, fmt.Errorf("opening %s to compare the merge with the PR head: %w", req.Repo, err)
	}
	mc, err := commitOf(repo, req.MergeSHA)
	if err != nil {
		return nil, err
	}
	hc, err := commitOf(repo, req.PRHead)
	if err != nil {
		return nil, err
	}
	preq := req.Promote
	if preq.To == "" {
		preq.To = p.Platform.Promote.OnMerge
	}
	if err := PromoteDefaults(p, &preq); err != nil {
		return nil, fmt.Errorf("on-merge promotion: %w", err)
	}
	if preq.PR == nil {
		preq.PR = &promote.PR{}
	}
	preq.PR.HeadSHA, preq.PR.MergeSHA = hc.Hash.String(), mc.Hash.String()
	mt, ht := mc.TreeHash.String(), hc.TreeHash.String()
	rep := &MergeReport{MergeTree: mt, HeadTree: ht}
	if mt == ht {
		rep.Path, rep.Version = MergePromoteHead, hc.Hash.String()
		rep.Reason = fmt.Sprintf("the merge commit %s has the same tree (%s) as the PR head %s, so the entities the PR registered and tested are promoted", short12(req.MergeSHA), short12(mt), short12(req.PRHead))
	} else {
		rep.Path, rep.Version = MergeRegisterMerge, mc.Hash.String()
		rep.Reason = fmt.Sprintf("the merge commit %s has tree %s but the PR head %s has %s (the base moved or other changes were merged), so the merge commit is packaged and registered into %s first", short12(req.MergeSHA), short12(mt), short12(req.PRHead), short12(ht), preq.From)
		// The image install step reads the checkout's files, so the
		// checkout must be the merge commit.
		head, err := repo.Head()
		if err != nil {
			return rep, fmt.Errorf("reading HEAD of %s: %w", req.Repo, err)
		}
		if head.Hash() != mc.Hash {
			return rep, fmt.Errorf("%s is checked out at %s; check out the merge commit %s to register it", req.Repo, short12(head.Hash().String()), short12(req.MergeSHA))
		}
		rr := req.PR
		rr.Repo, rr.Domain, rr.Head, rr.Version = req.Repo, preq.From, mc.Hash.String(), ""
		if len(mc.ParentHashes) > 0 {
			rr.Base = mc.ParentHashes[0].String()
		}
		reg, err := PR(ctx, p, rr)
		rep.Registration = reg
		if err != nil {
			return rep, fmt.Errorf("registering merge commit %s into %s: %w", short12(req.MergeSHA), preq.From, err)
		}
	}
	preq.Version = rep.Version
	if preq.Reason == "" {
		preq.Reason = "on merge: " + rep.Path
	}
	rep.Promotion, err = Promote(ctx, p, preq)
	return rep, err
}

func commitOf(repo *git.Repository, rev string) (*object.Commit, error) {
	h, err := repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return nil, fmt.Errorf("resolving %s (fetch it first, with history: fetch-depth: 0): %w", rev, err)
	}
	c, err := repo.CommitObject(*h)
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", rev, err)
	}
	return c, nil
}

func short12(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
