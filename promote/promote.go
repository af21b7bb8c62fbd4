package promote

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

// EntityName names one entity of a version ("workflow/train").
type EntityName struct {
	Kind registrar.Kind `json:"kind"`
	Name string         `json:"name"`
}

func (n EntityName) String() string { return string(n.Kind) + "/" + n.Name }

// ParseEntityName parses "KIND/NAME" (kinds as registrar.ParseKind takes them).
func ParseEntityName(s string) (EntityName, error) {
	k, n, ok := strings.Cut(s, "/")
	if !ok || n == "" || strings.Contains(n, "/") {
		return EntityName{}, fmt.Errorf("entity %q: want KIND/NAME, such as workflow/train", s)
	}
	kind, err := registrar.ParseKind(k)
	if err != nil {
		return EntityName{}, fmt.Errorf("entity %q: %w", s, err)
	}
	return EntityName{Kind: kind, Name: n}, nil
}

// Request asks for the entities of one version to be promoted.
type Request struct {
	Project string
	From    string
	To      string
	Version string
	// Entities limits the promotion to these entities and what they
	// reference at the same version; empty promotes every entity of the version.
	Entities []EntityName
	Actor    Actor
	PR       *PR
	// Checks and Approvals are evidence the caller resolved (from GitHub).
	Checks    []Check
	Approvals []string
	// Reason is free text kept in the records ("merge of #12").
	Reason string
}

// Status of one entity after a promotion.
type Status string

// Promotion statuses.
const (
	// StatusPromoted: copied now, record written.
	StatusPromoted Status = "promoted"
	// StatusUnchanged: already in the target with the same digest and a
	// promotion record; nothing written.
	StatusUnchanged Status = "unchanged"
	// StatusCompleted: already copied by an earlier, interrupted run that
	// wrote no record; the record was written now.
	StatusCompleted Status = "completed"
	// StatusFailed: not promoted (see the error).
	StatusFailed Status = "failed"
	// StatusSkipped: not attempted because an earlier entity failed.
	StatusSkipped Status = "not attempted"
)

// Result is the outcome for one entity.
type Result struct {
	ID registrar.ID `json:"id"` // in the target domain
	// Manifest is the manifest digest, equal in source and target.
	Manifest v1.Hash `json:"manifest"`
	Entity   v1.Hash `json:"entity"`
	Status   Status  `json:"status"`
	Rollback bool    `json:"rollback,omitempty"`
	Record   string  `json:"record,omitempty"` // the promotion record's digest
	Error    string  `json:"error,omitempty"`
}

// Report is what a promotion did.
type Report struct {
	Project     string              `json:"project"`
	From        string              `json:"from"`
	To          string              `json:"to"`
	Version     string              `json:"version"`
	Actor       string              `json:"actor,omitempty"`
	Evidence    *Evidence           `json:"evidence,omitempty"`
	Entities    []Result            `json:"entities"`
	Activations []*ActivationResult `json:"activations,omitempty"`
}

// Counts returns how many entities ended in each status.
func (r *Report) Counts() map[Status]int {
	c := map[Status]int{}
	for _, e := range r.Entities {
		c[e.Status]++
	}
	return c
}

