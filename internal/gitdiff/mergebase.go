package gitdiff

import (
	"bytes"
	"container/heap"
	"context"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
)

const (
	paintOne uint8 = 1 << iota
	paintTwo
	paintStale
	paintResult
)

// MergeBase returns the best common ancestor of a and b, as
// `git merge-base a b` computes it: both sides are painted down the history
// newest commit first, and the walk stops as soon as every commit still
// queued is known to be below a common ancestor. It reads only the commits
// between the tips and the fork point (plus any that clock skew drags in),
// never the whole history. When several best common ancestors exist
// (criss-cross merges), the newest by committer time is returned, ties broken
// by SHA. Unrelated histories, or a shallow clone cut above the fork point,
// give ErrNoMergeBase.
func (r *Repo) MergeBase(ctx context.Context, a, b plumbing.Hash) (plumbing.Hash, error) {
	if a == b {
		return a, nil
	}
	bases, err := r.paintDown(ctx, a, b)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if len(bases) == 0 {
		msg := "the histories of %s and %s share no commit"
		if len(r.shallow) > 0 {
			msg += " (the repository is a shallow clone: fetch more history, e.g. git fetch --unshallow)"
		}
		return plumbing.ZeroHash, fmt.Errorf(msg+": %w", a, b, ErrNoMergeBase)
	}
	if len(bases) > 1 {
		if bases, err = r.removeRedundant(ctx, bases); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	best := bases[0]
	for _, h := range bases[1:] {
		cb, ch := r.commits[best], r.commits[h]
		if ch.time > cb.time || ch.time == cb.time && bytes.Compare(h[:], best[:]) < 0 {
			best = h
		}
	}
	return best, nil
}

// paintDown is git's paint_down_to_common.
func (r *Repo) paintDown(ctx context.Context, one plumbing.Hash, twos ...plumbing.Hash) ([]plumbing.Hash, error) {
	// Flags live on the cached commit headers; clear them afterwards so the
	// Repo can run another walk.
	var touched []*commitInfo
	defer func() {
		for _, c := range touched {
			c.flags = 0
		}
	}()
	q := &commitQueue{}
	push := func(h plumbing.Hash, f uint8) error {
		c, err := r.commit(h)
		if err != nil {
			return fmt.Errorf("walking history at %s: %w", h, err)
		}
		if c.flags == 0 {
			touched = append(touched, c)
		}
		c.flags |= f
		heap.Push(q, queued{h, c})
		return nil
	}
	if err := push(one, paintOne); err != nil {
		return nil, err
	}
	for _, t := range twos {
		if err := push(t, paintTwo); err != nil {
			return nil, err
		}
	}
	var result []plumbing.Hash
	for n := 0; q.Len() > 0 && q.anyLive(); n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		it := heap.Pop(q).(queued)
		c := it.c
		f := c.flags & (paintOne | paintTwo | paintStale)
		if f == paintOne|paintTwo {
			if c.flags&paintResult == 0 {
				c.flags |= paintResult
				result = append(result, it.h)
			}
			f |= paintStale
		}
		if r.shallow[it.h] {
			continue // a shallow boundary: its parents are not here
		}
		for _, p := range c.parents {
			pc, err := r.commit(p)
			if err != nil {
				return nil, fmt.Errorf("walking history at %s (parent of %s): %w", p, it.h, err)
			}
			if pc.flags&f == f {
				continue
			}
			if pc.flags == 0 {
				touched = append(touched, pc)
			}
			pc.flags |= f
			heap.Push(q, queued{p, pc})
		}
	}
	var out []plumbing.Hash
	for _, h := range result {
		if r.commits[h].flags&paintStale == 0 {
			out = append(out, h)
		}
	}
	return out, nil
}

// removeRedundant drops every candidate that is an ancestor of another.
func (r *Repo) removeRedundant(ctx context.Context, cands []plumbing.Hash) ([]plumbing.Hash, error) {
	var keep []plumbing.Hash
	for i, c := range cands {
		redundant := false
		for j, o := range cands {
			if i == j {
				continue
			}
			bases, err := r.paintDown(ctx, c, o)
			if err != nil {
				return nil, err
			}
			for _, b := range bases {
				if b == c {
					redundant = true
				}
			}
		}
		if !redundant {
			keep = append(keep, c)
		}
	}
	if len(keep) == 0 {
		return cands[:1], nil
	}
	return keep, nil
}

type queued struct {
	h plumbing.Hash
	c *commitInfo
}

// commitQueue is a max-heap on committer time.
type commitQueue []queued

func (q commitQueue) Len() int { return len(q) }
func (q commitQueue) Less(i, j int) bool {
	if q[i].c.time != q[j].c.time {
		return q[i].c.time > q[j].c.time
	}
	return bytes.Compare(q[i].h[:], q[j].h[:]) < 0
}
func (q commitQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *commitQueue) Push(x any)   { *q = append(*q, x.(queued)) }
func (q *commitQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

func (q commitQueue) anyLive() bool {
	for _, it := range q {
		if it.c.flags&paintStale == 0 {
			return true
		}
	}
	return false
}
