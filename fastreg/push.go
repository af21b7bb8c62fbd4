package fastreg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/runway-ci/runway/internal/store"
)

// Media types of a bundle artifact. Its manifest carries
// store.AnnotationBundleDigest (the identity), store.AnnotationBundleSize
// and store.AnnotationBundleFiles, which plan reads back.
const (
	ArtifactType   = "application/vnd.runway.bundle.v1"
	LayerMediaType = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// Result says what Push did.
type Result struct {
	Repo string `json:"repo"`
	Tag  string `json:"tag"`
	// Manifest is the artifact manifest in the store.
	Manifest v1.Descriptor `json:"manifest"`
	// Layer is the compressed tarball blob.
	Layer v1.Descriptor `json:"layer"`
	// Uploaded is false when the bundle's tag existed and nothing was written.
	Uploaded bool `json:"uploaded"`
	// UploadedBytes counts the layer and manifest bytes this push sent (0
	// when the bundle existed; a layer the repository had is not sent again).
	UploadedBytes int64 `json:"uploadedBytes"`
}

// Push uploads b as an OCI artifact under store.BundleRepo(project), tag
// store.BundleTag(b.Digest.Hex). The manifest depends only on the bundle's
// bytes (no commit, no time), so every commit with the same tree content
// shares one bundle. If the tag exists nothing is uploaded. The layer is
// streamed from b's file.
func Push(ctx context.Context, s store.Store, project string, b *Bundle) (Result, error) {
	repo := store.BundleRepo(project)
	res := Result{
		Repo: repo,
		Tag:  store.BundleTag(b.Digest.Hex),
		Layer: v1.Descriptor{
			MediaType: types.MediaType(LayerMediaType),
			Size:      b.CompressedSize,
			Digest:    b.CompressedDigest,
		},
	}
	desc, err := s.HeadManifest(ctx, repo, res.Tag)
	switch {
	case err == nil:
		res.Manifest = desc
		return res, nil
	case !errors.Is(err, store.ErrNotFound):
		return Result{}, fmt.Errorf("checking bundle %s:%s: %w", repo, res.Tag, err)
	}

	raw, err := bundleManifest(b)
	if err != nil {
		return Result{}, err
	}
	if err := store.PutBlobBytes(ctx, s, repo, store.EmptyJSON); err != nil {
		return Result{}, err
	}
	has, err := s.HasBlob(ctx, repo, b.CompressedDigest)
	if err != nil {
		return Result{}, fmt.Errorf("checking bundle layer %s in %s: %w", b.CompressedDigest, repo, err)
	}
	if !has {
		f, err := b.Open()
		if err != nil {
			return Result{}, err
		}
		err = s.PutBlob(ctx, repo, b.CompressedDigest, b.CompressedSize, f)
		f.Close()
		if err != nil {
			return Result{}, fmt.Errorf("uploading bundle layer %s to %s: %w", b.CompressedDigest, repo, err)
		}
		res.UploadedBytes += b.CompressedSize
	}
	desc, err = s.PutManifest(ctx, repo, res.Tag, store.MediaTypeOCIManifest, raw)
	if err != nil {
		return Result{}, fmt.Errorf("writing bundle manifest %s:%s: %w", repo, res.Tag, err)
	}
	res.Manifest = desc
	res.Uploaded = true
	res.UploadedBytes += int64(len(raw))
	return res, nil
}

// bundleManifest renders the artifact manifest of b, deterministically.
func bundleManifest(b *Bundle) ([]byte, error) {
	m := store.Manifest{
		SchemaVersion: 2,
		MediaType:     store.MediaTypeOCIManifest,
		ArtifactType:  ArtifactType,
		Config: v1.Descriptor{
			MediaType: types.MediaType(store.MediaTypeEmptyJSON),
			Size:      int64(len(store.EmptyJSON)),
			Digest:    store.Digest(store.EmptyJSON),
		},
		Layers: []v1.Descriptor{{
			MediaType: types.MediaType(LayerMediaType),
			Size:      b.CompressedSize,
			Digest:    b.CompressedDigest,
		}},
		Annotations: map[string]string{
			store.AnnotationBundleDigest: b.Digest.String(),
			store.AnnotationBundleSize:   strconv.FormatInt(b.Size, 10),
			store.AnnotationBundleFiles:  strconv.Itoa(b.Files),
		},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("rendering bundle manifest: %w", err)
	}
	return raw, nil
}