// Promote checks the policy, then copies every entity of the version (or
// the named ones with what they reference) from req.From to req.To by digest,
// attaches a promotion record to each, and activates promoted launch plans
// in req.To. Nothing is written when the policy refuses (a *PolicyError,
// errors.Is ErrNotAllowed). A failure part-way returns the report so far
// and an error; running the same promotion again completes it.
func (p *Promoter) Promote(ctx context.Context, req Request) (*Report, error) {
	// The policy is the store's (see published.go), not the caller's.
	plat, closed, err := p.policyPlatform(ctx)
	if err != nil {
		return nil, err
	}
	q := *p
	q.plat = plat
	p = &q
	if err := p.validate(&req); err != nil {
		return nil, err
	}
	// The path needs nothing read: refuse a skipped domain before anything else.
	if v, ok := checkPath(p.plat, &req); !ok {
		return nil, &PolicyError{From: req.From, To: req.To, Version: req.Version, Violations: []Violation{v}}
	}
	if closed {
		if v, ok := closedViolation(p.plat, &req); !ok {
			return nil, &PolicyError{From: req.From, To: req.To, Version: req.Version, Violations: []Violation{v}}
		}
	}
	ents, err := p.resolve(ctx, &req)
	if err != nil {
		return nil, err
	}
	ev, err := p.checkPolicy(ctx, &req, ents)
	if err != nil {
		return nil, err
	}
	if err := p.checkExternalRefs(ctx, &req, ents); err != nil {
		return nil, err
	}
	if err := p.checkProvenance(ctx, &req, ents); err != nil {
		return nil, err
	}
	rep := &Report{Project: req.Project, From: req.From, To: req.To, Version: req.Version, Actor: req.Actor.Login, Evidence: ev}
	for _, st := range ents {
		rep.Entities = append(rep.Entities, Result{ID: withDomain(st.ID, req.To), Manifest: st.Manifest.Digest, Entity: st.Digest, Status: StatusSkipped})
	}
	// Entities are sorted tasks, workflows, launch plans: a failure never
	// leaves a workflow in the target whose tasks are missing.
	for i, st := range ents {
		res, err := p.promoteOne(ctx, &req, ev, st)
		rep.Entities[i] = res
		if err != nil {
			rep.Entities[i].Status = StatusFailed
			rep.Entities[i].Error = err.Error()
			return rep, &IncompleteError{Report: rep, Err: err}
		}
	}
	for _, st := range ents {
		if st.ID.Kind != registrar.KindLaunchPlan {
			continue
		}
		act, err := p.activate(ctx, withDomain(st.ID, req.To), activation{actor: req.Actor.Login, pr: req.PR, from: req.From, reason: req.Reason})
		if act != nil {
			rep.Activations = append(rep.Activations, act)
		}
		if err != nil {
			return rep, &IncompleteError{Report: rep, Err: err}
		}
	}
	return rep, nil
}

// IncompleteError is a promotion that stopped part-way. Report says what
// was promoted; running the same promotion again completes it.
type IncompleteError struct {
	Report *Report
	Err    error
}

func (e *IncompleteError) Error() string {
	var done, not []string
	for _, r := range e.Report.Entities {
		switch r.Status {
		case StatusPromoted, StatusUnchanged, StatusCompleted:
			done = append(done, fmt.Sprintf("%s/%s", r.ID.Kind, r.ID.Name))
		default:
			not = append(not, fmt.Sprintf("%s/%s", r.ID.Kind, r.ID.Name))
		}
	}
	msg := fmt.Sprintf("promotion of %s from %s to %s incomplete: %v", e.Report.Version, e.Report.From, e.Report.To, e.Err)
	if len(done) > 0 {
		msg += "\n  in " + e.Report.To + " (verified, with records): " + strings.Join(done, ", ")
	}
	if len(not) > 0 {
		msg += "\n  not promoted: " + strings.Join(not, ", ")
	}
	if !errors.Is(e.Err, ErrConflict) {
		msg += "\nrunning the same promotion again completes it"
	}
	return msg
}

func (e *IncompleteError) Unwrap() error { return e.Err }

func (p *Promoter) validate(req *Request) error {
	var errs []string
	if req.Project == "" {
		errs = append(errs, "no project")
	}
	if req.Version == "" {
		errs = append(errs, "no version")
	}
	for _, d := range []struct{ flag, name string }{{"from", req.From}, {"to", req.To}} {
		if d.name == "" {
			errs = append(errs, "no "+d.flag+" domain")
		} else if _, ok := p.plat.Domain(d.name); !ok {
			errs = append(errs, fmt.Sprintf("%s domain %q is not one of the platform's domains (%s)", d.flag, d.name, strings.Join(p.plat.DomainNames(), ", ")))
		}
	}
	if req.From != "" && req.From == req.To {
		errs = append(errs, "from and to are the same domain")
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid promotion request: %s", strings.Join(errs, "; "))
	}
	return nil
}

func withDomain(id registrar.ID, domain string) registrar.ID {
	id.Domain = domain
	return id
}

