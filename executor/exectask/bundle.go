package exectask

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/fastreg"
	"github.com/runway-ci/runway/internal/store"
)

// BundleFetcher fetches a project's code bundle by its identity digest
// ("sha256:<hex>" of the uncompressed tar), verifies it and extracts it
// into dst. A digest mismatch must be reported (wrapping
// store.ErrDigestMismatch) before anything is extracted.
type BundleFetcher func(ctx context.Context, s store.Store, project, digest, dst string) error

// FetchBundle is the default BundleFetcher: fastreg.Fetch, the one safe
// extractor runway has. It verifies the layer's compressed digest and the
// bundle's identity (the uncompressed tar digest) before anything is
// created in dst, refuses absolute paths, "..", escaping links, hardlinks,
// devices and FIFOs, enforces size and file-count limits, and extracts
// through os.Root into a sibling directory renamed into place.
func FetchBundle(ctx context.Context, s store.Store, project, digest, dst string) error {
	want, err := v1.NewHash(digest)
	if err != nil {
		return fmt.Errorf("bundle digest %q: %w", digest, err)
	}
	err = fastreg.Fetch(ctx, s, project, want, dst, fastreg.Limits{})
	if errors.Is(err, fastreg.ErrDigestMismatch) && !errors.Is(err, store.ErrDigestMismatch) {
		return fmt.Errorf("bundle %s of %s: refusing to extract it: %w (%w)", digest, project, store.ErrDigestMismatch, err)
	}
	return err
}
