package fastreg

import (
	"errors"
	"fmt"
	"strings"

	"github.com/runway-ci/runway/internal/archive"
)

// Sentinels callers branch on with errors.Is.
var (
	// ErrTooLarge: the bundle is over its size budget (see *TooLargeError).
	ErrTooLarge = errors.New("bundle over size budget")
	// ErrSymlinkEscape: a tracked symlink points outside the tree (see *SymlinkError).
	ErrSymlinkEscape = errors.New("symlink points outside the tree")
	// ErrDigestMismatch: bundle bytes do not hash to the digest that names
	// them. The extraction sentinels are internal/archive's, so a bundle and
	// a dir value are refused with the same errors.
	ErrDigestMismatch = archive.ErrDigestMismatch
	// ErrUnsafeMember: a tarball member would write outside the root or is of
	// a forbidden kind (see *MemberError).
	ErrUnsafeMember = archive.ErrUnsafeMember
	// ErrLimit: extraction went over a size or file-count limit.
	ErrLimit = archive.ErrLimit
	// ErrRootExists: the extraction root exists and is not an empty directory.
	ErrRootExists = archive.ErrRootExists
	// ErrCorruptBundle: the stored layer matches its digest, but is not a
	// readable bundle (truncated, not gzip or tar). Fetching it again can
	// never help.
	ErrCorruptBundle = errors.New("stored bundle is corrupt")
	// ErrNoCommit: the repository has no commit to version a bundle by.
	ErrNoCommit = errors.New("repository has no commit")
)

// FileSize is one file and its size in bytes.
type FileSize struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

// TooLargeError reports a bundle over its budget with its largest files.
// It matches ErrTooLarge.
type TooLargeError struct {
	Size    int64      // uncompressed tar size the bundle would have
	Limit   int64      // the budget
	Largest []FileSize // the largest files, biggest first (at most 10)
}

func (e *TooLargeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "bundle is %s uncompressed, over the budget of %s; largest files:", humanBytes(e.Size), humanBytes(e.Limit))
	for _, f := range e.Largest {
		fmt.Fprintf(&b, "\n  %10s  %s", humanBytes(f.Size), f.Path)
	}
	b.WriteString("\nexclude them with bundle.exclude in runway.yaml or .runwayignore, or raise the budget")
	return b.String()
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// SymlinkError reports a tracked symlink whose target leaves the tree.
// It matches ErrSymlinkEscape.
type SymlinkError struct {
	Path   string
	Target string
}

func (e *SymlinkError) Error() string {
	return fmt.Sprintf("symlink %q -> %q points outside the repository tree; a bundle only keeps links that stay inside it", e.Path, e.Target)
}

// Is makes errors.Is(err, ErrSymlinkEscape) true.
func (e *SymlinkError) Is(target error) bool { return target == ErrSymlinkEscape }

// MemberError names the tarball member that extraction refused and why.
// It matches ErrUnsafeMember or ErrLimit (Err).
type MemberError = archive.MemberError

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