// resolve reads the entities to promote from the source domain: all of the
// version, or the named ones plus what they reference at the same version
// in the same project. Reading verifies every entity's digest.
func (p *Promoter) resolve(ctx context.Context, req *Request) ([]*registrar.Stored, error) {
	byKey := map[string]*registrar.Stored{}
	key := func(k registrar.Kind, n string) string { return string(k) + "/" + n }
	if len(req.Entities) == 0 {
		all, err := registrar.List(ctx, p.store, req.Project, req.From, "")
		if err != nil {
			return nil, fmt.Errorf("listing %s in %s: %w", req.Project, req.From, err)
		}
		for _, st := range all {
			if st.ID.Version == req.Version {
				byKey[key(st.ID.Kind, st.ID.Name)] = st
			}
		}
		if len(byKey) == 0 {
			return nil, fmt.Errorf("nothing of %s is registered at version %s in %s: %w", req.Project, req.Version, req.From, store.ErrNotFound)
		}
	} else {
		var add func(k registrar.Kind, n string) error
		add = func(k registrar.Kind, n string) error {
			if byKey[key(k, n)] != nil {
				return nil
			}
			st, err := registrar.Get(ctx, p.store, registrar.ID{Project: req.Project, Domain: req.From, Kind: k, Name: n, Version: req.Version})
			if err != nil {
				return fmt.Errorf("reading what to promote: %w", err)
			}
			byKey[key(k, n)] = st
			for _, r := range localRefs(st.Entity, req.Project, req.Version) {
				if err := add(r.Kind, r.Name); err != nil {
					return err
				}
			}
			return nil
		}
		for _, n := range req.Entities {
			if err := add(n.Kind, n.Name); err != nil {
				return nil, err
			}
		}
	}
	out := make([]*registrar.Stored, 0, len(byKey))
	for _, st := range byKey {
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b *registrar.Stored) int {
		if c := kindOrder(a.ID.Kind) - kindOrder(b.ID.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.ID.Name, b.ID.Name)
	})
	return out, nil
}

func kindOrder(k registrar.Kind) int { return slices.Index(registrar.Kinds, k) }

// ref is an entity an entity references.
type ref struct {
	Kind                   registrar.Kind
	Project, Name, Version string
}

// refs lists what e references: a workflow's tasks, a launch plan's workflow.
func refs(e *registrar.Entity) []ref {
	var out []ref
	if e.Workflow != nil {
		for _, n := range e.Workflow.Nodes {
			out = append(out, ref{registrar.KindTask, n.Task.Project, n.Task.Name, n.Task.Version})
		}
	}
	if e.LaunchPlan != nil {
		w := e.LaunchPlan.Workflow
		out = append(out, ref{registrar.KindWorkflow, w.Project, w.Name, w.Version})
	}
	return out
}

func localRefs(e *registrar.Entity, project, version string) []ref {
	var out []ref
	for _, r := range refs(e) {
		if r.Project == project && r.Version == version {
			out = append(out, r)
		}
	}
	return out
}

// checkExternalRefs refuses a promotion whose entities reference something
// that is neither promoted with them nor already in the target domain (a
// pinned entity of another project or version): the target could not run it.
func (p *Promoter) checkExternalRefs(ctx context.Context, req *Request, ents []*registrar.Stored) error {
	have := map[ref]bool{}
	for _, st := range ents {
		have[ref{st.ID.Kind, st.ID.Project, st.ID.Name, st.ID.Version}] = true
	}
	var missing []string
	for _, st := range ents {
		for _, r := range refs(st.Entity) {
			if have[r] {
				continue
			}
			_, err := registrar.Get(ctx, p.store, registrar.ID{Project: r.Project, Domain: req.To, Kind: r.Kind, Name: r.Name, Version: r.Version})
			switch {
			case err == nil:
				have[r] = true
			case errors.Is(err, store.ErrNotFound):
				missing = append(missing, fmt.Sprintf("%s/%s references %s %s/%s@%s, which is not in %s", st.ID.Kind, st.ID.Name, r.Kind, r.Project, r.Name, r.Version, req.To))
			default:
				return fmt.Errorf("checking references of %s/%s in %s: %w", st.ID.Kind, st.ID.Name, req.To, err)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("promoting %s to %s would leave references that cannot run:\n  %s\npromote those first (or promote the whole version)", req.Version, req.To, strings.Join(missing, "\n  "))
	}
	return nil
}
