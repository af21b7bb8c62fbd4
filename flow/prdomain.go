package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

// Per-PR domains (platform prDomains): each pull request registers into a
// domain of its own, "pr-<number>", with the first domain's ceilings
// (platform.Config.Domain). Closing or merging the PR removes the domain
// (RemoveDomain, from prbot on pull_request closed); `runway gc` removes
// the ones whose last registration is older than prDomains.ttl and then
// the image and bundle tags that only removed domains used. Removal takes
// away tags only: the domain's entity, execution, cache and schedule tags,
// and its activations (promote.Deactivate, which also removes the
// CronJob). Manifests stay readable by digest, so nothing another domain
// references (a promoted copy, a shared image or bundle) is touched. Each
// removal leaves a record in store.RemovalRepo: what was removed, what the
// registry refused to delete and why, and the code the domain used, which
// the gc reads to find what may go.

// MediaTypeRemoval is the artifactType (and layer media type) of a removal record.
const MediaTypeRemoval = "application/vnd.runway.removal.v1+json"

// RemoveRequest asks for a PR domain to be removed.
type RemoveRequest struct {
	Project string
	Domain  string
	Reason  string // "pull request #12 closed", "ttl"
	Actor   string
	DryRun  bool // report what would be removed; write nothing
}

// RemovalReport is what a removal did; it is also the record it leaves.
type RemovalReport struct {
	Project string    `json:"project"`
	Domain  string    `json:"domain"`
	Reason  string    `json:"reason"`
	Time    time.Time `json:"time"`
	DryRun  bool      `json:"dryRun,omitempty"`
	// Removed are the "repo:tag" references removed (or, with DryRun,
	// that would be); Deactivated the launch plans deactivated.
	Removed     []string `json:"removed"`
	Deactivated []string `json:"deactivated,omitempty"`
	// Refused are the deletes the registry refused, with its answer.
	Refused []Refusal `json:"refused,omitempty"`
	// Code are the images and bundles the domain's tasks used: what the
	// gc may remove once no other domain uses them.
	Code []string `json:"code,omitempty"`
}

// Refusal is one delete the store refused.
type Refusal struct {
	Ref   string `json:"ref"`
	Error string `json:"error"`
}

// ErrNotPRDomain refuses removing a domain that is not a pull request's.
var ErrNotPRDomain = errors.New("not a pull request's domain")

// RemoveDomain removes a PR domain's tags and activations and leaves a
// removal record. A registry that refuses deletes is reported in
// Refused (and in the record), not as an error: the rest is removed.
func RemoveDomain(ctx context.Context, p *Project, req RemoveRequest) (*RemovalReport, error) {
	if _, ok := p.Platform.PRNumber(req.Domain); !ok {
		return nil, fmt.Errorf("%w: %q (only pull request domains, %s, are removed; the platform's domains are %s)",
			ErrNotPRDomain, req.Domain, p.Platform.PRDomains.Name, strings.Join(p.Platform.DomainNames(), ", "))
	}
	rep := &RemovalReport{Project: req.Project, Domain: req.Domain, Reason: req.Reason, Time: time.Now().UTC(), DryRun: req.DryRun, Removed: []string{}}
	ents, err := registrar.List(ctx, p.Store, req.Project, req.Domain, "")
	if err != nil {
		return nil, err
	}
	rep.Code = codeOf(ents)
	if !req.DryRun {
		pr, err := p.Promoter()
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, st := range ents {
			if st.ID.Kind != registrar.KindLaunchPlan || seen[st.ID.Name] {
				continue
			}
			seen[st.ID.Name] = true
			res, err := pr.Deactivate(ctx, req.Project, req.Domain, st.ID.Name, req.Actor, "domain removed: "+req.Reason)
			if err != nil {
				rep.Refused = append(rep.Refused, Refusal{Ref: st.ID.Repo() + ":" + store.ActiveTag, Error: err.Error()})
				continue
			}
			if res.Previous != "" {
				rep.Deactivated = append(rep.Deactivated, st.ID.Name+"@"+res.Previous)
			}
		}
	}
	repos, err := p.Store.Repositories(ctx, store.DomainPrefix(req.Project, req.Domain))
	if err != nil {
		return nil, fmt.Errorf("listing domain %s: %w", req.Domain, err)
	}
	for _, repo := range repos {
		tags, err := p.Store.Tags(ctx, repo)
		if err != nil {
			return nil, fmt.Errorf("listing tags of %s: %w", repo, err)
		}
		for _, tag := range tags {
			ref := repo + ":" + tag
			if req.DryRun {
				rep.Removed = append(rep.Removed, ref)
				continue
			}
			if err := p.Store.DeleteTag(ctx, repo, tag); err != nil && !errors.Is(err, store.ErrNotFound) {
				rep.Refused = append(rep.Refused, Refusal{Ref: ref, Error: err.Error()})
				continue
			}
			rep.Removed = append(rep.Removed, ref)
		}
	}
	if req.DryRun {
		return rep, nil
	}
	if err := writeRemoval(ctx, p.Store, rep); err != nil {
		return rep, err
	}
	for _, r := range rep.Refused {
		p.Log.Warn("the store refused a delete; the removal record keeps it", "ref", r.Ref, "err", r.Error)
	}
	return rep, nil
}

