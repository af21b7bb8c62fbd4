package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/runway-ci/runway/internal/store"
)

// PutBlob implements store.Store through go-containerregistry's Pusher
// (existence check, then POST/PATCH/PUT). If r is an io.Seeker, a failed
// PATCH is retried by seeking back; otherwise it is sent once.
func (s *Store) PutBlob(ctx context.Context, repo string, digest v1.Hash, size int64, r io.Reader) error {
	what := fmt.Sprintf("uploading blob %s to %s/%s", digest, s, repo)
	ref, err := s.repository(repo)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if _, err := v1.NewHash(digest.String()); err != nil {
		return fmt.Errorf("%s: invalid digest: %w", what, err)
	}
	c, err := s.client(ctx, ref)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if size < 0 {
		// go-containerregistry needs a size when the blob already exists.
		ok, err := s.headBlob(ctx, c, ref, digest)
		if err != nil {
			return fmt.Errorf("%s: %w", what, s.describe(err))
		}
		if ok {
			return nil
		}
	}
	l, err := newReaderLayer(digest, size, r)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	err = retryRace(ctx, func() error { return c.pusher.Upload(ctx, ref, l) },
		func() (bool, error) { return s.headBlob(ctx, c, ref, digest) })
	if err != nil {
		return fmt.Errorf("%s: %w", what, s.describe(err))
	}
	return nil
}

// HasBlob implements store.Store.
func (s *Store) HasBlob(ctx context.Context, repo string, digest v1.Hash) (bool, error) {
	ref, err := s.repository(repo)
	if err != nil {
		return false, fmt.Errorf("checking blob %s in %s: %w", digest, s, err)
	}
	c, err := s.client(ctx, ref)
	if err != nil {
		return false, fmt.Errorf("checking blob %s in %s/%s: %w", digest, s, repo, err)
	}
	ok, err := s.headBlob(ctx, c, ref, digest)
	if err != nil {
		return false, fmt.Errorf("checking blob %s in %s/%s: %w", digest, s, repo, s.describe(err))
	}
	return ok, nil
}

func (s *Store) headBlob(ctx context.Context, c *client, ref name.Repository, digest v1.Hash) (bool, error) {
	u := url.URL{Scheme: ref.Scheme(), Host: ref.RegistryStr(), Path: fmt.Sprintf("/v2/%s/blobs/%s", ref.RepositoryStr(), digest)}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.String(), nil)
	if err != nil {
		return false, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK, http.StatusNotFound); err != nil {
		return false, err
	}
	return resp.StatusCode == http.StatusOK, nil
}

// GetBlob implements store.Store. The reader checks the digest as it
// reaches the end.
func (s *Store) GetBlob(ctx context.Context, repo string, digest v1.Hash) (io.ReadCloser, error) {
	what := fmt.Sprintf("reading blob %s from %s/%s", digest, s, repo)
	ref, err := s.repository(repo)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	d, err := name.NewDigest(ref.Name()+"@"+digest.String(), s.nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid digest: %w", what, err)
	}
	c, err := s.client(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	l, err := c.puller.Layer(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, s.describe(err))
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, s.describe(err))
	}
	return rc, nil
}

// MountBlob implements store.Store with a cross-repository mount. A
// registry that refuses the mount gets the bytes streamed from the source
// repository instead (go-containerregistry does that by itself).
func (s *Store) MountBlob(ctx context.Context, from, to string, digest v1.Hash) error {
	what := fmt.Sprintf("mounting blob %s from %s to %s in %s", digest, from, to, s)
	fromRef, err := s.repository(from)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	toRef, err := s.repository(to)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	src, err := name.NewDigest(fromRef.Name()+"@"+digest.String(), s.nameOpts...)
	if err != nil {
		return fmt.Errorf("%s: invalid digest: %w", what, err)
	}
	cTo, err := s.client(ctx, toRef)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if ok, err := s.headBlob(ctx, cTo, toRef, digest); err != nil {
		return fmt.Errorf("%s: %w", what, s.describe(err))
	} else if ok {
		return nil
	}
	cFrom, err := s.client(ctx, fromRef)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if ok, err := s.headBlob(ctx, cFrom, fromRef, digest); err != nil {
		return fmt.Errorf("%s: %w", what, s.describe(err))
	} else if !ok {
		return fmt.Errorf("%s: source has no such blob: %w", what, store.ErrNotFound)
	}
	layer, err := cFrom.puller.Layer(ctx, src)
	if err != nil {
		return fmt.Errorf("%s: %w", what, s.describe(err))
	}
	pusher := cTo.pusher
	if s.tokenAuth() {
		// The destination's token lacks pull on the source; ask for both.
		rt, err := s.authTransport(ctx, toRef, []string{toRef.Scope(transport.PushScope), fromRef.Scope(transport.PullScope)})
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if pusher, err = ggcr.NewPusher(s.ggcrOptions(rt)...); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if err := pusher.Upload(ctx, toRef, layer); err != nil {
		return fmt.Errorf("%s: %w", what, s.describe(err))
	}
	return nil
}

func (s *Store) tokenAuth() bool {
	s.authMu.Lock()
	defer s.authMu.Unlock()
	return s.bearer
}

// readerLayer presents the bytes of PutBlob as the v1.Layer that
// go-containerregistry uploads. Compressed may be called again for a retry
// only when r can seek back to where it started.
type readerLayer struct {
	digest v1.Hash
	size   int64
	r      io.Reader
	start  int64 // offset of r when handed over, if it seeks
	opened bool
}

func newReaderLayer(digest v1.Hash, size int64, r io.Reader) (*readerLayer, error) {
	l := &readerLayer{digest: digest, size: size, r: r, start: -1}
	if sk, ok := r.(io.Seeker); ok {
		if off, err := sk.Seek(0, io.SeekCurrent); err == nil {
			l.start = off
		}
	}
	return l, nil
}

var errNotRewindable = errors.New("blob reader cannot be read a second time for a retry (it is not an io.Seeker)")

func (l *readerLayer) Compressed() (io.ReadCloser, error) {
	if l.opened {
		if l.start < 0 {
			return nil, errNotRewindable
		}
		if _, err := l.r.(io.Seeker).Seek(l.start, io.SeekStart); err != nil {
			return nil, fmt.Errorf("rewinding blob reader for a retry: %w", err)
		}
	}
	l.opened = true
	return io.NopCloser(l.r), nil
}

func (l *readerLayer) Digest() (v1.Hash, error) { return l.digest, nil }

func (l *readerLayer) Size() (int64, error) {
	if l.size < 0 {
		return 0, errors.New("blob size unknown")
	}
	return l.size, nil
}

func (l *readerLayer) MediaType() (types.MediaType, error) {
	return types.MediaType("application/octet-stream"), nil
}

func (l *readerLayer) DiffID() (v1.Hash, error) {
	return v1.Hash{}, errors.New("a raw blob has no diff ID")
}

func (l *readerLayer) Uncompressed() (io.ReadCloser, error) {
	return nil, errors.New("a raw blob has no uncompressed form")
}
