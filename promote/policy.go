package promote

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/github"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

// Actor is who asks for a promotion, as the caller resolved it: the Action
// and the webhook server from GitHub, the CLI from --actor.
type Actor struct {
	Login string   `json:"login,omitempty"`
	Teams []string `json:"teams,omitempty"` // "@org/team"
	// Permission is the actor's repository permission (read, triage,
	// write, maintain, admin), when the caller resolved it.
	Permission string `json:"permission,omitempty"`
	// MemberOf asks whether the actor belongs to a team ("@org/team") that
	// Teams does not list; the Action and the server answer it from GitHub
	// (team membership). nil: only Teams counts.
	MemberOf func(ctx context.Context, team string) (bool, error) `json:"-"`
}

// rule returns the policy rule for promotions into to, and its name.
func rule(plat *platform.Config, to string) (*platform.PromotionRule, string) {
	for i := range plat.Promote.Rules {
		if plat.Promote.Rules[i].To == to {
			return &plat.Promote.Rules[i], fmt.Sprintf("promotion.rules[to=%s]", to)
		}
	}
	return nil, fmt.Sprintf("promotion.rules[to=%s] (none: defaults)", to)
}

// AllowedSources returns the domains a promotion into to may come from: the
// rule's From, else the domain before to in the platform's order.
func AllowedSources(plat *platform.Config, to string) []string {
	if r, _ := rule(plat, to); r != nil && len(r.From) > 0 {
		return r.From
	}
	names := plat.DomainNames()
	i := slices.Index(names, to)
	if i <= 0 {
		return nil
	}
	return []string{names[i-1]}
}

// NextDomain returns the domain after from in the platform's order.
func NextDomain(plat *platform.Config, from string) (string, bool) {
	names := plat.DomainNames()
	i := slices.Index(names, from)
	if i < 0 || i+1 >= len(names) {
		return "", false
	}
	return names[i+1], true
}

// checkPath checks that req.To may be reached from req.From. It returns
// the rule that decided, as a Violation when it refuses.
func checkPath(plat *platform.Config, req *Request) (Violation, bool) {
	r, name := rule(plat, req.To)
	sources := AllowedSources(plat, req.To)
	pathRule := name + ".from"
	if r == nil || len(r.From) == 0 {
		pathRule = "domains (order: " + strings.Join(plat.DomainNames(), " -> ") + ")"
	}
	switch {
	case len(sources) == 0:
		return Violation{Rule: pathRule, Reason: fmt.Sprintf("nothing may be promoted into %s, the first domain", req.To), Satisfy: "register into " + req.To + " instead"}, false
	case !slices.Contains(sources, pathName(plat, req.From)):
		return Violation{Rule: pathRule, Reason: fmt.Sprintf("%s may only be reached from %s, not from %s", req.To, strings.Join(sources, " or "), req.From),
			Satisfy: fmt.Sprintf("promote to %s first, then from there to %s, or have the platform team add %q to %s.from", sources[0], req.To, req.From, name)}, false
	}
	return Violation{Rule: pathRule}, true
}

// pathName is the domain that stands for d in promotion paths: a pull
// request's own domain stands for the first domain, which it replaces.
func pathName(plat *platform.Config, d string) string {
	if _, ok := plat.PRNumber(d); ok {
		return plat.Domains[0].Name
	}
	return d
}

// checkPolicy applies the platform policy to a promotion of ents and
// returns the evidence it accepted, or a *PolicyError listing every rule
// that refused. It writes nothing.
func (p *Promoter) checkPolicy(ctx context.Context, req *Request, ents []*registrar.Stored) (*Evidence, error) {
	ev, perr, err := p.evaluate(ctx, req, ents)
	if err != nil {
		return nil, err
	}
	return p.finish(perr, ev)
}

