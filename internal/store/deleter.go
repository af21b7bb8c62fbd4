package store

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ManifestDeleter is an optional capability: a store that can delete a
// manifest by digest. On a registry that also removes every tag pointing
// at it, which is how a tag is removed from registries that refuse to
// delete a tag by name (CNCF distribution 2.x answers DIGEST_INVALID).
// Only callers whose manifests are unique to one tag may use it (the
// registry claim protocol of package lock).
type ManifestDeleter interface {
	DeleteManifest(ctx context.Context, repo string, digest v1.Hash) error
}
