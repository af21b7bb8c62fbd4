package layout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/store"
)

func (s *Store) blobPath(d v1.Hash) string { return s.path("blobs", d.Algorithm, d.Hex) }

// PutBlob implements store.Store. The bytes are hashed on the way to a
// temporary file and renamed into place only if they match digest (and size,
// when size is not -1).
func (s *Store) PutBlob(ctx context.Context, repo string, digest v1.Hash, size int64, r io.Reader) error {
	if err := checkRepo(repo); err != nil {
		return fmt.Errorf("putting blob in %s: %w", s, err)
	}
	if err := checkDigest(digest); err != nil {
		return fmt.Errorf("putting blob in %s/%s: %w", s, repo, err)
	}
	if _, err := os.Stat(s.blobPath(digest)); err == nil {
		return nil
	}
	if err := s.writeBlob(ctx, digest, size, r); err != nil {
		return fmt.Errorf("putting blob %s in %s/%s: %w", digest, s, repo, err)
	}
	return nil
}

func (s *Store) writeBlob(ctx context.Context, digest v1.Hash, size int64, r io.Reader) error {
	return s.atomicWrite(s.blobPath(digest), 0o444, func(f *os.File) error {
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, r})
		if err != nil {
			return fmt.Errorf("writing: %w", err)
		}
		if size >= 0 && n != size {
			return fmt.Errorf("got %d bytes, want %d: %w", n, size, store.ErrDigestMismatch)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != digest.Hex {
			return fmt.Errorf("content hashes to sha256:%s: %w", got, store.ErrDigestMismatch)
		}
		return nil
	})
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// HasBlob implements store.Store; blobs belong to the whole store.
func (s *Store) HasBlob(ctx context.Context, repo string, digest v1.Hash) (bool, error) {
	if err := checkDigest(digest); err != nil {
		return false, fmt.Errorf("checking blob in %s/%s: %w", s, repo, err)
	}
	_, err := os.Stat(s.blobPath(digest))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking blob %s in %s: %w", digest, s, err)
	}
	return true, nil
}

// GetBlob implements store.Store.
func (s *Store) GetBlob(ctx context.Context, repo string, digest v1.Hash) (io.ReadCloser, error) {
	if err := checkDigest(digest); err != nil {
		return nil, fmt.Errorf("reading blob from %s/%s: %w", s, repo, err)
	}
	f, err := os.Open(s.blobPath(digest))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound("reading blob %s from %s/%s", digest, s, repo)
	}
	if err != nil {
		return nil, fmt.Errorf("reading blob %s from %s/%s: %w", digest, s, repo, err)
	}
	return f, nil
}

// MountBlob implements store.Store. Blobs are shared, so this only checks
// that the blob exists.
func (s *Store) MountBlob(ctx context.Context, from, to string, digest v1.Hash) error {
	if err := checkRepo(to); err != nil {
		return fmt.Errorf("mounting blob in %s: %w", s, err)
	}
	ok, err := s.HasBlob(ctx, from, digest)
	if err != nil {
		return err
	}
	if !ok {
		return notFound("mounting blob %s from %s to %s in %s", digest, from, to, s)
	}
	return nil
}
