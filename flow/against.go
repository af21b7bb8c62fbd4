package flow

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/fastreg"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// AgainstRequest asks what a domain (production) would get if a revision
// were merged and promoted there: `runway plan --against production` and
// the sticky comment's section.
type AgainstRequest struct {
	// PR names the revision as the PR pipeline does (Repo, Base, Head,
	// Domain, Version); it is planned, compiled and packaged as a dry run.
	PR PRRequest
	// Against is the domain compared with ("" = the platform's last).
	Against string
	// Evidence the caller already has for the promotion policy: actor, PR
	// (author), checks and approvals. From, To, Project and Version are
	// filled here.
	Evidence promote.Request
	// Now is when the next fire times are counted from (zero = time.Now).
	Now time.Time
}

// Entity changes.
const (
	ChangeAdded     = "added"
	ChangeChanged   = "changed"
	ChangeRemoved   = "removed"
	ChangeUnchanged = "unchanged"
)

// AgainstReport is what the target domain would get, entity by entity.
type AgainstReport struct {
	Project string `json:"project"`
	Against string `json:"against"`
	// Version is the revision's version, Base and MergeBase the PR's.
	Version   string `json:"version"`
	Base      string `json:"base,omitempty"`
	MergeBase string `json:"mergeBase,omitempty"`
	// Compared lists the target's versions the entities were compared
	// with, and Notes what that means for a base that moved on.
	Compared []string               `json:"compared"`
	Notes    []string               `json:"notes,omitempty"`
	Entities []EntityChange         `json:"entities"`
	Policy   *promote.PolicyPreview `json:"policy,omitempty"`
	// Code is how the revision's image and bundle were found (the
	// comparison writes nothing, so a bundle not pushed yet is built in
	// memory and an image not built yet is named by its tag).
	Image  string `json:"image"`
	Bundle string `json:"bundle"`
}

// Counts returns how many entities have each change.
func (r *AgainstReport) Counts() map[string]int {
	c := map[string]int{}
	for _, e := range r.Entities {
		c[e.Change]++
	}
	return c
}

// EntityChange is one entity of the revision or of the target domain.
type EntityChange struct {
	Kind   registrar.Kind `json:"kind"`
	Name   string         `json:"name"`
	Change string         `json:"change"`
	// Compared is the target's version it was compared with, and Via why
	// that one ("active", "active launch plan nightly", "newest").
	Compared string `json:"compared,omitempty"`
	Via      string `json:"via,omitempty"`
	// Fields are registrar.Diff's "path: old -> new" lines, versions of
	// the entity itself and of its same-version references left out.
	Fields    []string           `json:"fields,omitempty"`
	CacheKey  *CacheKeyChange    `json:"cacheKey,omitempty"`
	Schedule  *ScheduleChange    `json:"schedule,omitempty"`
	Resources []registrar.Excess `json:"resources,omitempty"`
}

// CacheKeyChange compares a task's cache key scheme (executor.SchemeKey)
// in the target: when it changes, no cached result is reused.
type CacheKeyChange struct {
	Before  string `json:"before,omitempty"` // "" = not cached
	After   string `json:"after,omitempty"`
	Changed bool   `json:"changed"`
}

// ScheduleChange is a launch plan's schedule before and after, with the
// next fire times of each (UTC).
type ScheduleChange struct {
	Before      string      `json:"before,omitempty"`
	After       string      `json:"after,omitempty"`
	BeforeFires []time.Time `json:"beforeFires,omitempty"`
	AfterFires  []time.Time `json:"afterFires,omitempty"`
}

// fireCount is how many next fire times a schedule change shows.
const fireCount = 3