// evaluate applies the policy and returns both what it accepted and what
// it refused (perr.Violations, possibly none): checkPolicy refuses on the
// second, Preview shows both.
func (p *Promoter) evaluate(ctx context.Context, req *Request, ents []*registrar.Stored) (*Evidence, *PolicyError, error) {
	perr := &PolicyError{From: req.From, To: req.To, Version: req.Version}
	refuse := func(rule, reason, satisfy string) {
		perr.Violations = append(perr.Violations, Violation{Rule: rule, Reason: reason, Satisfy: satisfy})
	}
	ev := &Evidence{}
	r, name := rule(p.plat, req.To)

	// Path.
	if v, ok := checkPath(p.plat, req); !ok {
		perr.Violations = append(perr.Violations, v)
	} else {
		ev.Rules = append(ev.Rules, v.Rule)
	}
	if r == nil {
		return ev, perr, nil
	}

	// Who.
	if len(r.Actors) > 0 {
		allowed, err := actorAllowed(ctx, r.Actors, &req.Actor)
		if err != nil {
			return nil, nil, fmt.Errorf("checking %s: %w", name+".actors", err)
		}
		if allowed {
			ev.Rules = append(ev.Rules, name+".actors")
		} else if req.Actor.Login == "" {
			refuse(name+".actors", "no actor was given", "pass the identity of who promotes (--actor LOGIN; the Action and the server resolve it from GitHub); allowed: "+strings.Join(r.Actors, ", "))
		} else {
			refuse(name+".actors", fmt.Sprintf("%s is not allowed to promote to %s", req.Actor.Login, req.To), "ask one of "+strings.Join(r.Actors, ", "))
		}
	}
	if need := r.RequiredPermission; need != "" {
		have := req.Actor.Permission
		switch {
		case !github.KnownPermission(need):
			refuse(name+".requiredPermission", fmt.Sprintf("unknown permission %q in the platform config", need), "use read, triage, write, maintain or admin")
		case have == "":
			refuse(name+".requiredPermission", "the actor's repository permission was not resolved", fmt.Sprintf("promote through the Action or the server, which resolve it from GitHub (%s or higher is needed)", need))
		case github.PermissionRank(have) < github.PermissionRank(need):
			refuse(name+".requiredPermission", fmt.Sprintf("%s has %s permission", req.Actor.Login, have), fmt.Sprintf("%s or higher on the repository", need))
		default:
			ev.Rules = append(ev.Rules, name+".requiredPermission")
		}
	}

	// Checks.
	for _, want := range r.RequiredChecks {
		i := slices.IndexFunc(req.Checks, func(c Check) bool { return c.Name == want })
		switch {
		case i < 0:
			refuse(name+".requiredChecks", fmt.Sprintf("check %q has no result", want), fmt.Sprintf("run %q on the commit and pass its conclusion", want))
		case req.Checks[i].Conclusion != "success":
			refuse(name+".requiredChecks", fmt.Sprintf("check %q concluded %q", want, req.Checks[i].Conclusion), fmt.Sprintf("make %q succeed", want))
		default:
			ev.Checks = append(ev.Checks, req.Checks[i])
		}
	}
	if len(r.RequiredChecks) > 0 && len(ev.Checks) == len(r.RequiredChecks) {
		ev.Rules = append(ev.Rules, name+".requiredChecks")
	}

	// Approvals.
	if r.Approvals > 0 {
		author := ""
		if req.PR != nil {
			author = req.PR.Author
		}
		seen := map[string]bool{}
		for _, a := range req.Approvals {
			if a == "" || strings.EqualFold(a, author) || seen[strings.ToLower(a)] {
				continue
			}
			seen[strings.ToLower(a)] = true
			ev.Approvals = append(ev.Approvals, a)
		}
		sort.Strings(ev.Approvals)
		switch {
		case author == "":
			ev.Approvals = nil
			refuse(name+".approvals", "the PR author is unknown, so approvals by others cannot be told apart", "promote from a PR (the Action or the server pass its author; the CLI takes --pr-author)")
		case len(ev.Approvals) < r.Approvals:
			refuse(name+".approvals", fmt.Sprintf("%d approval(s) not by the author %s, %d needed", len(ev.Approvals), author, r.Approvals),
				fmt.Sprintf("%d more approval(s) from someone other than %s", r.Approvals-len(ev.Approvals), author))
		default:
			ev.Rules = append(ev.Rules, name+".approvals")
		}
	}

	// Execution in the source domain.
	if r.RequireExecution {
		found, missing, err := p.executionEvidence(ctx, req, ents)
		if err != nil {
			return nil, nil, err
		}
		ev.Executions = found
		if len(missing) > 0 {
			refuse(name+".requireExecution", fmt.Sprintf("no succeeded execution in %s ran %s", req.From, strings.Join(missing, ", ")),
				fmt.Sprintf("run them in %s (a workflow or launch plan run covers its tasks: runway run ... --domain %s --version %s) and promote again", req.From, req.From, req.Version))
		} else {
			ev.Rules = append(ev.Rules, name+".requireExecution")
		}
	}
	return ev, perr, nil
}

