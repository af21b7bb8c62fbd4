package promote

import (
	"context"
	"strings"

	"github.com/runway-ci/runway/registrar"
)

// PolicyPreview is the policy a promotion would meet, evaluated now and
// without writing: who may promote, what evidence is already there and
// what is still missing.
type PolicyPreview struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Rule names the policy rule that applies ("promotion.rules[to=production]",
	// or the defaults when there is none).
	Rule string `json:"rule"`
	// Actors and RequiredPermission say who may promote ("" and none: anyone
	// who can run the promotion).
	Actors             []string `json:"actors,omitempty"`
	RequiredPermission string   `json:"requiredPermission,omitempty"`
	RequireExecution   bool     `json:"requireExecution,omitempty"`
	RequiredChecks     []string `json:"requiredChecks,omitempty"`
	Approvals          int      `json:"approvals,omitempty"`
	// Evidence is what the policy accepted already.
	Evidence *Evidence `json:"evidence"`
	// Missing lists the rules that would refuse the promotion now. Without
	// an actor in the request, the actor rules are left out: who promotes
	// is decided later, and Actors says who may.
	Missing []Violation `json:"missing"`
}

// Preview evaluates the policy for promoting ents (compiled, not yet in
// req.From) from req.From to req.To at req.Version with the evidence in req,
// the same rules as Promote (the store's published policy, when there is
// one) and writes nothing.
func (p *Promoter) Preview(ctx context.Context, req Request, ents []*registrar.Entity) (*PolicyPreview, error) {
	plat, closed, err := p.policyPlatform(ctx)
	if err != nil {
		return nil, err
	}
	q := *p
	q.plat = plat
	if err := q.validate(&req); err != nil {
		return nil, err
	}
	stored := make([]*registrar.Stored, len(ents))
	for i, e := range ents {
		stored[i] = &registrar.Stored{ID: e.ID(req.From), Entity: e}
	}
	ev, perr, err := q.evaluate(ctx, &req, stored)
	if err != nil {
		return nil, err
	}
	r, name := rule(plat, req.To)
	out := &PolicyPreview{From: req.From, To: req.To, Rule: name, Evidence: ev, Missing: []Violation{}}
	if r != nil {
		out.Actors, out.RequiredPermission = r.Actors, r.RequiredPermission
		out.RequireExecution, out.RequiredChecks, out.Approvals = r.RequireExecution, r.RequiredChecks, r.Approvals
	}
	if closed {
		if v, ok := closedViolation(plat, &req); !ok {
			out.Missing = append(out.Missing, v)
		}
	}
	for _, v := range perr.Violations {
		who := strings.HasSuffix(v.Rule, ".actors") || strings.HasSuffix(v.Rule, ".requiredPermission")
		if who && req.Actor.Login == "" {
			continue
		}
		out.Missing = append(out.Missing, v)
	}
	return out, nil
}
