package promote

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

// Event types of a history.
const (
	EventRegistration = "registration"
	EventExecution    = "execution"
	EventPromotion    = "promotion"
	EventActivation   = "activation"
	EventDeactivation = "deactivation"
)

// History is the audit trail of one entity: every version asked for, where
// it is, and every event in time order.
type History struct {
	Project  string           `json:"project"`
	Kind     registrar.Kind   `json:"kind"`
	Name     string           `json:"name"`
	Versions []VersionHistory `json:"versions"`
	Events   []Event          `json:"events"`
	Verify   *VerifyReport    `json:"verify,omitempty"`
}

// VersionHistory is what is known about one version.
type VersionHistory struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	// PRs are the pull requests named by the version's records.
	PRs []PR `json:"prs,omitempty"`
	// Images and Bundles are what the version runs (a workflow's or launch
	// plan's through its tasks).
	Images  []string      `json:"images,omitempty"`
	Bundles []string      `json:"bundles,omitempty"`
	Domains []DomainState `json:"domains"`
}

// DomainState is a version in one domain.
type DomainState struct {
	Domain   string `json:"domain"`
	Manifest string `json:"manifest"`
	Entity   string `json:"entity"`
	// Via is "registered" or "promoted from DOMAIN".
	Via    string `json:"via"`
	Active bool   `json:"active,omitempty"`
}

// Event is one step of the chain.
type Event struct {
	Time      time.Time         `json:"time"`
	Type      string            `json:"type"`
	Domain    string            `json:"domain"`
	Version   string            `json:"version"`
	Actor     string            `json:"actor,omitempty"`
	Summary   string            `json:"summary"`
	Record    *Record           `json:"record,omitempty"`
	Execution *ExecutionSummary `json:"execution,omitempty"`
}

// ExecutionSummary is an execution that ran the entity.
type ExecutionSummary struct {
	ID        string         `json:"id"`
	Target    string         `json:"target"`
	Status    string         `json:"status"`
	Error     string         `json:"error,omitempty"`
	Outputs   map[string]any `json:"outputs,omitempty"`
	Reference string         `json:"reference"`
}

// HistoryOptions narrow History.
type HistoryOptions struct {
	// Version limits the history to one version ("" = every version found
	// in any domain).
	Version string
	// Verify re-hashes every entity in every domain (see Verify).
	Verify bool
}

// History gathers the chain of an entity across the platform's domains:
// registrations, executions, promotions with actor and evidence,
// activations and deactivations, in time order.
func (p *Promoter) History(ctx context.Context, project string, kind registrar.Kind, name string, o HistoryOptions) (*History, error) {
	h := &History{Project: project, Kind: kind, Name: name, Versions: []VersionHistory{}, Events: []Event{}}
	domains := p.plat.DomainNames()
	versions, err := p.versions(ctx, project, kind, name, domains, o.Version)
	if err != nil {
		return nil, err
	}
	if len(versions) == 0 {
		return nil, fmt.Errorf("%s %s of %s is not registered in any domain (%s): %w", kind, name, project, strings.Join(domains, ", "), store.ErrNotFound)
	}
	execs := map[string][]*executor.Execution{}
	active := map[string]string{}
	for _, d := range domains {
		if kind == registrar.KindLaunchPlan {
			if v, _, err := ActiveVersion(ctx, p.store, project, d, name); err == nil {
				active[d] = v
			}
		}
		exs, err := p.executions(ctx, p.store, project, d)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("reading executions of %s in %s: %w", project, d, err)
		}
		execs[d] = exs
	}
	for _, v := range versions {
		vh := VersionHistory{Version: v, Commit: commitOf(v), Domains: []DomainState{}}
		prs := map[string]bool{}
		for _, d := range domains {
			id := registrar.ID{Project: project, Domain: d, Kind: kind, Name: name, Version: v}
			st, err := registrar.Get(ctx, p.store, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				if o.Verify {
					continue // Verify reports it
				}
				return nil, err
			}
			if len(vh.Images)+len(vh.Bundles) == 0 {
				vh.Images, vh.Bundles = p.code(ctx, st)
			}
			recs, err := ReadRecords(ctx, p.store, id.Repo(), st.Manifest.Digest)
			if err != nil {
				return nil, err
			}
			ds := DomainState{Domain: d, Manifest: st.Manifest.Digest.String(), Entity: st.Digest.String(), Via: "registered", Active: active[d] == v}
			promoted := false
			for _, r := range recs {
				e := Event{Time: r.Time, Type: string(r.Type), Domain: d, Version: v, Actor: r.Actor, Record: r, Summary: summarize(r)}
				h.Events = append(h.Events, e)
				if r.Type == RecordPromotion && !promoted {
					promoted = true
					ds.Via = "promoted from " + r.From
				}
				if r.PR != nil {
					key := fmt.Sprintf("%d|%s", r.PR.Number, r.PR.URL)
					if !prs[key] {
						prs[key] = true
						vh.PRs = append(vh.PRs, *r.PR)
					}
				}
			}
			if !promoted {
				t, err := p.registrationTime(ctx, id.Repo(), st.Manifest.Digest.String())
				if err != nil {
					return nil, err
				}
				h.Events = append(h.Events, Event{Time: t, Type: EventRegistration, Domain: d, Version: v,
					Summary: fmt.Sprintf("registered into %s (entity %s, manifest %s)", d, store.ShortDigest(st.Digest.String()), store.ShortDigest(st.Manifest.Digest.String()))})
			}
			vh.Domains = append(vh.Domains, ds)
			for _, ex := range execs[d] {
				if !runs(ex, id) {
					continue
				}
				h.Events = append(h.Events, executionEvent(ex, d, v))
			}
		}
		h.Versions = append(h.Versions, vh)
	}
	sort.SliceStable(h.Events, func(i, j int) bool { return h.Events[i].Time.Before(h.Events[j].Time) })
	if o.Verify {
		vr, err := p.Verify(ctx, project, kind, name, versions)
		if err != nil {
			return nil, err
		}
		h.Verify = vr
	}
	return h, nil
}

