package gitdiff

import (
	"context"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// Kind is how a path changed.
type Kind string

// Change kinds. A rename is reported as Deleted (old path) plus Added (new
// path); a file that became a directory is Deleted plus one Added per file
// below the directory, and the reverse.
const (
	Added    Kind = "added"
	Modified Kind = "modified"
	Deleted  Kind = "deleted"
)

// Change is one changed path (a file, symlink or submodule; never a
// directory).
type Change struct {
	Path string `json:"path"`
	Kind Kind   `json:"change"`
	// Mode and Hash describe the entry at head, or at the merge base for a
	// deleted path.
	Mode filemode.FileMode `json:"-"`
	Hash plumbing.Hash     `json:"-"`
}

// Result is the three-dot diff base...head.
type Result struct {
	Base      plumbing.Hash // base, resolved to a commit
	Head      plumbing.Hash // head, resolved to a commit
	MergeBase plumbing.Hash
	BaseTree  plumbing.Hash // tree of the merge base
	HeadTree  plumbing.Hash
	// Changes are sorted in git's tree order (the order of
	// `git diff --name-only`).
	Changes []Change
}

// ChangedPaths opens the repository that contains repoDir and returns the
// paths changed from merge-base(base, head) to head: GitHub's three-dot pull
// request diff. Commits made on base after the branch point do not appear.
func ChangedPaths(ctx context.Context, repoDir, base, head string) (*Result, error) {
	r, err := Open(repoDir)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.ChangedPaths(ctx, base, head)
}

// ChangedPaths is the package-level ChangedPaths on an open repository.
func (r *Repo) ChangedPaths(ctx context.Context, base, head string) (*Result, error) {
	bh, err := r.ResolveCommit(base)
	if err != nil {
		return nil, err
	}
	hh, err := r.ResolveCommit(head)
	if err != nil {
		return nil, err
	}
	mb, err := r.MergeBase(ctx, bh, hh)
	if err != nil {
		return nil, fmt.Errorf("merge base of %q and %q: %w", base, head, err)
	}
	res := &Result{Base: bh, Head: hh, MergeBase: mb}
	if res.BaseTree, err = r.Tree(mb); err != nil {
		return nil, err
	}
	if res.HeadTree, err = r.Tree(hh); err != nil {
		return nil, err
	}
	if res.Changes, err = r.DiffTrees(ctx, res.BaseTree, res.HeadTree); err != nil {
		return nil, fmt.Errorf("diffing %s..%s: %w", mb, hh, err)
	}
	return res, nil
}

// DiffTrees lists the files that differ between trees a and b. A subtree
// with the same hash on both sides is skipped without being read, so the
// cost follows the size of the change, not the size of the repository. The
// zero hash stands for an empty tree.
func (r *Repo) DiffTrees(ctx context.Context, a, b plumbing.Hash) ([]Change, error) {
	d := differ{r: r, ctx: ctx}
	if err := d.trees(make([]byte, 0, 256), a, b); err != nil {
		return nil, err
	}
	return d.out, nil
}

type differ struct {
	r     *Repo
	ctx   context.Context
	out   []Change
	reads int
}

func (d *differ) readTree(h plumbing.Hash) (treeIter, error) {
	if h.IsZero() {
		return treeIter{}, nil
	}
	d.reads++
	if d.reads%256 == 1 {
		if err := d.ctx.Err(); err != nil {
			return treeIter{}, err
		}
	}
	t, b, err := d.r.readObject(h)
	if err != nil {
		return treeIter{}, fmt.Errorf("reading tree %s: %w", h, err)
	}
	if t != plumbing.TreeObject {
		return treeIter{}, fmt.Errorf("object %s is a %s, expected a tree: %w", h, t, ErrCorrupt)
	}
	return treeIter{b: b, obj: h}, nil
}

// trees merges the sorted entries of two trees under prefix.
func (d *differ) trees(prefix []byte, a, b plumbing.Hash) error {
	if a == b {
		return nil
	}
	ia, err := d.readTree(a)
	if err != nil {
		return err
	}
	ib, err := d.readTree(b)
	if err != nil {
		return err
	}
	var ea, eb entry
	okA, err := ia.next(&ea)
	if err != nil {
		return err
	}
	okB, err := ib.next(&eb)
	if err != nil {
		return err
	}
	for okA || okB {
		c := 0
		switch {
		case !okA:
			c = 1
		case !okB:
			c = -1
		default:
			c = compareEntries(&ea, &eb)
		}
		switch {
		case c < 0:
			if err := d.one(prefix, &ea, Deleted); err != nil {
				return err
			}
		case c > 0:
			if err := d.one(prefix, &eb, Added); err != nil {
				return err
			}
		default:
			if ea.hash != eb.hash || ea.mode != eb.mode {
				if ea.isTree() {
					if err := d.trees(join(prefix, ea.name), ea.hash, eb.hash); err != nil {
						return err
					}
				} else {
					d.emit(prefix, &eb, Modified)
				}
			}
		}
		if c <= 0 {
			if okA, err = ia.next(&ea); err != nil {
				return err
			}
		}
		if c >= 0 {
			if okB, err = ib.next(&eb); err != nil {
				return err
			}
		}
	}
	return nil
}

// one reports an entry present on one side only; a directory expands to
// every file below it.
func (d *differ) one(prefix []byte, e *entry, k Kind) error {
	if !e.isTree() {
		d.emit(prefix, e, k)
		return nil
	}
	p := join(prefix, e.name)
	if k == Added {
		return d.trees(p, plumbing.ZeroHash, e.hash)
	}
	return d.trees(p, e.hash, plumbing.ZeroHash)
}

func (d *differ) emit(prefix []byte, e *entry, k Kind) {
	p := make([]byte, 0, len(prefix)+1+len(e.name))
	if len(prefix) > 0 {
		p = append(append(p, prefix...), '/')
	}
	p = append(p, e.name...)
	d.out = append(d.out, Change{Path: string(p), Kind: k, Mode: e.mode, Hash: e.hash})
}

// join returns prefix/name in a new slice (prefix is shared by siblings).
func join(prefix, name []byte) []byte {
	p := make([]byte, 0, len(prefix)+1+len(name))
	if len(prefix) > 0 {
		p = append(append(p, prefix...), '/')
	}
	return append(p, name...)
}
