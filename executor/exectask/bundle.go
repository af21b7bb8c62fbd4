package exectask

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/store"
)

// BundleFetcher fetches a project's code bundle by its identity digest
// ("sha256:<hex>" of the uncompressed tar), verifies it and extracts it
// into dst. A digest mismatch must be reported (wrapping
// store.ErrDigestMismatch) before anything is extracted.
type BundleFetcher func(ctx context.Context, s store.Store, project, digest, dst string) error

// FetchBundle is the default BundleFetcher. It downloads the bundle
// artifact's tar layer (gzip or plain) into a temporary file next to dst,
// hashes the uncompressed tar, refuses a mismatch, and only then extracts
// it with executor's safe extractor.
func FetchBundle(ctx context.Context, s store.Store, project, digest, dst string) error {
	want, err := v1.NewHash(digest)
	if err != nil {
		return fmt.Errorf("bundle digest %q: %w", digest, err)
	}
	repo := store.BundleRepo(project)
	m, _, err := store.GetArtifact(ctx, s, repo, store.BundleTag(want.Hex))
	if err != nil {
		return fmt.Errorf("reading bundle %s of %s: %w", digest, project, err)
	}
	var layer *v1.Descriptor
	for i := range m.Layers {
		if strings.Contains(string(m.Layers[i].MediaType), "tar") {
			layer = &m.Layers[i]
			break
		}
	}
	if layer == nil {
		return fmt.Errorf("bundle %s of %s has no tar layer", digest, project)
	}
	rc, err := s.GetBlob(ctx, repo, layer.Digest)
	if err != nil {
		return fmt.Errorf("downloading bundle %s: %w", digest, err)
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "bundle-*.tar")
	if err != nil {
		return fmt.Errorf("downloading bundle %s: %w", digest, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()

	br := bufio.NewReader(rc)
	var tr io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("decompressing bundle %s: %w", digest, err)
		}
		defer zr.Close()
		tr = zr
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), tr); err != nil {
		return fmt.Errorf("downloading bundle %s: %w", digest, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want.Hex {
		return fmt.Errorf("bundle %s of %s: its content hashes to sha256:%s; refusing to extract it: %w", digest, project, got, store.ErrDigestMismatch)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := executor.ExtractTar(tmp, dst); err != nil {
		if errors.Is(err, executor.ErrUnsafePath) {
			return fmt.Errorf("bundle %s: %w", digest, err)
		}
		return fmt.Errorf("extracting bundle %s: %w", digest, err)
	}
	return nil
}
