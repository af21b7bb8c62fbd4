package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// Everything the pages show is read here, through the same functions the
// CLI uses (executor.Get and List, registrar.Get, promote.ReadRecords and
// Promoter.History). Nothing here writes.

// scope is one project's domain that holds something.
type scope struct{ Project, Domain string }

// entityName is one entity repository: project, domain, kind and name.
type entityName struct {
	Project string
	Domain  string
	Kind    registrar.Kind
	Name    string
}

// catalog is what the store holds, by repository name: the scopes with
// execution records and the entity repositories, domains in promotion
// order (then any others, sorted).
type catalog struct {
	Projects []string
	Domains  []string
	Scopes   []scope // with an execution repository
	Entities []entityName
}

func (h *Handler) catalog(ctx context.Context) (*catalog, error) {
	repos, err := h.store.Repositories(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("listing the repositories of %s: %w", h.store, err)
	}
	c := &catalog{}
	projects, domains := map[string]bool{}, map[string]bool{}
	for _, r := range repos {
		parts := strings.Split(r, "/")
		switch {
		case len(parts) == 3 && parts[2] == "execution":
			c.Scopes = append(c.Scopes, scope{parts[0], parts[1]})
		case len(parts) == 4:
			k, err := registrar.ParseKind(parts[2])
			if err != nil || string(k) != parts[2] {
				continue
			}
			c.Entities = append(c.Entities, entityName{parts[0], parts[1], k, parts[3]})
		default:
			continue
		}
		projects[parts[0]] = true
		domains[parts[1]] = true
	}
	c.Projects = sortedSet(projects)
	c.Domains = h.orderDomains(sortedSet(domains))
	rank := h.domainRank()
	sort.SliceStable(c.Scopes, func(i, j int) bool {
		a, b := c.Scopes[i], c.Scopes[j]
		if a.Project != b.Project {
			return a.Project < b.Project
		}
		return rank(a.Domain) < rank(b.Domain)
	})
	return c, nil
}

// domainRank orders domains as the platform promotes through them, then
// any unknown domain after them, by name.
func (h *Handler) domainRank() func(string) string {
	names := h.plat.DomainNames()
	return func(d string) string {
		if i := slices.Index(names, d); i >= 0 {
			return fmt.Sprintf("0%04d", i)
		}
		return "1" + d
	}
}

