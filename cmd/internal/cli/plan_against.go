package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// PlanAgainstOptions are `runway plan --against DOMAIN`'s.
type PlanAgainstOptions struct {
	Domain     string
	Base, Head string
	// Evidence holds --actor, --pr-author, --approved-by and --check.
	Evidence *PromoteOptions
	// Now counts the next fire times from (zero = now).
	Now time.Time
}

func runPlanAgainst(ctx context.Context, g *Global, o *PlanAgainstOptions) error {
	proj, err := g.project(KubernetesOptions{})
	if err != nil {
		return err
	}
	ev, err := o.Evidence.request("")
	if err != nil {
		return err
	}
	rep, err := flow.Against(ctx, proj, flow.AgainstRequest{
		PR:      flow.PRRequest{Repo: g.Repo, Domain: g.Domain, Base: o.Base, Head: o.Head},
		Against: o.Domain, Evidence: ev, Now: o.Now,
	})
	if err != nil {
		return err
	}
	if g.JSON() {
		return g.PrintJSON(rep)
	}
	writeAgainst(g.IO.Out, rep)
	return nil
}

// writeAgainst renders a flow.AgainstReport for the terminal.
func writeAgainst(w io.Writer, r *flow.AgainstReport) {
	fmt.Fprintf(w, "%s at %s against %s\n", r.Project, short12(r.Version), r.Against)
	if len(r.Compared) > 0 {
		vs := make([]string, len(r.Compared))
		for i, v := range r.Compared {
			vs[i] = short12(v)
		}
		fmt.Fprintf(w, "compared with %s's active versions: %s\n", r.Against, strings.Join(vs, ", "))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintf(w, "image:  %s\nbundle: %s\n", r.Image, r.Bundle)
	for _, e := range r.Entities {
		fmt.Fprintf(w, "\n%-9s %s/%s", e.Change, e.Kind, e.Name)
		if e.Compared != "" {
			fmt.Fprintf(w, "  (%s %s, %s)", r.Against, short12(e.Compared), e.Via)
		}
		fmt.Fprintln(w)
		for _, f := range e.Fields {
			fmt.Fprintf(w, "    %s\n", f)
		}
		if c := e.CacheKey; c != nil {
			switch {
			case c.Changed && c.Before == "":
				fmt.Fprintf(w, "    cache key: new (%s): nothing cached yet\n", short12(c.After))
			case c.Changed && c.After == "":
				fmt.Fprintf(w, "    cache key: none: the task is no longer cached\n")
			case c.Changed:
				fmt.Fprintf(w, "    cache key changes %s -> %s: every result is computed again\n", short12(c.Before), short12(c.After))
			case e.Change == flow.ChangeChanged:
				fmt.Fprintf(w, "    cache key unchanged (%s): results cached before this change are reused\n", short12(c.After))
			}
		}
		if s := e.Schedule; s != nil {
			if s.Before == s.After {
				fmt.Fprintf(w, "    schedule %q stays active in %s (promotion deactivates nothing): next %s\n", s.After, r.Against, fires(s.AfterFires))
			} else {
				fmt.Fprintf(w, "    schedule: %s -> %s\n", quoteOr(s.Before), quoteOr(s.After))
				if s.Before != "" {
					fmt.Fprintf(w, "      before, next: %s\n", fires(s.BeforeFires))
				}
				if s.After != "" {
					fmt.Fprintf(w, "      after, next:  %s\n", fires(s.AfterFires))
				}
			}
		}
		for _, x := range e.Resources {
			fmt.Fprintf(w, "    %s %s is above %s's %s\n", x.Field, x.Amount, r.Against, bound(x))
		}
	}
	c := r.Counts()
	fmt.Fprintf(w, "\n%d added, %d changed, %d removed, %d unchanged\n", c[flow.ChangeAdded], c[flow.ChangeChanged], c[flow.ChangeRemoved], c[flow.ChangeUnchanged])
	if p := r.Policy; p != nil {
		writePolicyPreview(w, p)
	}
}

func writePolicyPreview(w io.Writer, p *promote.PolicyPreview) {
	fmt.Fprintf(w, "\npromotion %s -> %s under %s\n", p.From, p.To, p.Rule)
	who := "anyone who may run runway promote"
	if len(p.Actors) > 0 {
		who = strings.Join(p.Actors, ", ")
	}
	if p.RequiredPermission != "" {
		who += fmt.Sprintf(" (with %s permission or higher)", p.RequiredPermission)
	}
	fmt.Fprintf(w, "  who may promote: %s\n", who)
	if ev := p.Evidence; ev != nil {
		for _, x := range ev.Executions {
			fmt.Fprintf(w, "  evidence: %s ran in execution %s\n", x.Entity, x.ID)
		}
		for _, x := range ev.Checks {
			fmt.Fprintf(w, "  evidence: check %s %s\n", x.Name, x.Conclusion)
		}
		if len(ev.Approvals) > 0 {
			fmt.Fprintf(w, "  evidence: approved by %s\n", strings.Join(ev.Approvals, ", "))
		}
	}
	if len(p.Missing) == 0 {
		fmt.Fprintf(w, "  nothing missing\n")
	}
	for _, v := range p.Missing {
		fmt.Fprintf(w, "  missing: %s: %s; to satisfy it: %s\n", v.Rule, v.Reason, v.Satisfy)
	}
}

func bound(x registrar.Excess) string {
	if x.Bound == registrar.BoundQuota {
		return fmt.Sprintf("quota %s of %s (one task alone)", x.Key, x.Max)
	}
	return fmt.Sprintf("ceiling of %s", x.Max)
}

func fires(ts []time.Time) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.UTC().Format("Mon 2006-01-02 15:04 UTC")
	}
	return strings.Join(s, ", ")
}

func quoteOr(s string) string {
	if s == "" {
		return "(none)"
	}
	return fmt.Sprintf("%q", s)
}

func short12(s string) string {
	if h, ok := strings.CutPrefix(s, "sha256:"); ok && len(h) > 12 {
		return "sha256:" + h[:12]
	}
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
