package gitdiff

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// ResolveCommit turns a revision into a commit. Accepted, as git rev-parse
// reads them: a full or short (4+ hex) SHA, HEAD or @, a branch, a tag
// (lightweight or annotated, peeled to its commit), a remote-tracking
// branch, any full ref name, followed by any number of ~N, ^N and ^{commit}
// / ^{} suffixes. Names are looked up in git's order: NAME, refs/NAME,
// refs/tags/NAME, refs/heads/NAME, refs/remotes/NAME, refs/remotes/NAME/HEAD.
func (r *Repo) ResolveCommit(rev string) (plumbing.Hash, error) {
	h, err := r.resolve(rev)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("resolving revision %q: %w", rev, err)
	}
	return h, nil
}

func (r *Repo) resolve(rev string) (plumbing.Hash, error) {
	if rev == "" {
		return plumbing.ZeroHash, fmt.Errorf("empty revision: %w", ErrUnknownRevision)
	}
	name, ops := rev, ""
	if i := strings.IndexAny(rev, "~^"); i >= 0 {
		name, ops = rev[:i], rev[i:]
	}
	if name == "@" || name == "" && ops != "" {
		name = "HEAD"
	}
	h, err := r.resolveName(name)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if h, err = r.peelToCommit(h); err != nil {
		return plumbing.ZeroHash, err
	}
	for ops != "" {
		op := ops[0]
		ops = ops[1:]
		if op == '^' && strings.HasPrefix(ops, "{") {
			end := strings.IndexByte(ops, '}')
			if end < 0 {
				return plumbing.ZeroHash, fmt.Errorf("unterminated ^{ in %q: %w", rev, ErrUnknownRevision)
			}
			switch ops[1:end] {
			case "", "commit":
			default:
				return plumbing.ZeroHash, fmt.Errorf("only ^{} and ^{commit} are supported, not ^{%s}: %w", ops[1:end], ErrUnknownRevision)
			}
			ops = ops[end+1:]
			continue
		}
		j := 0
		for j < len(ops) && ops[j] >= '0' && ops[j] <= '9' {
			j++
		}
		n := 1
		if j > 0 {
			v, err := strconv.Atoi(ops[:j])
			if err != nil || v > 1<<20 {
				return plumbing.ZeroHash, fmt.Errorf("bad number in %q: %w", rev, ErrUnknownRevision)
			}
			n = v
		}
		ops = ops[j:]
		if op == '~' {
			for k := 0; k < n; k++ {
				if h, err = r.parent(h, 1, rev); err != nil {
					return plumbing.ZeroHash, err
				}
			}
		} else if n > 0 {
			if h, err = r.parent(h, n, rev); err != nil {
				return plumbing.ZeroHash, err
			}
		}
	}
	return h, nil
}

func (r *Repo) parent(h plumbing.Hash, n int, rev string) (plumbing.Hash, error) {
	c, err := r.commit(h)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if n > len(c.parents) {
		return plumbing.ZeroHash, fmt.Errorf("commit %s has no parent %d: %w", h, n, ErrUnknownRevision)
	}
	return c.parents[n-1], nil
}

// resolveName resolves the part of a revision before any suffix.
func (r *Repo) resolveName(name string) (plumbing.Hash, error) {
	if h, ok := parseHex(name); ok {
		if r.hasObject(h) {
			return h, nil
		}
		return plumbing.ZeroHash, fmt.Errorf("no object %s: %w", name, ErrUnknownRevision)
	}
	if validRefName(name) {
		cands := []string{name, "refs/" + name, "refs/tags/" + name, "refs/heads/" + name,
			"refs/remotes/" + name, "refs/remotes/" + name + "/HEAD"}
		if !strings.HasPrefix(name, "refs/") && !isPseudoRef(name) {
			// Like git, read a top-level file in the git directory only for
			// HEAD-like names, never "config" or "index".
			cands = cands[1:]
		}
		for _, c := range cands {
			h, ok, err := r.ref(c)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if ok {
				return h, nil
			}
		}
	}
	if isHex(name) && len(name) >= 4 && len(name) < 40 {
		return r.resolvePrefix(name)
	}
	return plumbing.ZeroHash, ErrUnknownRevision
}