func (p *Promoter) finish(perr *PolicyError, ev *Evidence) (*Evidence, error) {
	if len(perr.Violations) > 0 {
		return nil, perr
	}
	return ev, nil
}

// actorAllowed reports whether a is one of allowed: "*", a login, or a
// "@org/team" that a.Teams lists or a.MemberOf confirms (a confirmed team
// is added to a.Teams, so the promotion record shows it).
func actorAllowed(ctx context.Context, allowed []string, a *Actor) (bool, error) {
	var teams []string
	for _, x := range allowed {
		switch {
		case x == "*":
			return true, nil
		case strings.HasPrefix(x, "@"):
			if slices.ContainsFunc(a.Teams, func(t string) bool { return strings.EqualFold(t, x) || strings.EqualFold("@"+t, x) }) {
				return true, nil
			}
			teams = append(teams, x)
		case a.Login != "" && strings.EqualFold(x, a.Login):
			return true, nil
		}
	}
	if a.MemberOf == nil || a.Login == "" {
		return false, nil
	}
	for _, team := range teams {
		ok, err := a.MemberOf(ctx, team)
		if err != nil {
			return false, fmt.Errorf("resolving whether %s is in %s: %w", a.Login, team, err)
		}
		if ok {
			a.Teams = append(a.Teams, team)
			return true, nil
		}
	}
	return false, nil
}

// executionEvidence finds, for every workflow and launch plan promoted (a
// launch plan through its workflow) and every task promoted, a succeeded
// execution in the source domain that ran it at this version. It returns the
// evidence found and the entities that have none.
func (p *Promoter) executionEvidence(ctx context.Context, req *Request, ents []*registrar.Stored) ([]ExecutionEvidence, []string, error) {
	exs, err := p.executions(ctx, p.store, req.Project, req.From)
	if err != nil {
		return nil, nil, fmt.Errorf("reading executions of %s in %s for the policy: %w", req.Project, req.From, err)
	}
	var found []ExecutionEvidence
	var missing []string
	for _, st := range ents {
		label := fmt.Sprintf("%s/%s@%s", st.ID.Kind, st.ID.Name, st.ID.Version)
		want := st.ID
		if st.Entity.LaunchPlan != nil {
			w := st.Entity.LaunchPlan.Workflow
			want = registrar.ID{Project: w.Project, Domain: req.From, Kind: registrar.KindWorkflow, Name: w.Name, Version: w.Version}
		}
		ex := findSucceeded(exs, want)
		if ex == nil {
			missing = append(missing, label)
			continue
		}
		e := ExecutionEvidence{Entity: label, Domain: req.From, ID: ex.ID, Target: ex.Target.String(), Status: string(ex.Status),
			Reference: store.ExecutionRepo(req.Project, req.From) + ":" + ex.ID}
		if ex.Finished != nil {
			e.Finished = ex.Finished.UTC()
		}
		found = append(found, e)
	}
	return found, missing, nil
}

// findSucceeded returns the newest succeeded execution that ran want (as its
// target, as its workflow, or, for a task, as a succeeded node).
func findSucceeded(exs []*executor.Execution, want registrar.ID) *executor.Execution {
	for _, ex := range exs { // newest first
		if ex.Status != executor.StatusSucceeded || ex.Project != want.Project {
			continue
		}
		if runs(ex, want) {
			return ex
		}
	}
	return nil
}

// runs reports whether execution ex ran entity id.
func runs(ex *executor.Execution, id registrar.ID) bool {
	t := ex.Target
	if t.Kind == id.Kind && t.Name == id.Name && t.Version == id.Version && t.Project == id.Project {
		return true
	}
	switch id.Kind {
	case registrar.KindWorkflow:
		w := ex.Workflow
		return w != nil && w.Project == id.Project && w.Name == id.Name && w.Version == id.Version
	case registrar.KindTask:
		for _, n := range ex.Nodes {
			if n.Task.Project == id.Project && n.Task.Name == id.Name && n.Task.Version == id.Version && n.Status == executor.StatusSucceeded {
				return true
			}
		}
	}
	return false
}
