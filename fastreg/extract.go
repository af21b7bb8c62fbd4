package fastreg

import (
	"context"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/archive"
)

// Default extraction limits (a zero field in Limits takes these).
const (
	DefaultMaxExtractBytes = archive.DefaultMaxBytes
	DefaultMaxExtractFiles = archive.DefaultMaxFiles
)

// Limits bound what Extract and Fetch accept: MaxBytes bounds the
// uncompressed tar stream (what Bundle.Size counts), counted as it is
// decompressed; MaxFiles bounds the number of members.
type Limits = archive.Limits

// Extract verifies and unpacks a bundle into root, which must not exist or
// be an empty directory; its parent must exist. r is the bundle as stored
// (gzip-compressed tar; a plain tar is accepted too) and want the sha256 of
// the uncompressed tar.
//
// It is internal/archive's Extract, runway's one extractor (dir values use
// it too): the digest and every member header are checked before anything
// is created at root, and the tree is unpacked through os.Root. Errors name
// the member (*MemberError) and match ErrUnsafeMember, ErrLimit or
// ErrDigestMismatch.
func Extract(ctx context.Context, r io.Reader, root string, want v1.Hash, limits Limits) error {
	if err := archive.Extract(ctx, r, root, want, limits); err != nil {
		return fmt.Errorf("extracting bundle %s: %w", want, err)
	}
	return nil
}
