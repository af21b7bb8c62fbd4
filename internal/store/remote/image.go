package remote

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote"
)

// WriteImage implements store.ImageWriter with remote.Write: layers go up
// concurrently (WithParallelism), blobs the registry has are skipped, and
// progress goes to the WithProgress callback.
func (s *Store) WriteImage(ctx context.Context, repo, tag string, img v1.Image) (v1.Descriptor, error) {
	d, err := img.Digest()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("writing image to %s/%s: computing digest: %w", s, repo, err)
	}
	what, r, ref, err := s.target("writing image", repo, tag, d)
	if err != nil {
		return v1.Descriptor{}, err
	}
	c, err := s.client(ctx, r)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("%s: %w", what, err)
	}
	opts := append(s.ggcrOptions(c.rt), ggcr.WithContext(ctx))
	done := make(chan struct{})
	if s.progress != nil {
		updates := make(chan v1.Update, 64)
		opts = append(opts, ggcr.WithProgress(updates))
		go func() {
			defer close(done)
			for u := range updates {
				if u.Error == nil {
					s.progress(Progress{Repo: repo, Tag: tag, Complete: u.Complete, Total: u.Total})
				}
			}
		}()
	} else {
		close(done)
	}
	if s.progress != nil {
		err = ggcr.Write(ref, img, opts...)
	} else {
		// Without a progress channel (closed by Write) the write can be
		// repeated when it races another writer of the same blobs.
		err = retryRace(ctx, func() error { return ggcr.Write(ref, img, opts...) }, nil)
	}
	<-done
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("%s: %w", what, s.describe(err))
	}
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("%s: %w", what, err)
	}
	size, err := img.Size()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("%s: %w", what, err)
	}
	return v1.Descriptor{MediaType: mt, Size: size, Digest: d}, nil
}