// Against compares a revision with what a domain runs, as a dry run that
// writes nothing. The target's version of each entity is its ACTIVE one:
//
//   - a launch plan: the version its `active` tag points at (an inactive
//     launch plan: its newest version, said so);
//   - a workflow or task: the version an active launch plan references
//     (through its workflow's nodes), because that is what runs; one no
//     active launch plan reaches: its newest version in the domain.
//
// The revision is compared as the PR head: a merge whose tree equals the
// head's promotes exactly these entities (flow.Merge). When the target runs
// a version the branch does not contain (the base moved on), the notes say
// so and name it, because on merge the merge commit is registered instead.
func Against(ctx context.Context, p *Project, req AgainstRequest) (*AgainstReport, error) {
	target := req.Against
	if target == "" {
		names := p.Platform.DomainNames()
		target = names[len(names)-1]
	}
	if err := p.CheckDomain(target); err != nil {
		return nil, err
	}
	dom, _ := p.Platform.Domain(target)
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	preq := req.PR
	preq.DryRun, preq.ValidateOnly = true, false
	if preq.Domain == "" {
		preq.Domain = p.Platform.Domains[0].Name
	}
	prep, ents, b, err := p.compilePR(ctx, preq)
	if err != nil {
		return nil, err
	}
	s, v := prep.Spec, prep.Version
	if b, err = p.codeInMemory(ctx, preq, prep, b); err != nil {
		return nil, err
	}
	registrar.Bind(ents, b)
	rep := &AgainstReport{Project: s.Project, Against: target, Version: v.Version, Image: b.Image, Bundle: b.Bundle, Compared: []string{}}
	if pl := prep.Plan; pl != nil {
		rep.Base, rep.MergeBase = pl.Base, pl.MergeBase
	}

	base, err := activeBaseline(ctx, p.Store, s.Project, target)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, e := range ents {
		k := string(e.Kind) + "/" + e.Name
		seen[k] = true
		c := EntityChange{Kind: e.Kind, Name: e.Name, Change: ChangeAdded}
		var old *registrar.Entity
		if bl := base[k]; bl != nil {
			old = bl.st.Entity
			c.Compared, c.Via = bl.st.ID.Version, bl.via
			c.Fields = versionlessDiff(old, e)
			c.Change = ChangeUnchanged
			if len(c.Fields) > 0 {
				c.Change = ChangeChanged
			}
		}
		switch e.Kind {
		case registrar.KindTask:
			if c.CacheKey, err = cacheKeyChange(s.Project, target, old, e); err != nil {
				return nil, err
			}
			c.Resources = registrar.Exceeds(dom, e.Task.Resources.Requests, e.Task.Resources.Limits)
		case registrar.KindLaunchPlan:
			before := ""
			if old != nil {
				before = old.LaunchPlan.Schedule
			}
			c.Schedule = scheduleChange(before, e.LaunchPlan.Schedule, now)
		}
		rep.Entities = append(rep.Entities, c)
	}
	var removed []EntityChange
	for k, bl := range base {
		if seen[k] {
			continue
		}
		c := EntityChange{Kind: bl.st.ID.Kind, Name: bl.st.ID.Name, Change: ChangeRemoved, Compared: bl.st.ID.Version, Via: bl.via}
		if lp := bl.st.Entity.LaunchPlan; lp != nil && lp.Schedule != "" && bl.via == viaActive {
			c.Schedule = scheduleChange(lp.Schedule, lp.Schedule, now) // promotion deactivates nothing: it keeps firing
		}
		removed = append(removed, c)
	}
	sort.Slice(removed, func(i, j int) bool { return entityLess(removed[i], removed[j]) })
	rep.Entities = append(rep.Entities, removed...)

	versions := map[string]bool{}
	for _, bl := range base {
		versions[bl.st.ID.Version] = true
	}
	for ver := range versions {
		rep.Compared = append(rep.Compared, ver)
	}
	sort.Strings(rep.Compared)
	rep.Notes = staleNotes(preq.Repo, target, rep.Compared, rep.MergeBase, v.Commit)

	if rep.Policy, err = p.previewPolicy(ctx, req.Evidence, s.Project, target, v.Version, ents); err != nil {
		return nil, err
	}
	return rep, nil
}

