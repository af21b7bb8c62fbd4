package store

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// WriteImage writes img (its config, its layers, then its manifest) into repo
// and tags it tag (tag may be empty). A store with the ImageWriter capability
// does it its own way (Remote: concurrent layer uploads, blobs that exist are
// skipped); otherwise each blob missing from the store is streamed through
// PutBlob, one after the other.
func WriteImage(ctx context.Context, s Store, repo, tag string, img v1.Image) (v1.Descriptor, error) {
	if iw, ok := s.(ImageWriter); ok {
		return iw.WriteImage(ctx, repo, tag, img)
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("reading config digest of image for %s: %w", repo, err)
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("reading config of image for %s: %w", repo, err)
	}
	if err := PutBlobBytes(ctx, s, repo, cfg); err != nil {
		return v1.Descriptor{}, err
	}
	if got := Digest(cfg); got != cfgName {
		return v1.Descriptor{}, fmt.Errorf("image config for %s hashes to %s, manifest names %s: %w", repo, got, cfgName, ErrDigestMismatch)
	}
	layers, err := img.Layers()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("listing layers of image for %s: %w", repo, err)
	}
	for _, l := range layers {
		if err := putLayer(ctx, s, repo, l); err != nil {
			return v1.Descriptor{}, err
		}
	}
	raw, err := img.RawManifest()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("rendering manifest of image for %s: %w", repo, err)
	}
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("reading media type of image for %s: %w", repo, err)
	}
	return s.PutManifest(ctx, repo, tag, string(mt), raw)
}

func putLayer(ctx context.Context, s Store, repo string, l v1.Layer) error {
	d, err := l.Digest()
	if err != nil {
		return fmt.Errorf("computing layer digest for %s: %w", repo, err)
	}
	ok, err := s.HasBlob(ctx, repo, d)
	if err != nil {
		return fmt.Errorf("checking layer %s in %s: %w", d, repo, err)
	}
	if ok {
		return nil
	}
	size, err := l.Size()
	if err != nil {
		return fmt.Errorf("reading size of layer %s for %s: %w", d, repo, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return fmt.Errorf("opening layer %s for %s: %w", d, repo, err)
	}
	defer rc.Close()
	if err := s.PutBlob(ctx, repo, d, size, rc); err != nil {
		return fmt.Errorf("uploading layer %s to %s: %w", d, repo, err)
	}
	return nil
}
