package promote

import (
	"context"
	"fmt"

	"github.com/runway-ci/runway/internal/provenance"
	"github.com/runway-ci/runway/registrar"
)

// checkProvenance verifies, before anything is copied, the signed
// provenance of every entity of the promotion in the source domain and of
// the image and bundle each task runs, under the target domain's policy
// (its requireSignedBy and the trusted keys). It returns the first
// refusal, which wraps provenance.ErrUnverified and names the subject.
func (p *Promoter) checkProvenance(ctx context.Context, req *Request, ents []*registrar.Stored) error {
	pol, err := provenance.ForDomain(p.plat, req.To, p.trusted...)
	if err != nil {
		return err
	}
	if !pol.Active() { // nothing trusted: nothing to check (NewPolicy refuses a requirement without trusted keys)
		return nil
	}
	checked := map[string]bool{}
	refuse := func(err error) error {
		return fmt.Errorf("promoting %s@%s from %s to %s: %w", req.Project, req.Version, req.From, req.To, err)
	}
	for _, st := range ents {
		what := fmt.Sprintf("%s %s@%s", st.ID.Kind, st.ID.Name, st.ID.Version)
		if _, err := pol.Verify(ctx, p.store, what, st.ID.Repo(), st.Manifest.Digest); err != nil {
			return refuse(err)
		}
		t := st.Entity.Task
		if t == nil {
			continue
		}
		if t.Image != "" && !checked[t.Image] {
			checked[t.Image] = true
			if _, err := pol.VerifyImage(ctx, p.store, st.ID.Project, t.Image); err != nil {
				return refuse(err)
			}
		}
		if t.Bundle != "" && !checked[t.Bundle] {
			checked[t.Bundle] = true
			if _, err := pol.VerifyBundle(ctx, p.store, st.ID.Project, t.Bundle); err != nil {
				return refuse(err)
			}
		}
	}
	return nil
}