// codeInMemory names the image and bundle the revision would register
// with, writing nothing: a bundle not pushed yet is built in memory for its
// digest; an image not built yet is named by its dependency tag.
func (p *Project) codeInMemory(ctx context.Context, req PRRequest, rep *PRReport, b registrar.Build) (registrar.Build, error) {
	pl := rep.Plan
	if pl == nil {
		return b, nil
	}
	if b.Bundle == "" {
		limits, err := p.bundleLimits(req.MaxSize)
		if err != nil {
			return b, err
		}
		bundle, err := fastreg.Build(ctx, req.Repo, append(p.bundleOptions(rep.Spec, limits, req.BundleOptions), fastreg.WithRevision(pl.Head))...)
		if err != nil {
			return b, err
		}
		b.Bundle = bundle.Digest.String()
		bundle.Close()
	}
	if b.Image == "" {
		b.Image = p.Store.String() + "/" + store.ImageRepo(rep.Spec.Project) + ":" + store.ImageTag(pl.Image.Hash) + " (not built yet)"
	}
	return b, nil
}

// baseline is the target's version of one entity and why that one.
type baseline struct {
	st  *registrar.Stored
	via string
}

const (
	viaActive = store.ActiveTag // a launch plan's own active version
	viaNewest = "newest"
)

