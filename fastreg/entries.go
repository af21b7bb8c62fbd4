package fastreg

import (
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/runway-ci/runway/internal/pathmatch"
)

// kind is what a bundle entry is; it decides the tar type and mode.
type kind uint8

const (
	kindFile    kind = iota // regular file, mode 0644
	kindExec                // executable file, mode 0755
	kindSymlink             // symlink, mode 0777, target inside the tree
)

// entry is one file of a bundle before it is written.
type entry struct {
	path   string        // slash-separated, relative to the tree root
	kind   kind          //
	size   int64         // content size (0 for symlinks)
	hash   plumbing.Hash // git blob id (commit source: known; worktree: computed while writing)
	target string        // symlink target
	disk   string        // worktree source: file on disk; "" for git objects
}

// Skipped is a tracked path that the bundle leaves out, and why.
type Skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Reasons a path is skipped.
const (
	SkipSubmodule = "submodule (gitlink): its content is not part of this repository"
	SkipNestedGit = "nested git repository: not part of this repository"
	SkipDotGit    = "path inside .git"
	SkipSpecial   = "not a regular file or symlink"
)

// RunwayIgnoreFile is the ignore file read from the root of the tree.
const RunwayIgnoreFile = ".runwayignore"

// filter applies bundle.exclude and .runwayignore.
type filter struct {
	exclude []string
	ignore  *pathmatch.Ignore
}

func newFilter(exclude []string, runwayignore []byte) (*filter, error) {
	f := &filter{exclude: exclude}
	if runwayignore != nil {
		ig, err := pathmatch.ParseIgnore(bytes.NewReader(runwayignore))
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", RunwayIgnoreFile, err)
		}
		f.ignore = ig
	}
	return f, nil
}

// excludedDir reports whether a whole directory is excluded, so that its
// subtree need not be walked. (Ignore rules are checked per file: they may
// re-include names.)
func (f *filter) excludedDir(dir string) bool {
	if isDotGit(path.Base(dir)) {
		return true
	}
	for _, g := range f.exclude {
		if pathmatch.MatchPrefix(g, dir) {
			return true
		}
	}
	return false
}

// excluded reports whether a file is left out of the bundle.
func (f *filter) excluded(name string) bool {
	for _, g := range f.exclude {
		if pathmatch.MatchPrefix(g, name) {
			return true
		}
	}
	return f.ignore.Ignored(name)
}

// isDotGit reports whether a path segment names git's own directory (git
// itself refuses such paths case-insensitively).
func isDotGit(seg string) bool { return strings.EqualFold(seg, ".git") }

// hasDotGit reports whether any segment of name is .git.
func hasDotGit(name string) bool {
	for _, s := range strings.Split(name, "/") {
		if isDotGit(s) {
			return true
		}
	}
	return false
}

// tarSize is the exact size of the tar that writeTar makes from entries
// (GNU format: 512-byte header, content padded to 512, a GNU long-name or
// long-link record before headers whose name or target exceeds 100 bytes, two
// zero blocks at the end).
func tarSize(entries []entry) int64 {
	var n int64
	for i := range entries {
		e := &entries[i]
		if len(e.path) > 100 {
			n += 512 + pad512(int64(len(e.path))+1)
		}
		if len(e.target) > 100 {
			n += 512 + pad512(int64(len(e.target))+1)
		}
		n += 512 + pad512(e.size)
	}
	return n + 1024
}

func pad512(n int64) int64 { return (n + 511) &^ 511 }

// largest returns up to n entries by size, biggest first (ties by path).
func largest(entries []entry, n int) []FileSize {
	top := make([]FileSize, 0, n+1)
	for i := range entries {
		f := FileSize{Path: entries[i].path, Size: entries[i].size}
		j := len(top)
		for j > 0 && (top[j-1].Size < f.Size || top[j-1].Size == f.Size && top[j-1].Path > f.Path) {
			j--
		}
		if j >= n {
			continue
		}
		top = append(top, FileSize{})
		copy(top[j+1:], top[j:])
		top[j] = f
		if len(top) > n {
			top = top[:n]
		}
	}
	return top
}

// readAllLimit reads r fully, refusing more than max bytes.
func readAllLimit(r io.Reader, max int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("reading %s: larger than %d bytes", what, max)
	}
	return b, nil
}
