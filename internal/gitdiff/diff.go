package gitdiff

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

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
//
// A wide change is diffed on several goroutines (up to GOMAXPROCS, at most
// 4): the top levels are expanded here until there are enough differing
// subtrees, each worker diffs subtrees with its own reader (inflater and
// delta-base cache) over the shared mapped packs, and the pieces are put
// back in tree order.
func (r *Repo) DiffTrees(ctx context.Context, a, b plumbing.Hash) ([]Change, error) {
	return r.diffTrees(ctx, a, b, min(runtime.GOMAXPROCS(0), 4))
}

// splitRounds bounds how many levels are expanded before the workers start.
const splitRounds = 3

type task struct {
	prefix []byte
	a, b   plumbing.Hash
	out    []Change
}

// piece is a run of changes found while expanding, or a subtree left to a
// worker.
type piece struct {
	changes []Change
	task    *task
}

func (r *Repo) diffTrees(ctx context.Context, a, b plumbing.Hash, workers int) ([]Change, error) {
	if workers <= 1 {
		d := differ{rd: r.reader, ctx: ctx}
		if err := d.trees(make([]byte, 0, 256), a, b); err != nil {
			return nil, err
		}
		return d.out, nil
	}
	pieces := []piece{{task: &task{a: a, b: b}}}
	for round := 0; round < splitRounds; round++ {
		n := 0
		for _, p := range pieces {
			if p.task != nil {
				n++
			}
		}
		if n == 0 || n >= 8*workers {
			break
		}
		var next []piece
		for _, p := range pieces {
			if p.task == nil {
				next = append(next, p)
				continue
			}
			d := differ{rd: r.reader, ctx: ctx, split: &next}
			if err := d.trees(p.task.prefix, p.task.a, p.task.b); err != nil {
				return nil, err
			}
			d.flush()
		}
		pieces = next
	}
	var tasks []*task
	for _, p := range pieces {
		if p.task != nil {
			tasks = append(tasks, p.task)
		}
	}
	if len(tasks) > 0 {
		if err := r.runTasks(ctx, tasks, min(workers, len(tasks))); err != nil {
			return nil, err
		}
	}
	var out []Change
	for _, p := range pieces {
		if p.task != nil {
			out = append(out, p.task.out...)
		} else {
			out = append(out, p.changes...)
		}
	}
	return out, nil
}

// runTasks diffs the tasks on workers goroutines; the first error wins and
// stops the others.
func (r *Repo) runTasks(ctx context.Context, tasks []*task, workers int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		rd := r.reader
		if w > 0 {
			rd = newReader(r.objectDB)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := differ{rd: rd, ctx: ctx}
			for {
				i := int(next.Add(1)) - 1
				if i >= len(tasks) {
					return
				}
				t := tasks[i]
				d.out = nil
				if err := d.trees(t.prefix, t.a, t.b); err != nil {
					errs[w] = err
					cancel()
					return
				}
				t.out = d.out
			}
		}()
	}
	wg.Wait()
	// Report the error that caused the cancellation, not the cancellation.
	var first error
	for _, err := range errs {
		if err != nil && (first == nil || errors.Is(first, context.Canceled)) {
			first = err
		}
	}
	return first
}

type differ struct {
	rd    *reader
	ctx   context.Context
	out   []Change
	reads int
	// split, when set, makes subtrees into tasks instead of recursing.
	split *[]piece
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
	t, b, err := d.rd.readObject(h)
	if err != nil {
		return treeIter{}, fmt.Errorf("reading tree %s: %w", h, err)
	}
	if t != plumbing.TreeObject {
		return treeIter{}, fmt.Errorf("object %s is a %s, expected a tree: %w", h, t, ErrCorrupt)
	}
	return treeIter{b: b, obj: h}, nil
}

// sub diffs a subtree, or leaves it to a worker while splitting.
func (d *differ) sub(prefix []byte, a, b plumbing.Hash) error {
	if d.split == nil {
		return d.trees(prefix, a, b)
	}
	d.flush()
	*d.split = append(*d.split, piece{task: &task{prefix: prefix, a: a, b: b}})
	return nil
}

// flush ends the current run of changes while splitting.
func (d *differ) flush() {
	if d.split != nil && len(d.out) > 0 {
		*d.split = append(*d.split, piece{changes: d.out})
		d.out = nil
	}
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
					if err := d.sub(join(prefix, ea.name), ea.hash, eb.hash); err != nil {
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
		return d.sub(p, plumbing.ZeroHash, e.hash)
	}
	return d.sub(p, e.hash, plumbing.ZeroHash)
}

func (d *differ) emit(prefix []byte, e *entry, k Kind) {
	var p string
	if len(prefix) > 0 {
		p = string(prefix) + "/" + string(e.name) // one allocation
	} else {
		p = string(e.name)
	}
	d.out = append(d.out, Change{Path: p, Kind: k, Mode: e.mode, Hash: e.hash})
}

// join returns prefix/name in a new slice (prefix is shared by siblings).
func join(prefix, name []byte) []byte {
	p := make([]byte, 0, len(prefix)+1+len(name))
	if len(prefix) > 0 {
		p = append(append(p, prefix...), '/')
	}
	return append(p, name...)
}