func writeRemoval(ctx context.Context, s store.Store, rep *RemovalReport) error {
	b, err := registrar.Canonical(rep)
	if err != nil {
		return err
	}
	_, err = store.PutArtifact(ctx, s, store.RemovalRepo(rep.Project), rep.Domain, store.Artifact{
		ArtifactType: MediaTypeRemoval, Layers: []store.Blob{{MediaType: MediaTypeRemoval, Data: b}},
	})
	if err != nil {
		return fmt.Errorf("writing the removal record of %s: %w", rep.Domain, err)
	}
	return nil
}

// codeOf lists the images and bundles tasks use, sorted.
func codeOf(ents []*registrar.Stored) []string {
	set := map[string]bool{}
	for _, st := range ents {
		if t := st.Entity.Task; t != nil {
			for _, c := range []string{t.Image, t.Bundle} {
				if c != "" {
					set[c] = true
				}
			}
		}
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// GCRequest asks for `runway gc`.
type GCRequest struct {
	Project string
	DryRun  bool
	Now     time.Time // zero = time.Now
}

// GCReport is what the gc removed and kept.
type GCReport struct {
	// Removed are the PR domains removed now (TTL expired).
	Removed []*RemovalReport `json:"removed"`
	// Kept are the PR domains still alive, with their last registration.
	Kept []KeptDomain `json:"kept"`
	// CodeRemoved are image and bundle tags ("repo:tag") only removed
	// domains used; CodeKept the code of removed domains another domain
	// (a PR's, or production) still uses.
	CodeRemoved []string  `json:"codeRemoved"`
	CodeKept    []string  `json:"codeKept"`
	Refused     []Refusal `json:"refused,omitempty"`
}

// KeptDomain is a PR domain the gc left alone.
type KeptDomain struct {
	Domain       string    `json:"domain"`
	LastRegistry time.Time `json:"lastRegistration"`
	Expires      time.Time `json:"expires"`
}

// GC removes the PR domains whose last registration is older than the
// platform's prDomains.ttl, then the image and bundle tags that removed
// domains (now, or earlier: their removal records) used and no remaining
// domain's entity uses.
func GC(ctx context.Context, p *Project, req GCRequest) (*GCReport, error) {
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	rep := &GCReport{Removed: []*RemovalReport{}, Kept: []KeptDomain{}, CodeRemoved: []string{}, CodeKept: []string{}}
	domains, err := p.domainsInStore(ctx, req.Project)
	if err != nil {
		return nil, err
	}
	removed := map[string]bool{}
	ttl := p.Platform.PRDomainTTL()
	for _, d := range domains {
		if _, ok := p.Platform.PRNumber(d); !ok {
			continue
		}
		last, err := lastRegistration(ctx, p.Store, req.Project, d)
		if err != nil {
			return nil, err
		}
		if last.IsZero() { // removed before: nothing tagged is left
			continue
		}
		if now.Sub(last) < ttl {
			rep.Kept = append(rep.Kept, KeptDomain{Domain: d, LastRegistry: last.UTC(), Expires: last.Add(ttl).UTC()})
			continue
		}
		r, err := RemoveDomain(ctx, p, RemoveRequest{Project: req.Project, Domain: d, Reason: fmt.Sprintf("no registration for %s (prDomains.ttl)", ttl), DryRun: req.DryRun})
		if err != nil {
			return nil, err
		}
		rep.Removed = append(rep.Removed, r)
		removed[d] = true
	}

	// Code: candidates from removal records (and this run's removals).
	cand := map[string]bool{}
	for _, r := range rep.Removed {
		for _, c := range r.Code {
			cand[c] = true
		}
	}
	recs, err := readRemovals(ctx, p.Store, req.Project)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		for _, c := range r.Code {
			cand[c] = true
		}
	}
	used := map[string]bool{}
	for _, d := range domains {
		if removed[d] {
			continue
		}
		ents, err := registrar.List(ctx, p.Store, req.Project, d, registrar.KindTask)
		if err != nil {
			return nil, err
		}
		for _, c := range codeOf(ents) {
			used[c] = true
		}
	}
	var gone []string
	for c := range cand {
		if used[c] {
			rep.CodeKept = append(rep.CodeKept, c)
		} else {
			gone = append(gone, c)
		}
	}
	sort.Strings(rep.CodeKept)
	sort.Strings(gone)
	for _, c := range gone {
		refs, err := codeTags(ctx, p.Store, req.Project, c)
		if err != nil {
			return nil, err
		}
		for _, ref := range refs {
			repo, tag, _ := strings.Cut(ref, ":")
			if !req.DryRun {
				if err := p.Store.DeleteTag(ctx, repo, tag); err != nil && !errors.Is(err, store.ErrNotFound) {
					rep.Refused = append(rep.Refused, Refusal{Ref: ref, Error: err.Error()})
					continue
				}
			}
			rep.CodeRemoved = append(rep.CodeRemoved, ref)
		}
	}
	return rep, nil
}

// ProjectsIn lists the projects that have repositories in domain.
func ProjectsIn(ctx context.Context, p *Project, domain string) ([]string, error) {
	repos, err := p.Store.Repositories(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("listing the store: %w", err)
	}
	set := map[string]bool{}
	for _, r := range repos {
		if parts := strings.Split(r, "/"); len(parts) >= 3 && parts[1] == domain {
			set[parts[0]] = true
		}
	}
	var out []string
	for proj := range set {
		out = append(out, proj)
	}
	sort.Strings(out)
	return out, nil
}

// domainsInStore lists the domains of project that have repositories.
func (p *Project) domainsInStore(ctx context.Context, project string) ([]string, error) {
	repos, err := p.Store.Repositories(ctx, project+"/")
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", project, err)
	}
	set := map[string]bool{}
	for _, r := range repos {
		parts := strings.Split(strings.TrimPrefix(r, project+"/"), "/")
		if len(parts) >= 2 {
			set[parts[0]] = true
		}
	}
	var out []string
	for d := range set {
		out = append(out, d)
	}
	sort.Strings(out)
	return out, nil
}

