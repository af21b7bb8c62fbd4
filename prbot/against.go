package prbot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// against is the sticky comment's "what production would get" section:
// flow.Against for the platform's last domain, as a dry run, with the PR
// author as evidence (approvals and checks are not read from GitHub here,
// so the policy lists them as missing until promotion resolves them). Nil,
// with a warning, when it cannot be computed; nil when the PR registers
// into the last domain itself.
func (r *run) against(ctx context.Context, dir string, v *prView) *flow.AgainstReport {
	names := r.Project.Platform.DomainNames()
	target := names[len(names)-1]
	if target == r.Domain {
		return nil
	}
	ev := promote.Request{}
	if v.Author != "" {
		ev.PR = &promote.PR{Author: v.Author}
	}
	rep, err := flow.Against(ctx, r.Project, flow.AgainstRequest{
		PR:      flow.PRRequest{Repo: dir, Base: v.Base, Head: v.Head, Domain: r.Domain},
		Against: target, Evidence: ev,
	})
	if err != nil {
		r.report().Warning(fmt.Sprintf("comparing with %s: %s", target, err))
		return nil
	}
	return rep
}

// writeAgainst renders flow.Against's report as a collapsible section.
func writeAgainst(b *strings.Builder, a *flow.AgainstReport) {
	if a == nil {
		return
	}
	c := a.Counts()
	fmt.Fprintf(b, "<details><summary>If merged and promoted to %s: %d added, %d changed, %d removed, %d unchanged", code(a.Against),
		c[flow.ChangeAdded], c[flow.ChangeChanged], c[flow.ChangeRemoved], c[flow.ChangeUnchanged])
	if p := a.Policy; p != nil && len(p.Missing) > 0 {
		fmt.Fprintf(b, "; %d policy rule(s) not met yet", len(p.Missing))
	}
	b.WriteString("</summary>\n\n")
	if len(a.Compared) > 0 {
		vs := make([]string, len(a.Compared))
		for i, v := range a.Compared {
			vs[i] = code(shortSHA(v))
		}
		fmt.Fprintf(b, "Compared with the versions active in %s: %s.\n\n", code(a.Against), strings.Join(vs, ", "))
	}
	for _, n := range a.Notes {
		fmt.Fprintf(b, "> %s\n\n", md(n))
	}
	b.WriteString("| entity | change | compared with | details |\n|---|---|---|---|\n")
	for _, e := range a.Entities {
		var d []string
		for _, f := range e.Fields {
			d = append(d, code(f))
		}
		if k := e.CacheKey; k != nil && k.Changed {
			d = append(d, "**cache key changes**: results are computed again")
		}
		if s := e.Schedule; s != nil && s.Before != s.After {
			d = append(d, fmt.Sprintf("schedule %s → %s, next: %s", code(orNone(s.Before)), code(orNone(s.After)), md(fireList(s.AfterFires))))
		}
		for _, x := range e.Resources {
			what := "ceiling"
			if x.Bound == registrar.BoundQuota {
				what = "quota " + x.Key
			}
			d = append(d, fmt.Sprintf("⚠️ %s %s is above %s's %s of %s", code(x.Field), code(x.Amount), md(a.Against), md(what), code(x.Max)))
		}
		compared := ""
		if e.Compared != "" {
			compared = code(shortSHA(e.Compared)) + " (" + md(e.Via) + ")"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", code(string(e.Kind)+"/"+e.Name), md(e.Change), compared, strings.Join(d, "<br>"))
	}
	b.WriteString("\n")
	if p := a.Policy; p != nil {
		who := "anyone who may promote"
		if len(p.Actors) > 0 {
			who = md(strings.Join(p.Actors, ", "))
		}
		if p.RequiredPermission != "" {
			who += " with " + md(p.RequiredPermission) + " permission or higher"
		}
		fmt.Fprintf(b, "Promotion %s → %s (%s): %s may promote.", code(p.From), code(p.To), code(p.Rule), who)
		if len(p.Missing) == 0 {
			b.WriteString(" Nothing is missing.\n\n")
		} else {
			b.WriteString(" Still missing:\n\n")
			for _, v := range p.Missing {
				fmt.Fprintf(b, "- %s: %s; %s\n", code(v.Rule), md(v.Reason), md(v.Satisfy))
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("</details>\n\n")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func fireList(ts []time.Time) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.UTC().Format("Mon 2006-01-02 15:04 UTC")
	}
	return strings.Join(s, ", ")
}