func (h *Handler) orderDomains(ds []string) []string {
	rank := h.domainRank()
	sort.SliceStable(ds, func(i, j int) bool { return rank(ds[i]) < rank(ds[j]) })
	return ds
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// executionFilter narrows the executions list; empty fields match all.
type executionFilter struct {
	Project    string `json:"project,omitempty"`
	Domain     string `json:"domain,omitempty"`
	Status     string `json:"status,omitempty"`
	LaunchPlan string `json:"launchplan,omitempty"`
}

func (f executionFilter) match(e *executor.Execution) bool {
	if f.Status != "" && string(e.Status) != f.Status {
		return false
	}
	if f.LaunchPlan != "" && (e.Target.Kind != registrar.KindLaunchPlan || e.Target.Name != f.LaunchPlan) {
		return false
	}
	return true
}

// executions lists the newest executions of every matching scope, newest
// first. Each scope contributes at most h.listLimit records (the newest).
func (h *Handler) executions(ctx context.Context, c *catalog, f executionFilter) ([]*executor.Execution, error) {
	var out []*executor.Execution
	for _, sc := range c.Scopes {
		if (f.Project != "" && sc.Project != f.Project) || (f.Domain != "" && sc.Domain != f.Domain) {
			continue
		}
		list, err := executor.List(ctx, h.store, sc.Project, sc.Domain, executor.ListOptions{Limit: h.listLimit})
		if err != nil {
			return nil, err
		}
		for _, e := range list {
			if f.match(e) {
				out = append(out, e)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out, nil
}

// launchPlans lists the launch plan names of the catalog, for the filter.
func (c *catalog) launchPlans() []string {
	set := map[string]bool{}
	for _, e := range c.Entities {
		if e.Kind == registrar.KindLaunchPlan {
			set[e.Name] = true
		}
	}
	return sortedSet(set)
}

// trail is everything known about one version of a project: the page
// "how did this SHA get here". It is the union of promote's History of
// every entity of the project at that version.
type trail struct {
	Project string `json:"project"`
	Version string `json:"version"`
	// PRs are the pull requests named by the version's records.
	PRs []promote.PR `json:"prs"`
	// Plan is the plan decision recorded when the version was registered
	// (nil: none was, such as for --version outside git).
	Plan *flow.PlanRecord `json:"plan"`
	// Images and Bundles are what the version's tasks run.
	Images   []string      `json:"images"`
	Bundles  []string      `json:"bundles"`
	Entities []trailEntity `json:"entities"`
	// Records are the promotions, activations and deactivations of the
	// version's entities, oldest first.
	Records []*promote.Record `json:"records"`
	// Runs are the executions of the version's entities, newest first.
	Runs []trailRun `json:"runs"`
}

// trailEntity is one entity of a version and where it is.
type trailEntity struct {
	Kind    registrar.Kind        `json:"kind"`
	Name    string                `json:"name"`
	Domains []promote.DomainState `json:"domains"`
	// Identical is true when every domain holds the same manifest digest.
	Identical bool `json:"identical"`
}

// trailRun is an execution that ran the version.
type trailRun struct {
	promote.ExecutionSummary
	Domain string `json:"domain"`
}

var errNothing = errors.New("nothing registered")

func (h *Handler) trail(ctx context.Context, c *catalog, project, version string) (*trail, error) {
	t := &trail{Project: project, Version: version,
		PRs: []promote.PR{}, Images: []string{}, Bundles: []string{}, Entities: []trailEntity{}, Records: []*promote.Record{}, Runs: []trailRun{}}
	p, err := promote.New(h.store, h.plat, promote.WithExecutions(h.memoExecutions()))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, en := range c.Entities {
		key := string(en.Kind) + "/" + en.Name
		if en.Project != project || seen[key] {
			continue
		}
		seen[key] = true
		hist, err := p.History(ctx, project, en.Kind, en.Name, promote.HistoryOptions{Version: version})
		if err != nil {
			return nil, err
		}
		for _, v := range hist.Versions {
			if len(v.Domains) == 0 {
				continue
			}
			te := trailEntity{Kind: en.Kind, Name: en.Name, Domains: v.Domains, Identical: identical(v.Domains)}
			t.Entities = append(t.Entities, te)
			for _, pr := range v.PRs {
				if !slices.Contains(t.PRs, pr) {
					t.PRs = append(t.PRs, pr)
				}
			}
			for _, i := range v.Images {
				if !slices.Contains(t.Images, i) {
					t.Images = append(t.Images, i)
				}
			}
			for _, b := range v.Bundles {
				if !slices.Contains(t.Bundles, b) {
					t.Bundles = append(t.Bundles, b)
				}
			}
		}
		for _, e := range hist.Events {
			if e.Record != nil {
				t.Records = append(t.Records, e.Record)
			}
			if e.Execution != nil && !slices.ContainsFunc(t.Runs, func(r trailRun) bool { return r.ID == e.Execution.ID && r.Domain == e.Domain }) {
				t.Runs = append(t.Runs, trailRun{ExecutionSummary: *e.Execution, Domain: e.Domain})
			}
		}
	}
	if len(t.Entities) == 0 {
		return nil, fmt.Errorf("project %s has no entity at version %s in any domain: %w", project, version, errNothing)
	}
	t.Plan, err = flow.ReadPlanRecord(ctx, h.store, project, version)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	sort.SliceStable(t.Entities, func(i, j int) bool {
		a, b := t.Entities[i], t.Entities[j]
		if a.Kind != b.Kind {
			return slices.Index(registrar.Kinds, a.Kind) < slices.Index(registrar.Kinds, b.Kind)
		}
		return a.Name < b.Name
	})
	sort.Strings(t.Images)
	sort.Strings(t.Bundles)
	sort.SliceStable(t.Records, func(i, j int) bool { return t.Records[i].Time.Before(t.Records[j].Time) })
	sort.SliceStable(t.Runs, func(i, j int) bool { return t.Runs[i].ID > t.Runs[j].ID })
	return t, nil
}

// identical reports whether every domain holds the same manifest and
// entity digests: what promotion by digest guarantees.
func identical(ds []promote.DomainState) bool {
	for _, d := range ds {
		if d.Manifest != ds[0].Manifest || d.Entity != ds[0].Entity {
			return false
		}
	}
	return true
}

// memoExecutions lists each domain's newest executions once per use, for
// the several History calls of one page.
func (h *Handler) memoExecutions() promote.ExecutionLister {
	memo := map[scope][]*executor.Execution{}
	return func(ctx context.Context, s store.Store, project, domain string) ([]*executor.Execution, error) {
		k := scope{project, domain}
		if l, ok := memo[k]; ok {
			return l, nil
		}
		l, err := executor.List(ctx, s, project, domain, executor.ListOptions{Limit: h.listLimit})
		if err != nil {
			return nil, err
		}
		memo[k] = l
		return l, nil
	}
}
