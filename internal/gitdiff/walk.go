package gitdiff

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// File is a non-directory entry of a tree.
type File struct {
	Path string
	Mode filemode.FileMode
	Hash plumbing.Hash
}

// Lookup finds the entry at the slash-separated path in tree, reading only
// the trees on the way. A missing path gives ErrPathNotFound.
func (r *Repo) Lookup(tree plumbing.Hash, path string) (File, error) {
	segs := strings.Split(path, "/")
	cur := tree
	for i, s := range segs {
		t, b, err := r.readObject(cur)
		if err != nil {
			return File{}, fmt.Errorf("looking up %s: %w", path, err)
		}
		if t != plumbing.TreeObject {
			return File{}, fmt.Errorf("looking up %s: %w", path, ErrPathNotFound)
		}
		it := treeIter{b: b, obj: cur}
		var e entry
		found := false
		for {
			ok, err := it.next(&e)
			if err != nil {
				return File{}, fmt.Errorf("looking up %s: %w", path, err)
			}
			if !ok {
				break
			}
			if bytes.Equal(e.name, []byte(s)) {
				// A blob and a tree never share a name in one tree.
				found = true
				break
			}
		}
		if !found {
			return File{}, fmt.Errorf("%s: %w", path, ErrPathNotFound)
		}
		if i == len(segs)-1 {
			return File{Path: path, Mode: e.mode, Hash: e.hash}, nil
		}
		if !e.isTree() {
			return File{}, fmt.Errorf("%s: %s is not a directory: %w", path, strings.Join(segs[:i+1], "/"), ErrPathNotFound)
		}
		cur = e.hash
	}
	return File{}, fmt.Errorf("%s: %w", path, ErrPathNotFound)
}

// ReadBlob returns the content of blob h.
func (r *Repo) ReadBlob(h plumbing.Hash) ([]byte, error) {
	t, b, err := r.readObject(h)
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", h, err)
	}
	if t != plumbing.BlobObject {
		return nil, fmt.Errorf("object %s is a %s, not a blob: %w", h, t, ErrCorrupt)
	}
	return b, nil
}

// ReadFile returns the content of the file at path in tree; a directory or
// a missing path gives ErrPathNotFound.
func (r *Repo) ReadFile(tree plumbing.Hash, path string) ([]byte, error) {
	f, err := r.Lookup(tree, path)
	if err != nil {
		return nil, err
	}
	if f.Mode == filemode.Dir || f.Mode == filemode.Submodule {
		return nil, fmt.Errorf("%s is not a file: %w", path, ErrPathNotFound)
	}
	return r.ReadBlob(f.Hash)
}

// Walk calls visit for every file below tree in tree order, descending only
// into directories for which descend (given the directory's path) reports
// true; a nil descend walks everything.
func (r *Repo) Walk(ctx context.Context, tree plumbing.Hash, descend func(dir string) bool, visit func(File) error) error {
	w := walker{r: r, ctx: ctx, descend: descend, visit: visit}
	return w.walk("", tree)
}

type walker struct {
	r       *Repo
	ctx     context.Context
	descend func(string) bool
	visit   func(File) error
	reads   int
}

func (w *walker) walk(prefix string, tree plumbing.Hash) error {
	w.reads++
	if w.reads%256 == 1 {
		if err := w.ctx.Err(); err != nil {
			return err
		}
	}
	t, b, err := w.r.readObject(tree)
	if err != nil {
		return fmt.Errorf("reading tree %s: %w", tree, err)
	}
	if t != plumbing.TreeObject {
		return fmt.Errorf("object %s is a %s, expected a tree: %w", tree, t, ErrCorrupt)
	}
	it := treeIter{b: b, obj: tree}
	var e entry
	for {
		ok, err := it.next(&e)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		p := string(e.name)
		if prefix != "" {
			p = prefix + "/" + p
		}
		if e.isTree() {
			if w.descend == nil || w.descend(p) {
				if err := w.walk(p, e.hash); err != nil {
					return err
				}
			}
			continue
		}
		if err := w.visit(File{Path: p, Mode: e.mode, Hash: e.hash}); err != nil {
			return err
		}
	}
}