// lastRegistration is the newest registration time of an entity tagged in
// the domain (zero when none is tagged).
func lastRegistration(ctx context.Context, s store.Store, project, domain string) (time.Time, error) {
	ents, err := registrar.List(ctx, s, project, domain, "")
	if err != nil {
		return time.Time{}, err
	}
	var last time.Time
	for _, st := range ents {
		t, ok, err := registrar.RegisteredAt(ctx, s, st.ID.Repo(), st.Manifest.Digest)
		if err != nil {
			return time.Time{}, err
		}
		if !ok {
			m, _, err := store.GetArtifact(ctx, s, st.ID.Repo(), st.Manifest.Digest.String())
			if err != nil {
				return time.Time{}, err
			}
			t, _ = time.Parse(time.RFC3339Nano, m.Annotations[store.AnnotationCreated])
		}
		if t.After(last) {
			last = t
		}
	}
	return last, nil
}

func readRemovals(ctx context.Context, s store.Store, project string) ([]*RemovalReport, error) {
	repo := store.RemovalRepo(project)
	tags, err := s.Tags(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("listing removal records: %w", err)
	}
	var out []*RemovalReport
	for _, tag := range tags {
		m, _, err := store.GetArtifact(ctx, s, repo, tag)
		if err != nil || m.ArtifactType != MediaTypeRemoval || len(m.Layers) != 1 {
			continue
		}
		b, err := store.ReadBlob(ctx, s, repo, m.Layers[0].Digest, 1<<20)
		if err != nil {
			return nil, err
		}
		r := &RemovalReport{}
		if err := json.Unmarshal(b, r); err != nil {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// codeTags are the tags that name code c: a bundle ("sha256:<hex>") by
// its digest tag and the tree tags on the same manifest; an image
// ("<store>/<repo>@sha256:<hex>") by every tag on that manifest; and the
// attestation tag of either manifest.
func codeTags(ctx context.Context, s store.Store, project, c string) ([]string, error) {
	repo, want := store.BundleRepo(project), c
	if i := strings.LastIndex(c, "@"); i >= 0 {
		repo, want = store.ImageRepo(project), c[i+1:]
	}
	tags, err := s.Tags(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", repo, err)
	}
	var out []string
	bundleTag := store.BundleTag(strings.TrimPrefix(want, "sha256:"))
	var bundleManifest string
	if repo == store.BundleRepo(project) {
		if d, err := s.HeadManifest(ctx, repo, bundleTag); err == nil {
			bundleManifest = d.Digest.String()
		}
	}
	// The code's provenance attestation goes with it (its cosign tag).
	atts := map[string]bool{}
	for _, m := range []string{want, bundleManifest} {
		if h, err := v1.NewHash(m); err == nil {
			atts[store.AttestationTag(h)] = true
		}
	}
	for _, tag := range tags {
		if atts[tag] {
			out = append(out, repo+":"+tag)
			continue
		}
		d, err := s.HeadManifest(ctx, repo, tag)
		if err != nil {
			continue
		}
		if tag == bundleTag || d.Digest.String() == want || (bundleManifest != "" && d.Digest.String() == bundleManifest) {
			out = append(out, repo+":"+tag)
		}
	}
	return out, nil
}