// versions lists the versions to show: the one asked for, or every version
// in any domain, oldest registration first.
func (p *Promoter) versions(ctx context.Context, project string, kind registrar.Kind, name string, domains []string, only string) ([]string, error) {
	if only != "" {
		return []string{only}, nil
	}
	var out []string
	for _, d := range domains {
		vs, err := registrar.Versions(ctx, p.store, registrar.ID{Project: project, Domain: d, Kind: kind, Name: name})
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out, nil
}

// code returns the images and bundles an entity runs, following a launch
// plan to its workflow and a workflow to its tasks in the same domain.
func (p *Promoter) code(ctx context.Context, st *registrar.Stored) (images, bundles []string) {
	add := func(t *registrar.Task) {
		if t == nil {
			return
		}
		if t.Image != "" && !slices.Contains(images, t.Image) {
			images = append(images, t.Image)
		}
		if t.Bundle != "" && !slices.Contains(bundles, t.Bundle) {
			bundles = append(bundles, t.Bundle)
		}
	}
	var walk func(e *registrar.Entity, depth int)
	walk = func(e *registrar.Entity, depth int) {
		add(e.Task)
		if depth > 2 {
			return
		}
		for _, r := range refs(e) {
			got, err := registrar.Get(ctx, p.store, registrar.ID{Project: r.Project, Domain: st.ID.Domain, Kind: r.Kind, Name: r.Name, Version: r.Version})
			if err == nil {
				walk(got.Entity, depth+1)
			}
		}
	}
	walk(st.Entity, 0)
	sort.Strings(images)
	sort.Strings(bundles)
	return images, bundles
}

func executionEvent(ex *executor.Execution, domain, version string) Event {
	s := &ExecutionSummary{ID: ex.ID, Target: ex.Target.String(), Status: string(ex.Status), Error: ex.Error,
		Reference: store.ExecutionRepo(ex.Project, domain) + ":" + ex.ID}
	if len(ex.Outputs) > 0 {
		s.Outputs = map[string]any{}
		for k, v := range ex.Outputs {
			s.Outputs[k] = v.Plain()
		}
	}
	t := ex.Created
	if ex.Finished != nil {
		t = *ex.Finished
	}
	sum := fmt.Sprintf("execution %s of %s/%s: %s", ex.ID, ex.Target.Kind, ex.Target.Name, ex.Status)
	if ex.Error != "" {
		sum += " (" + firstLine(ex.Error) + ")"
	}
	return Event{Time: t.UTC(), Type: EventExecution, Domain: domain, Version: version, Summary: sum, Execution: s}
}

func summarize(r *Record) string {
	var b strings.Builder
	switch r.Type {
	case RecordPromotion:
		fmt.Fprintf(&b, "promoted from %s to %s", r.From, r.Domain)
	case RecordActivation:
		fmt.Fprintf(&b, "activated in %s", r.Domain)
		if r.Previous != "" {
			fmt.Fprintf(&b, ", replacing %s", shortVersion(r.Previous))
		} else {
			b.WriteString(", nothing was active")
		}
	case RecordDeactivation:
		fmt.Fprintf(&b, "deactivated in %s", r.Domain)
		if r.Next != "" {
			fmt.Fprintf(&b, ", replaced by %s", shortVersion(r.Next))
		}
	}
	if r.Rollback {
		fmt.Fprintf(&b, " (rollback from %s)", shortVersion(r.Replaces))
	}
	if r.Actor != "" {
		fmt.Fprintf(&b, " by %s", r.Actor)
	}
	if r.PR != nil && (r.PR.Number != 0 || r.PR.URL != "") {
		fmt.Fprintf(&b, " for PR #%d", r.PR.Number)
		if r.PR.URL != "" {
			fmt.Fprintf(&b, " (%s)", r.PR.URL)
		}
	}
	if ev := r.Evidence; ev != nil {
		var parts []string
		for _, e := range ev.Executions {
			parts = append(parts, fmt.Sprintf("execution %s %s in %s", e.ID, e.Status, e.Domain))
		}
		for _, c := range ev.Checks {
			parts = append(parts, fmt.Sprintf("check %s %s", c.Name, c.Conclusion))
		}
		if len(ev.Approvals) > 0 {
			parts = append(parts, "approved by "+strings.Join(ev.Approvals, ", "))
		}
		if len(parts) > 0 {
			fmt.Fprintf(&b, "; evidence: %s", strings.Join(parts, "; "))
		}
	}
	if r.Reason != "" && r.Type != RecordDeactivation {
		fmt.Fprintf(&b, "; %s", r.Reason)
	}
	return b.String()
}

func shortVersion(v string) string {
	if len(v) > 12 && commitOf(v) != "" {
		return v[:12]
	}
	return v
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
