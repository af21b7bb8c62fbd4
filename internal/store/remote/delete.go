package remote

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/store"
)

var _ store.ManifestDeleter = (*Store)(nil)

// DeleteManifest implements store.ManifestDeleter with DELETE
// /v2/<repo>/manifests/<digest>; the registry removes the tags that point
// at it too.
func (s *Store) DeleteManifest(ctx context.Context, repo string, digest v1.Hash) error {
	what := fmt.Sprintf("deleting manifest %s@%s in %s", repo, digest, s)
	c, r, err := s.resolve(ctx, repo, digest.String())
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := c.pusher.Delete(ctx, r); err != nil {
		return fmt.Errorf("%s: %w", what, s.describe(err))
	}
	return nil
}
