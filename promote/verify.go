package promote

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

// VerifyReport is the outcome of re-hashing an entity in every domain.
type VerifyReport struct {
	// Checked counts the (version, domain) pairs that were re-hashed.
	Checked  int       `json:"checked"`
	Findings []Finding `json:"findings"`
}

// OK reports whether nothing was found.
func (r *VerifyReport) OK() bool { return len(r.Findings) == 0 }

// Finding is one integrity problem.
type Finding struct {
	Domain  string `json:"domain"`
	Version string `json:"version"`
	Problem string `json:"problem"`
}

// ErrTampered is wrapped by errors reporting findings of Verify.
var ErrTampered = errors.New("entity does not match what was registered or promoted")

// Verify re-hashes every given version of an entity in every domain: the
// manifest bytes against their digest, the entity layer against its digest
// and against the digest recorded at registration, and compares domains:
// a version must have the same entity digest everywhere, and a domain that
// holds a promotion record for a manifest must still have that manifest
// under the version tag. Anything else is a Finding (tampering or
// corruption).
func (p *Promoter) Verify(ctx context.Context, project string, kind registrar.Kind, name string, versions []string) (*VerifyReport, error) {
	rep := &VerifyReport{Findings: []Finding{}}
	add := func(d, v, format string, args ...any) {
		rep.Findings = append(rep.Findings, Finding{Domain: d, Version: v, Problem: fmt.Sprintf(format, args...)})
	}
	for _, v := range versions {
		type seen struct{ domain, manifest, entity string }
		var lower []seen
		checked := map[string]bool{}
		for _, d := range p.plat.DomainNames() {
			id := registrar.ID{Project: project, Domain: d, Kind: kind, Name: name, Version: v}
			repo := id.Repo()
			raw, desc, err := p.store.GetManifest(ctx, repo, v)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			rep.Checked++
			if err != nil {
				add(d, v, "manifest cannot be read: %v", err)
				continue
			}
			if got := store.Digest(raw); got != desc.Digest {
				add(d, v, "manifest bytes hash to %s, the store names them %s", got, desc.Digest)
				continue
			}
			st, err := registrar.Get(ctx, p.store, id)
			if err != nil {
				add(d, v, "entity cannot be read or does not hash to its digest: %v", err)
				continue
			}
			m, _, err := store.GetArtifact(ctx, p.store, repo, desc.Digest.String())
			if err != nil {
				return nil, err
			}
			if want := m.Annotations[store.AnnotationEntityDigest]; want != "" && want != st.Digest.String() {
				add(d, v, "entity digest is %s, registration recorded %s", st.Digest, want)
			}
			for _, l := range lower {
				if l.entity != st.Digest.String() {
					add(d, v, "entity digest %s differs from %s's %s: the same version must run the same bytes in every domain", st.Digest, l.domain, l.entity)
				}
				if l.manifest == desc.Digest.String() || checked[d+"|"+l.manifest] {
					continue
				}
				checked[d+"|"+l.manifest] = true
				// Was l's manifest promoted here? Then the tag must still name it.
				lh, err := v1Hash(l.manifest)
				if err != nil {
					return nil, err
				}
				recs, err := ReadRecords(ctx, p.store, repo, lh)
				if err != nil {
					return nil, err
				}
				for _, r := range filterRecords(recs, RecordPromotion) {
					add(d, v, "tag %s names manifest %s, but %s promoted %s from %s here at %s", v, desc.Digest, actorOr(r.Actor), l.manifest, r.From, r.Time.Format("2006-01-02T15:04:05Z"))
					break
				}
			}
			lower = append(lower, seen{d, desc.Digest.String(), st.Digest.String()})
		}
	}
	return rep, nil
}

func actorOr(a string) string {
	if a == "" {
		return "a promotion"
	}
	return a
}

func v1Hash(s string) (v1.Hash, error) { return v1.NewHash(s) }
