package flow

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runway-ci/runway/internal/provenance"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

// AttestReport says what the registration signed.
type AttestReport struct {
	// SignedBy is the signing key's ID.
	SignedBy string `json:"signedBy"`
	// Subjects are what was attested ("image", "bundle", "task/x@v") with
	// the manifest digest; Written is false where an attestation by the
	// same key already existed.
	Subjects []AttestedSubject `json:"subjects"`
}

// AttestedSubject is one attested manifest.
type AttestedSubject struct {
	What        string `json:"what"`
	Repo        string `json:"repo"`
	Digest      string `json:"digest"`
	Attestation string `json:"attestation"`
	Written     bool   `json:"written"`
}

// Signer is the platform's signing key (provenance.signingKey), loaded
// once; nil when the platform configures none.
func (p *Project) Signer(ctx context.Context) (*provenance.Signer, error) {
	p.signerOnce.Do(func() {
		src := p.Platform.Provenance.SigningKey
		if src.IsZero() {
			return
		}
		var secrets provenance.SecretReader
		if src.Secret != nil {
			secrets = func(ctx context.Context, ns, name string) (map[string][]byte, error) {
				c, err := p.kubernetesClient()
				if err != nil {
					return nil, err
				}
				sec, err := c.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return nil, err
				}
				return sec.Data, nil
			}
		}
		getenv := p.getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		p.signer, p.signerErr = provenance.LoadSigner(ctx, src, getenv, secrets)
	})
	return p.signer, p.signerErr
}

// trustedExtra is the signing key's public half, trusted by this process's
// verifiers besides the platform's trustedKeys. A verifier needs no
// private key: when this process cannot load it (a secret only the signer
// can read), only trustedKeys count.
func (p *Project) trustedExtra(ctx context.Context) []string {
	sg, err := p.Signer(ctx)
	if err != nil {
		p.Log.Debug("verifying with provenance.trustedKeys only: the signing key is not available here", "err", err)
		return nil
	}
	if sg == nil {
		return nil
	}
	pem, err := sg.PublicPEM()
	if err != nil {
		return nil
	}
	return []string{string(pem)}
}

// attest signs what the version registered: its dependency image, its code
// bundle and every entity, each with the facts runway knows about it. With
// no signing key it does nothing.
func (p *Project) attest(ctx context.Context, rep *PRReport, repoDir string, started time.Time) (*AttestReport, error) {
	sg, err := p.Signer(ctx)
	if err != nil || sg == nil {
		return nil, err
	}
	reg := rep.Register
	out := &AttestReport{SignedBy: sg.ID()}
	base := provenance.Facts{
		Project: reg.Project, Source: originURL(repoDir), Commit: reg.Commit,
		RunwayVersion: p.RunwayVersion, Started: started.UTC(), Finished: time.Now().UTC(),
	}
	if base.Source == "" { // no remote: the checkout's absolute path
		if abs, err := filepath.Abs(repoDir); err == nil {
			base.Source = abs
		}
	}
	sign := func(what, repo string, desc v1.Descriptor, subjects []provenance.Subject, f provenance.Facts) error {
		d, wrote, err := provenance.Attest(ctx, p.Store, sg, repo, desc, subjects, f)
		if err != nil {
			return fmt.Errorf("signing the provenance of %s: %w", what, err)
		}
		out.Subjects = append(out.Subjects, AttestedSubject{What: what, Repo: repo, Digest: desc.Digest.String(), Attestation: d.String(), Written: wrote})
		return nil
	}
	if reg.Image != "" {
		repo := store.ImageRepo(reg.Project)
		i := strings.LastIndex(reg.Image, "@")
		if i < 0 {
			return nil, fmt.Errorf("image %q is not pinned by digest", reg.Image)
		}
		m, desc, err := store.GetArtifact(ctx, p.Store, repo, reg.Image[i+1:])
		if err != nil {
			return nil, fmt.Errorf("reading the image to attest: %w", err)
		}
		f := base
		f.Kind = provenance.KindImage
		f.BaseImage, f.BaseDigest = m.Annotations[store.AnnotationBaseName], m.Annotations[store.AnnotationBaseDigest]
		if rep.Plan != nil {
			f.DependencyHash = rep.Plan.Image.Hash
		}
		if err := sign("image", repo, desc, nil, f); err != nil {
			return nil, err
		}
	}
	if reg.Bundle != "" {
		id, err := v1.NewHash(reg.Bundle)
		if err != nil {
			return nil, fmt.Errorf("bundle digest %q: %w", reg.Bundle, err)
		}
		repo := store.BundleRepo(reg.Project)
		desc, err := p.Store.HeadManifest(ctx, repo, store.BundleTag(id.Hex))
		if err != nil {
			return nil, fmt.Errorf("reading the bundle to attest: %w", err)
		}
		f := base
		f.Kind = provenance.KindBundle
		subjects := []provenance.Subject{{Name: repo, Digest: desc.Digest}, {Name: provenance.BundleSubjectName, Digest: id}}
		if err := sign("bundle", repo, desc, subjects, f); err != nil {
			return nil, err
		}
	}
	for _, r := range reg.Entities {
		if r.Status != registrar.StatusCreated && r.Status != registrar.StatusUnchanged {
			continue
		}
		st, err := registrar.Get(ctx, p.Store, r.ID)
		if err != nil {
			return nil, fmt.Errorf("reading %s to attest: %w", r.ID, err)
		}
		f := base
		f.Kind, f.Domain = string(r.ID.Kind), r.ID.Domain
		f.Entity = fmt.Sprintf("%s/%s@%s", r.ID.Kind, r.ID.Name, r.ID.Version)
		if t := st.Entity.Task; t != nil {
			f.Image, f.Bundle = t.Image, t.Bundle
		}
		if err := sign(f.Entity, r.ID.Repo(), st.Manifest, nil, f); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PolicyFor is the provenance policy of domain: the platform's trusted
// keys and the signing key's own, and the domain's requireSignedBy.
func (p *Project) PolicyFor(ctx context.Context, domain string) (*provenance.Policy, error) {
	return provenance.ForDomain(p.Platform, domain, p.trustedExtra(ctx)...)
}