// activeBaseline finds the target domain's active version of every entity
// of project (see Against), keyed "kind/name".
func activeBaseline(ctx context.Context, s store.Store, project, domain string) (map[string]*baseline, error) {
	prefix := store.DomainPrefix(project, domain)
	repos, err := s.Repositories(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", prefix, err)
	}
	names := map[registrar.Kind][]string{}
	for _, r := range repos {
		parts := strings.Split(strings.TrimPrefix(r, prefix), "/")
		if len(parts) != 2 {
			continue // cache, execution, ...
		}
		if k, err := registrar.ParseKind(parts[0]); err == nil {
			names[k] = append(names[k], parts[1])
		}
	}
	out := map[string]*baseline{}
	get := func(kind registrar.Kind, name, version, via string) (*registrar.Stored, error) {
		st, err := registrar.Get(ctx, s, registrar.ID{Project: project, Domain: domain, Kind: kind, Name: name, Version: version})
		if err != nil {
			return nil, err
		}
		if out[string(kind)+"/"+name] == nil {
			out[string(kind)+"/"+name] = &baseline{st: st, via: via}
		}
		return st, nil
	}
	sort.Strings(names[registrar.KindLaunchPlan])
	for _, n := range names[registrar.KindLaunchPlan] { // active launch plans first: they decide what runs
		v, _, err := promote.ActiveVersion(ctx, s, project, domain, n)
		if errors.Is(err, promote.ErrNotActive) {
			continue
		}
		if err != nil {
			return nil, err
		}
		lp, err := get(registrar.KindLaunchPlan, n, v, viaActive)
		if err != nil {
			return nil, err
		}
		w := lp.Entity.LaunchPlan.Workflow
		if w.Project != project {
			continue
		}
		wf, err := get(registrar.KindWorkflow, w.Name, w.Version, "active launch plan "+n)
		if err != nil {
			return nil, err
		}
		for _, node := range wf.Entity.Workflow.Nodes {
			if node.Task.Project == project {
				if _, err := get(registrar.KindTask, node.Task.Name, node.Task.Version, "active launch plan "+n); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, k := range registrar.Kinds {
		for _, n := range names[k] {
			if out[string(k)+"/"+n] != nil {
				continue
			}
			via := viaNewest
			if k == registrar.KindLaunchPlan {
				via = "newest (not active)"
			}
			if _, err := get(k, n, "", via); err != nil && !registrar.IsNotFound(err) {
				return nil, err
			}
		}
	}
	return out, nil
}

// versionlessDiff is registrar.Diff with the version of each entity, and of
// every same-project reference at that version, left out: every revision
// has a new version, and only what it changes matters.
func versionlessDiff(old, cur *registrar.Entity) []string {
	return registrar.Diff(withoutVersion(old), withoutVersion(cur))
}

func withoutVersion(e *registrar.Entity) *registrar.Entity {
	b, err := e.Canonical()
	if err != nil {
		return e
	}
	c, err := registrar.Decode(b) // a deep copy
	if err != nil {
		return e
	}
	strip := func(r *registrar.Ref) {
		if r.Project == e.Project && r.Version == e.Version {
			r.Version = ""
		}
	}
	c.Version = ""
	if w := c.Workflow; w != nil {
		for i := range w.Nodes {
			strip(&w.Nodes[i].Task)
		}
	}
	if lp := c.LaunchPlan; lp != nil {
		strip(&lp.Workflow)
	}
	return c
}

func cacheKeyChange(project, domain string, old, cur *registrar.Entity) (*CacheKeyChange, error) {
	key := func(e *registrar.Entity) (string, error) {
		if e == nil {
			return "", nil
		}
		return executor.SchemeKey(project, domain, e.Name, e.Task)
	}
	before, err := key(old)
	if err != nil {
		return nil, err
	}
	after, err := key(cur)
	if err != nil {
		return nil, err
	}
	if before == "" && after == "" {
		return nil, nil
	}
	return &CacheKeyChange{Before: before, After: after, Changed: before != after}, nil
}

// scheduleChange is nil when the schedule stays as it is.
func scheduleChange(before, after string, now time.Time) *ScheduleChange {
	if before == after && before == "" {
		return nil
	}
	c := &ScheduleChange{Before: before, After: after}
	if before != "" {
		c.BeforeFires, _ = promote.NextFires(before, now.UTC(), fireCount)
	}
	if after != "" {
		c.AfterFires, _ = promote.NextFires(after, now.UTC(), fireCount)
	}
	return c
}

func entityLess(a, b EntityChange) bool {
	if a.Kind != b.Kind {
		return kindIndex(a.Kind) < kindIndex(b.Kind)
	}
	return a.Name < b.Name
}

func kindIndex(k registrar.Kind) int {
	for i, x := range registrar.Kinds {
		if x == k {
			return i
		}
	}
	return len(registrar.Kinds)
}

// staleNotes say how the target's versions relate to the branch.
func staleNotes(repoDir, target string, compared []string, mergeBase, head string) []string {
	if len(compared) == 0 {
		return []string{fmt.Sprintf("%s has none of this project's entities yet: everything is added", target)}
	}
	repo, err := git.PlainOpenWithOptions(repoDir, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil || head == "" {
		return nil
	}
	hc, err := commitOf(repo, head)
	if err != nil {
		return nil
	}
	var notes []string
	for _, v := range compared {
		c, err := commitOf(repo, v)
		switch {
		case v == mergeBase:
			notes = append(notes, fmt.Sprintf("%s runs %s, this branch's merge-base: the diff is this branch's own change", target, short12(v)))
		case err != nil:
			notes = append(notes, fmt.Sprintf("%s runs %s, which is not a commit of this repository's history here (fetch it to compare)", target, short12(v)))
		default:
			if ok, _ := c.IsAncestor(hc); ok {
				notes = append(notes, fmt.Sprintf("%s runs %s, older than this branch's merge-base %s: the diff also holds changes merged before the branch was cut that %s does not run yet",
					target, short12(v), short12(mergeBase), target))
			} else {
				notes = append(notes, fmt.Sprintf("%s runs %s, which this branch does not contain (the base moved on since the branch was cut): the diff is against it, and on merge the merge commit is registered and promoted instead of the head; rebase to compare exactly",
					target, short12(v)))
			}
		}
	}
	return notes
}

// previewPolicy is the promotion policy into target, with the evidence
// known now. Nil when nothing may be promoted into target (the first
// domain).
func (p *Project) previewPolicy(ctx context.Context, ev promote.Request, project, target, version string, ents []*registrar.Entity) (*promote.PolicyPreview, error) {
	ev.Project, ev.To, ev.Version = project, target, version
	if ev.From == "" {
		src := promote.AllowedSources(p.Platform, target)
		if len(src) == 0 {
			return nil, nil
		}
		ev.From = src[0]
	}
	pr, err := promote.New(p.Store, p.Platform, promote.WithLogger(p.Log))
	if err != nil {
		return nil, err
	}
	return pr.Preview(ctx, ev, ents)
}
