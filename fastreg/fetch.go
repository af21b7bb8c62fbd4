package fastreg

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"

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
	limits = recordedLimits(limits, m.Annotations)
	// gzip never grows data by more than a few bytes per 64 KiB block, plus
	// its header and trailer.
	if maxLayer := limits.MaxBytes + limits.MaxBytes/64 + 4096; layer.Size > maxLayer {
		return fmt.Errorf("fetching bundle %s:%s: layer is %d bytes, more than the limit of %d uncompressed bytes allows: %w",
			repo, tag, layer.Size, limits.MaxBytes, ErrLimit)
	}
	// The compressed layer is fetched into a file beside dstRoot and checked
	// against the manifest first: after that, any failure to read it is the
	// stored bundle's own (ErrCorruptBundle), never a store outage. Then the
	// bundle is verified while it is decompressed, writing nothing, so a
	// decompression bomb is refused after at most the recorded size and
	// never occupies more disk than its compressed bytes. Only a verified
	// bundle is unpacked.
	layerFile, err := fetchLayer(ctx, s, repo, layer, dstRoot)
	if err != nil {
		return err
	}
	defer func() { layerFile.Close(); os.Remove(layerFile.Name()) }()
	if err := archive.Verify(ctx, layerFile, digest, limits); err != nil {
		if ctx.Err() == nil && !errors.Is(err, ErrLimit) && !errors.Is(err, ErrUnsafeMember) && !errors.Is(err, ErrDigestMismatch) {
			err = fmt.Errorf("the stored layer %s matches its digest, so fetching it again cannot help: %w: %w", layer.Digest, ErrCorruptBundle, err)
		}
		return fmt.Errorf("extracting bundle %s: %w", digest, err)
	}
	if _, err := layerFile.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewinding bundle layer %s: %w", layer.Digest, err)
	}
	if err := archive.Extract(ctx, layerFile, dstRoot, digest, limits); err != nil {
		return fmt.Errorf("extracting bundle %s: %w", digest, err)
	}
	return nil
}

// fetchLayer downloads the layer into a temporary file next to dstRoot and
// checks its size and digest against the manifest.
func fetchLayer(ctx context.Context, s store.Store, repo string, layer v1.Descriptor, dstRoot string) (*os.File, error) {
	rc, err := s.GetBlob(ctx, repo, layer.Digest)
	if err != nil {
		return nil, fmt.Errorf("fetching bundle layer %s from %s: %w", layer.Digest, repo, err)
	}
	defer rc.Close()
	f, err := os.CreateTemp(filepath.Dir(dstRoot), "."+filepath.Base(dstRoot)+".layer-*")
	if err != nil {
		return nil, fmt.Errorf("creating the bundle layer file: %w", err)
	}
	fail := func(err error) (*os.File, error) { f.Close(); os.Remove(f.Name()); return nil, err }
	vr := &hashingReader{r: io.LimitReader(rc, layer.Size+1), h: sha256.New()}
	if _, err := io.Copy(f, vr); err != nil {
		return fail(fmt.Errorf("fetching bundle layer %s from %s: %w", layer.Digest, repo, err))
	}
	if got := sumHash(vr.h); vr.n != layer.Size || got != layer.Digest {
		return fail(fmt.Errorf("fetching bundle layer from %s: got %d bytes with digest %s, manifest says %d bytes %s: %w",
			repo, vr.n, got, layer.Size, layer.Digest, ErrDigestMismatch))
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fail(fmt.Errorf("rewinding bundle layer %s: %w", layer.Digest, err))
	}
	return f, nil
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

// recordedLimits tightens limits to what the bundle's manifest records: its
// uncompressed size and file count (fastreg.Push writes both). The bytes
// must hash to the identity, which fixes their size, so a stream that
// expands past the recorded size is refused as it is read, after at most
// that many bytes, not after the general limit: a small emptyDir is never
// filled by a decompression bomb.
func recordedLimits(l Limits, ann map[string]string) Limits {
	if n, err := strconv.ParseInt(ann[store.AnnotationBundleSize], 10, 64); err == nil && n > 0 && n < l.MaxBytes {
		l.MaxBytes = n
	}
	if n, err := strconv.Atoi(ann[store.AnnotationBundleFiles]); err == nil && n > 0 && n < l.MaxFiles {
		l.MaxFiles = n
	}
	return l
}
