package fastreg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/runway-ci/runway/internal/archive"
)

// maxIgnoreFile bounds how much of .runwayignore is read.
const maxIgnoreFile = 1 << 20

// openRepo opens the repository that holds dir (dir may be a subdirectory).
func openRepo(dir string) (*git.Repository, error) {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		return nil, fmt.Errorf("opening git repository %s: %w", dir, err)
	}
	return repo, nil
}

// resolveCommit resolves rev to a commit.
func resolveCommit(repo *git.Repository, rev string) (*object.Commit, error) {
	h, err := repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		if errors.Is(err, plumbing.ErrReferenceNotFound) && rev == "HEAD" {
			return nil, fmt.Errorf("resolving HEAD: %w", ErrNoCommit)
		}
		return nil, fmt.Errorf("resolving revision %q: %w", rev, err)
	}
	c, err := repo.CommitObject(*h)
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", h, err)
	}
	return c, nil
}

// listCommit lists the files of commit c that go into a bundle, sorted by
// path, and the tracked paths it leaves out on purpose. With forBundle it
// also reads sizes and refuses symlinks that leave the tree; without, it
// lists paths, kinds and blob ids only (to compare a worktree with HEAD).
func listCommit(ctx context.Context, repo *git.Repository, db *objectDB, c *object.Commit, exclude []string, forBundle bool) ([]entry, []Skipped, error) {
	tree, err := c.Tree()
	if err != nil {
		return nil, nil, fmt.Errorf("reading tree of commit %s: %w", c.Hash, err)
	}
	var ignore []byte
	if te, err := tree.FindEntry(RunwayIgnoreFile); err == nil && te.Mode.IsFile() {
		b, err := readBlob(repo.Storer, te.Hash, maxIgnoreFile, RunwayIgnoreFile)
		if err != nil {
			return nil, nil, err
		}
		ignore = b
	}
	f, err := newFilter(exclude, ignore)
	if err != nil {
		return nil, nil, err
	}
	w := &treeWalker{ctx: ctx, s: repo.Storer, db: db, f: f, forBundle: forBundle}
	if err := w.walk(tree, ""); err != nil {
		return nil, nil, err
	}
	sortEntries(w.entries)
	return w.entries, w.skipped, nil
}

type treeWalker struct {
	ctx       context.Context // the walk is one call; the context lives only as long as it
	s         storer.EncodedObjectStorer
	db        *objectDB
	f         *filter
	forBundle bool
	entries   []entry
	skipped   []Skipped
}

func (w *treeWalker) walk(t *object.Tree, dir string) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	for _, te := range t.Entries {
		name := te.Name
		if dir != "" {
			name = dir + "/" + te.Name
		}
		if isDotGit(te.Name) {
			w.skipped = append(w.skipped, Skipped{Path: name, Reason: SkipDotGit})
			continue
		}
		switch te.Mode {
		case filemode.Dir:
			if w.f.excludedDir(name) {
				continue
			}
			sub, err := object.GetTree(w.s, te.Hash)
			if err != nil {
				return fmt.Errorf("reading tree %s (%s): %w", name, te.Hash, err)
			}
			if err := w.walk(sub, name); err != nil {
				return err
			}
		case filemode.Submodule:
			if !w.f.excluded(name) {
				w.skipped = append(w.skipped, Skipped{Path: name, Reason: SkipSubmodule})
			}
		case filemode.Regular, filemode.Deprecated, filemode.Executable:
			if w.f.excluded(name) {
				continue
			}
			var size int64
			if w.forBundle {
				var err error
				if size, err = w.db.size(te.Hash); err != nil {
					return fmt.Errorf("reading size of %s (%s): %w", name, te.Hash, err)
				}
			}
			k := kindFile
			if te.Mode == filemode.Executable {
				k = kindExec
			}
			w.entries = append(w.entries, entry{path: name, kind: k, size: size, hash: te.Hash})
		case filemode.Symlink:
			if w.f.excluded(name) {
				continue
			}
			target, err := w.linkTarget(name, te.Hash)
			if err != nil {
				return err
			}
			if w.forBundle && !archive.LinkInside(name, target) {
				return &SymlinkError{Path: name, Target: target}
			}
			w.entries = append(w.entries, entry{path: name, kind: kindSymlink, hash: te.Hash, target: target})
		default:
			w.skipped = append(w.skipped, Skipped{Path: name, Reason: SkipSpecial})
		}
	}
	return nil
}

// maxLinkTarget bounds a symlink target (Linux's PATH_MAX).
const maxLinkTarget = 4096

func (w *treeWalker) linkTarget(name string, h plumbing.Hash) (string, error) {
	size, err := w.db.size(h)
	if err != nil {
		return "", fmt.Errorf("reading symlink %s (%s): %w", name, h, err)
	}
	if size > maxLinkTarget {
		return "", fmt.Errorf("reading symlink %s: target is %d bytes, longer than %d", name, size, maxLinkTarget)
	}
	b, err := w.db.read(h, size, nil)
	if err != nil {
		return "", fmt.Errorf("reading symlink %s: %w", name, err)
	}
	return string(b), nil
}

func readBlob(s storer.EncodedObjectStorer, h plumbing.Hash, max int64, what string) ([]byte, error) {
	o, err := s.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, fmt.Errorf("reading %s (%s): %w", what, h, err)
	}
	if o.Size() > max {
		return nil, fmt.Errorf("reading %s: larger than %d bytes", what, max)
	}
	r, err := o.Reader()
	if err != nil {
		return nil, fmt.Errorf("reading %s (%s): %w", what, h, err)
	}
	defer r.Close()
	return readAllLimit(r, max, what)
}

// commitSource reads entry contents from the object database.
type commitSource struct{ db *objectDB }

func (c commitSource) read(e *entry, buf []byte) ([]byte, error) {
	b, err := c.db.read(e.hash, e.size, buf)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", e.path, err)
	}
	return b, nil
}

func (c commitSource) open(e *entry) (io.ReadCloser, error) {
	r, err := c.db.open(e.hash)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", e.path, err)
	}
	return r, nil
}

// sortEntries sorts by path, byte-wise.
func sortEntries(es []entry) {
	slices.SortFunc(es, func(a, b entry) int { return strings.Compare(a.path, b.path) })
}
