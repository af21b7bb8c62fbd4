package fastreg

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/archive"
	"github.com/runway-ci/runway/internal/store"
)

// Fetch downloads the bundle whose identity (uncompressed tar digest) is
// digest from store.BundleRepo(project) and extracts it into dstRoot with
// Extract's checks. The layer's compressed digest and size are verified too,
// before anything is created at dstRoot.
func Fetch(ctx context.Context, s store.Store, project string, digest v1.Hash, dstRoot string, limits Limits) error {
	limits = limits.WithDefaults()
	repo, tag := store.BundleRepo(project), store.BundleTag(digest.Hex)
	m, _, err := store.GetArtifact(ctx, s, repo, tag)
	if err != nil {
		return fmt.Errorf("fetching bundle %s:%s: %w", repo, tag, err)
	}
	if m.ArtifactType != ArtifactType {
		return fmt.Errorf("fetching bundle %s:%s: artifact type is %q, expected %q", repo, tag, m.ArtifactType, ArtifactType)
	}
	if len(m.Layers) != 1 || string(m.Layers[0].MediaType) != LayerMediaType {
		return fmt.Errorf("fetching bundle %s:%s: expected one %s layer", repo, tag, LayerMediaType)
	}
	if a := m.Annotations[store.AnnotationBundleDigest]; a != "" && a != digest.String() {
		return fmt.Errorf("fetching bundle %s:%s: manifest names bundle %s: %w", repo, tag, a, ErrDigestMismatch)
	}
	layer := m.Layers[0]
	// gzip never grows data by more than a few bytes per 64 KiB block, plus
	// its header and trailer.
	if maxLayer := limits.MaxBytes + limits.MaxBytes/64 + 4096; layer.Size > maxLayer {
		return fmt.Errorf("fetching bundle %s:%s: layer is %d bytes, more than the limit of %d uncompressed bytes allows: %w",
			repo, tag, layer.Size, limits.MaxBytes, ErrLimit)
	}
	rc, err := s.GetBlob(ctx, repo, layer.Digest)
	if err != nil {
		return fmt.Errorf("fetching bundle layer %s from %s: %w", layer.Digest, repo, err)
	}
	defer rc.Close()
	vr := &hashingReader{r: io.LimitReader(rc, layer.Size+1), h: sha256.New()}
	st, err := archive.Stage(ctx, vr, dstRoot, digest, limits)
	if err != nil {
		return fmt.Errorf("extracting bundle %s: %w", digest, err)
	}
	defer st.Remove()
	if _, err := io.Copy(io.Discard, vr); err != nil {
		return fmt.Errorf("fetching bundle layer %s: %w", layer.Digest, err)
	}
	if got := sumHash(vr.h); vr.n != layer.Size || got != layer.Digest {
		return fmt.Errorf("fetching bundle layer from %s: got %d bytes with digest %s, manifest says %d bytes %s: %w",
			repo, vr.n, got, layer.Size, layer.Digest, ErrDigestMismatch)
	}
	if err := st.Unpack(ctx, dstRoot); err != nil {
		return fmt.Errorf("extracting bundle %s: %w", digest, err)
	}
	return nil
}

type hashingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}