// ref reads a reference, following symbolic refs.
func (r *Repo) ref(name string) (plumbing.Hash, bool, error) {
	return r.refs.resolve(name)
}

func validRefName(s string) bool {
	if s == "" || strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") || strings.HasSuffix(s, ".lock") {
		return false
	}
	if strings.Contains(s, "..") || strings.Contains(s, "//") || strings.Contains(s, "@{") {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f || strings.ContainsRune(" ~^:?*[\\", c) {
			return false
		}
	}
	for _, seg := range strings.Split(s, "/") {
		if strings.HasPrefix(seg, ".") {
			return false
		}
	}
	return true
}

func isPseudoRef(s string) bool {
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c == '_') {
			return false
		}
	}
	return strings.HasSuffix(s, "HEAD")
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// resolvePrefix finds the one object whose name starts with a short hex
// SHA, in the packs and loose objects. Like git, it prefers a unique commit
// when a prefix is ambiguous only because of non-commit objects.
func (r *Repo) resolvePrefix(short string) (plumbing.Hash, error) {
	s := strings.ToLower(short)
	even := s[:len(s)&^1]
	pre, _ := hex.DecodeString(even)
	odd := len(s)%2 == 1
	var last byte
	if odd {
		v, _ := strconv.ParseUint(s[len(s)-1:], 16, 8)
		last = byte(v)
	}
	found := make(map[plumbing.Hash]struct{})
	for _, p := range r.packs {
		p.prefix(pre, odd, last, found)
	}
	for _, d := range r.objDirs {
		ents, err := os.ReadDir(filepath.Join(d, s[:2]))
		if err != nil {
			continue
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), s[2:]) {
				if h, ok := parseHex(s[:2] + e.Name()); ok {
					found[h] = struct{}{}
				}
			}
		}
	}
	switch len(found) {
	case 0:
		return plumbing.ZeroHash, ErrUnknownRevision
	case 1:
		for h := range found {
			return h, nil
		}
	}
	var commits []plumbing.Hash
	for h := range found {
		if t, _, err := r.readObject(h); err == nil && t == plumbing.CommitObject {
			commits = append(commits, h)
		}
	}
	if len(commits) == 1 {
		return commits[0], nil
	}
	return plumbing.ZeroHash, fmt.Errorf("short SHA %s matches %d objects: %w", short, len(found), ErrAmbiguousRevision)
}

// peelToCommit follows annotated tags down to a commit.
func (r *Repo) peelToCommit(h plumbing.Hash) (plumbing.Hash, error) {
	for depth := 0; depth < 20; depth++ {
		t, b, err := r.readObject(h)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		switch t {
		case plumbing.CommitObject:
			c, err := parseCommit(h, b)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if _, ok := r.commits[h]; !ok {
				r.commits[h] = c
			}
			return h, nil
		case plumbing.TagObject:
			if h, err = parseTag(h, b); err != nil {
				return plumbing.ZeroHash, err
			}
		default:
			return plumbing.ZeroHash, fmt.Errorf("object %s is a %s: %w", h, t, ErrNotCommit)
		}
	}
	return plumbing.ZeroHash, fmt.Errorf("tag chain at %s too deep: %w", h, ErrCorrupt)
}

// commit returns the parsed header of commit h, cached.
func (r *Repo) commit(h plumbing.Hash) (*commitInfo, error) {
	if c, ok := r.commits[h]; ok {
		return c, nil
	}
	t, b, err := r.readObject(h)
	if err != nil {
		return nil, err
	}
	if t != plumbing.CommitObject {
		return nil, fmt.Errorf("object %s is a %s: %w", h, t, ErrNotCommit)
	}
	c, err := parseCommit(h, b)
	if err != nil {
		return nil, err
	}
	r.commits[h] = c
	return c, nil
}

// Tree returns the tree of commit h.
func (r *Repo) Tree(h plumbing.Hash) (plumbing.Hash, error) {
	c, err := r.commit(h)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("reading commit %s: %w", h, err)
	}
	return c.tree, nil
}
