package flow

import (
	"context"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/provenance"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

// VerifyRequest names what `runway verify` checks: an entity
// ("KIND/NAME[@VERSION]", newest version by default) in a domain, or a
// manifest digest ("sha256:...") of the project's image, bundle or
// entities.
type VerifyRequest struct {
	Project string
	Domain  string
	Subject string
}

// VerifyReport is the chain: the subject, then what it runs (a launch
// plan's workflow, a workflow's tasks, a task's image and bundle), each
// with its provenance check under the domain's policy.
type VerifyReport struct {
	Project  string   `json:"project"`
	Domain   string   `json:"domain"`
	Subject  string   `json:"subject"`
	Required []string `json:"requireSignedBy,omitempty"`
	Trusted  []string `json:"trustedKeys"`
	// Chain lists every link, the subject first; a link's Error says why
	// the policy refuses it.
	Chain []*provenance.Check `json:"chain"`
}

// OK reports whether every link verifies under the policy (an unsigned
// link passes only where nothing requires a signature).
func (r *VerifyReport) OK() bool {
	for _, c := range r.Chain {
		if c.Error != "" {
			return false
		}
	}
	return true
}

// Verify walks the chain of req.Subject and checks each link's signed
// provenance. It returns the report and, when a link is refused, an error
// wrapping provenance.ErrUnverified that names the first one.
func Verify(ctx context.Context, p *Project, req VerifyRequest) (*VerifyReport, error) {
	if req.Domain == "" {
		req.Domain = p.Platform.Domains[0].Name
	}
	if err := p.CheckDomain(req.Domain); err != nil {
		return nil, err
	}
	pol, err := p.PolicyFor(ctx, req.Domain)
	if err != nil {
		return nil, err
	}
	rep := &VerifyReport{Project: req.Project, Domain: req.Domain, Subject: req.Subject, Required: pol.Require, Trusted: pol.KeyIDs()}
	w := &chainWalker{ctx: ctx, p: p, pol: pol, rep: rep, seen: map[string]bool{}}
	if strings.HasPrefix(req.Subject, "sha256:") {
		err = w.digest(req.Project, req.Domain, req.Subject)
	} else {
		err = w.entity(req.Project, req.Domain, req.Subject)
	}
	if err != nil {
		return rep, err
	}
	for _, c := range rep.Chain {
		if c.Error != "" {
			return rep, fmt.Errorf("%s: %w", c.Error, provenance.ErrUnverified)
		}
	}
	return rep, nil
}

type chainWalker struct {
	ctx  context.Context
	p    *Project
	pol  *provenance.Policy
	rep  *VerifyReport
	seen map[string]bool
}

// add records a check; a refusal is kept in the chain, not returned.
func (w *chainWalker) add(c *provenance.Check, err error) error {
	if err != nil && !errors.Is(err, provenance.ErrUnverified) {
		return err
	}
	w.rep.Chain = append(w.rep.Chain, c)
	return nil
}

func (w *chainWalker) entity(project, domain, ref string) error {
	kindName, version, _ := strings.Cut(ref, "@")
	k, name, ok := strings.Cut(kindName, "/")
	kind, err := registrar.ParseKind(k)
	if !ok || err != nil || name == "" {
		return fmt.Errorf("%w: %q is not KIND/NAME[@VERSION] (kind: task, workflow or launchplan) or a digest sha256:<hex>", ErrUsage, ref)
	}
	id := registrar.ID{Project: project, Domain: domain, Kind: kind, Name: name, Version: version}
	return w.stored(id)
}

func (w *chainWalker) stored(id registrar.ID) error {
	st, err := registrar.Get(w.ctx, w.p.Store, id)
	if err != nil {
		return fmt.Errorf("%s %s/%s in %s: %w", id.Kind, id.Project, id.Name, id.Domain, err)
	}
	key := st.ID.Repo() + "@" + st.Manifest.Digest.String()
	if w.seen[key] {
		return nil
	}
	w.seen[key] = true
	what := fmt.Sprintf("%s %s@%s", st.ID.Kind, st.ID.Name, st.ID.Version)
	if err := w.add(w.pol.Verify(w.ctx, w.p.Store, what, st.ID.Repo(), st.Manifest.Digest)); err != nil {
		return err
	}
	e := st.Entity
	switch {
	case e.Task != nil:
		if e.Task.Image != "" && !w.seen[e.Task.Image] {
			w.seen[e.Task.Image] = true
			if err := w.add(w.pol.VerifyImage(w.ctx, w.p.Store, st.ID.Project, e.Task.Image)); err != nil {
				return err
			}
		}
		if e.Task.Bundle != "" && !w.seen[e.Task.Bundle] {
			w.seen[e.Task.Bundle] = true
			if err := w.add(w.pol.VerifyBundle(w.ctx, w.p.Store, st.ID.Project, e.Task.Bundle)); err != nil {
				return err
			}
		}
	case e.Workflow != nil:
		for _, n := range e.Workflow.Nodes {
			if err := w.stored(registrar.ID{Project: n.Task.Project, Domain: st.ID.Domain, Kind: registrar.KindTask, Name: n.Task.Name, Version: n.Task.Version}); err != nil {
				return err
			}
		}
	case e.LaunchPlan != nil:
		r := e.LaunchPlan.Workflow
		return w.stored(registrar.ID{Project: r.Project, Domain: st.ID.Domain, Kind: registrar.KindWorkflow, Name: r.Name, Version: r.Version})
	}
	return nil
}

// digest finds the manifest d among the project's image, bundle and
// entity repositories of domain, and walks from it.
func (w *chainWalker) digest(project, domain, ref string) error {
	d, err := v1.NewHash(ref)
	if err != nil {
		return fmt.Errorf("%w: %q: %w", ErrUsage, ref, err)
	}
	s := w.p.Store
	for _, kind := range []string{provenance.KindImage, provenance.KindBundle} {
		repo := store.ImageRepo(project)
		if kind == provenance.KindBundle {
			repo = store.BundleRepo(project)
		}
		if _, err := s.HeadManifest(w.ctx, repo, d.String()); err == nil {
			return w.add(w.pol.Verify(w.ctx, s, kind, repo, d))
		}
	}
	repos, err := s.Repositories(w.ctx, store.DomainPrefix(project, domain))
	if err != nil {
		return err
	}
	for _, repo := range repos {
		if _, err := s.HeadManifest(w.ctx, repo, d.String()); err != nil {
			continue
		}
		m, _, err := store.GetArtifact(w.ctx, s, repo, d.String())
		if err != nil {
			return err
		}
		kind, name, version := m.Annotations[store.AnnotationKind], m.Annotations[store.AnnotationName], m.Annotations[store.AnnotationVersion]
		if kind == "" || version == "" {
			continue
		}
		return w.stored(registrar.ID{Project: project, Domain: domain, Kind: registrar.Kind(kind), Name: name, Version: version})
	}
	return fmt.Errorf("no manifest %s in %s's image, bundle or %s entity repositories: %w", d, project, domain, store.ErrNotFound)
}
