package gitdiff

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// commitInfo is what the merge-base walk and the diff need of a commit.
type commitInfo struct {
	tree    plumbing.Hash
	parents []plumbing.Hash
	time    int64 // committer time, seconds
	flags   uint8 // merge-base paint
}

func parseHex(s string) (plumbing.Hash, bool) {
	var h plumbing.Hash
	if len(s) != 40 {
		return h, false
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, false
	}
	return h, true
}

// parseCommit reads the header of a commit object. Only tree, parent and
// committer lines are looked at; the message is never touched.
func parseCommit(h plumbing.Hash, b []byte) (*commitInfo, error) {
	c := &commitInfo{}
	seenTree := false
	for len(b) > 0 {
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			nl = len(b)
		}
		line := b[:nl]
		if len(line) == 0 {
			break // end of headers
		}
		b = b[min(nl+1, len(b)):]
		sp := bytes.IndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		key, val := string(line[:sp]), line[sp+1:]
		switch key {
		case "tree":
			t, ok := parseHex(string(val))
			if !ok {
				return nil, fmt.Errorf("commit %s: bad tree line: %w", h, ErrCorrupt)
			}
			c.tree, seenTree = t, true
		case "parent":
			p, ok := parseHex(string(val))
			if !ok {
				return nil, fmt.Errorf("commit %s: bad parent line: %w", h, ErrCorrupt)
			}
			c.parents = append(c.parents, p)
		case "committer":
			// "Name <email> 1700000000 +0000"
			gt := bytes.LastIndexByte(val, '>')
			f := bytes.Fields(val[gt+1:])
			if len(f) > 0 {
				c.time, _ = strconv.ParseInt(string(f[0]), 10, 64)
			}
		}
	}
	if !seenTree {
		return nil, fmt.Errorf("commit %s has no tree: %w", h, ErrCorrupt)
	}
	return c, nil
}

// parseTag returns the object an annotated tag points at.
func parseTag(h plumbing.Hash, b []byte) (plumbing.Hash, error) {
	if !bytes.HasPrefix(b, []byte("object ")) || len(b) < 47 {
		return plumbing.ZeroHash, fmt.Errorf("tag %s: no object line: %w", h, ErrCorrupt)
	}
	t, ok := parseHex(string(b[7:47]))
	if !ok {
		return plumbing.ZeroHash, fmt.Errorf("tag %s: bad object line: %w", h, ErrCorrupt)
	}
	return t, nil
}

// entry is one tree entry; name aliases the tree's bytes.
type entry struct {
	name []byte
	mode filemode.FileMode
	hash plumbing.Hash
}

func (e *entry) isTree() bool { return e.mode == filemode.Dir }

// treeIter walks the raw entries of a tree object without allocating.
type treeIter struct {
	b   []byte
	obj plumbing.Hash
}

// next fills e and reports false at the end; a malformed tree is an error.
func (it *treeIter) next(e *entry) (bool, error) {
	if len(it.b) == 0 {
		return false, nil
	}
	sp := bytes.IndexByte(it.b, ' ')
	if sp <= 0 || sp > 7 {
		return false, fmt.Errorf("tree %s: bad entry mode: %w", it.obj, ErrCorrupt)
	}
	var m uint32
	for _, c := range it.b[:sp] {
		if c < '0' || c > '7' {
			return false, fmt.Errorf("tree %s: bad entry mode: %w", it.obj, ErrCorrupt)
		}
		m = m<<3 | uint32(c-'0')
	}
	rest := it.b[sp+1:]
	nul := bytes.IndexByte(rest, 0)
	if nul <= 0 || len(rest) < nul+1+20 {
		return false, fmt.Errorf("tree %s: truncated entry: %w", it.obj, ErrCorrupt)
	}
	e.name = rest[:nul]
	e.mode = filemode.FileMode(m)
	if m&0o170000 == 0o040000 {
		e.mode = filemode.Dir
	}
	copy(e.hash[:], rest[nul+1:nul+21])
	it.b = rest[nul+21:]
	return true, nil
}

// compareEntries orders two entries as git sorts a tree: by name, with a
// directory's name compared as if it ended in "/".
func compareEntries(a, b *entry) int {
	n := min(len(a.name), len(b.name))
	if c := bytes.Compare(a.name[:n], b.name[:n]); c != 0 {
		return c
	}
	ca, cb := nextChar(a, n), nextChar(b, n)
	switch {
	case ca < cb:
		return -1
	case ca > cb:
		return 1
	}
	return 0
}

func nextChar(e *entry, n int) byte {
	if n < len(e.name) {
		return e.name[n]
	}
	if e.isTree() {
		return '/'
	}
	return 0
}
