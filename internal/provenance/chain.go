package provenance

import (
	"context"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/store"
)

// BundleSubjectName names a bundle's second subject: its identity, the
// sha256 of the uncompressed tar (what a task entity pins and exec-task
// checks after extraction).
const BundleSubjectName = "bundle.tar"

// VerifyBundle checks the attestation of project's bundle whose identity
// is identity ("sha256:<hex>", as a task names it): the bundle manifest's
// attestation must verify, and its statement must name the identity too,
// so whatever manifest the extractor then reads, the bytes it accepts are
// the ones that were signed.
func (p *Policy) VerifyBundle(ctx context.Context, s store.Store, project, identity string) (*Check, error) {
	id, err := v1.NewHash(identity)
	if err != nil {
		return nil, fmt.Errorf("bundle digest %q: %w", identity, err)
	}
	repo := store.BundleRepo(project)
	desc, err := s.HeadManifest(ctx, repo, store.BundleTag(id.Hex))
	if err != nil {
		return nil, fmt.Errorf("looking up bundle %s of %s: %w", identity, project, err)
	}
	c, err := p.Verify(ctx, s, "bundle", repo, desc.Digest)
	if err != nil || c.Statement == nil {
		return c, err
	}
	if !c.Names(id) {
		e := &Error{Check: c, msg: fmt.Sprintf("the signed statement does not name the bundle's content digest %s: refusing to extract it", identity)}
		c.Error = e.Error()
		return c, e
	}
	return c, nil
}

// VerifyImage checks the attestation of project's dependency image ref
// ("<store>/<project>/image@sha256:...", as a task names it).
func (p *Policy) VerifyImage(ctx context.Context, s store.Store, project, ref string) (*Check, error) {
	i := strings.LastIndex(ref, "@")
	if i < 0 {
		return nil, fmt.Errorf("image %q is not pinned by digest", ref)
	}
	d, err := v1.NewHash(ref[i+1:])
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", ref, err)
	}
	return p.Verify(ctx, s, "image", store.ImageRepo(project), d)
}
