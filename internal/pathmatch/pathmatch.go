// Package pathmatch matches slash-separated repository paths against the two
// pattern languages runway.yaml and ignore files use:
//
//   - Glob: runway.yaml globs ("requirements.txt", "deps/**", "src/*.py").
//     A pattern is matched against the whole path from the repository root;
//     "*" and "?" never cross "/", "**" matches any number of segments
//     (including none), and "[...]" is a character class.
//   - Ignore: .gitignore-syntax lines (.runwayignore): "#" comments, "!"
//     negation, a trailing "/" for directories only, and a pattern without
//     an inner "/" matches a name at any depth.
//
// It is a small, allocation-light matcher on purpose: it sits on the plan
// path, which must start and finish in milliseconds.
//
// Layer: an internal package (see README.md). It imports the standard
// library, third-party modules and other internal packages only: never a
// domain package, never flow, a presentation package (prbot, ui) or an entry
// point (cmd/, action/, server/). Only its tests import test kits
// (internal/testkit/...); internal/archtest checks this.
package pathmatch

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strings"
)

// Match reports whether the slash-separated name matches glob.
func Match(glob, name string) bool {
	return matchSegs(strings.Split(glob, "/"), strings.Split(name, "/"))
}

// MatchPrefix reports whether glob matches name or any ancestor directory of
// name ("data/**" and "data" both exclude "data/x/y").
func MatchPrefix(glob, name string) bool {
	g := strings.Split(glob, "/")
	n := strings.Split(name, "/")
	for i := 1; i <= len(n); i++ {
		if matchSegs(g, n[:i]) {
			return true
		}
	}
	return false
}

// Valid reports whether glob is well formed.
func Valid(glob string) error {
	if glob == "" {
		return fmt.Errorf("empty pattern")
	}
	if strings.HasPrefix(glob, "/") {
		return fmt.Errorf("pattern %q must be relative to the repository root (no leading /)", glob)
	}
	for _, seg := range strings.Split(glob, "/") {
		if seg == "**" {
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("pattern %q: %w", glob, err)
		}
	}
	return nil
}

func matchSegs(g, n []string) bool {
	for len(g) > 0 {
		if g[0] == "**" {
			// Collapse consecutive "**".
			for len(g) > 1 && g[1] == "**" {
				g = g[1:]
			}
			if len(g) == 1 {
				return true
			}
			for i := 0; i <= len(n); i++ {
				if matchSegs(g[1:], n[i:]) {
					return true
				}
			}
			return false
		}
		if len(n) == 0 {
			return false
		}
		ok, err := path.Match(g[0], n[0])
		if err != nil || !ok {
			return false
		}
		g, n = g[1:], n[1:]
	}
	return len(n) == 0
}

// Ignore is a parsed ignore file.
type Ignore struct {
	rules []rule
}

type rule struct {
	glob     string
	negate   bool
	dirOnly  bool
	anchored bool
	line     int
}

// ParseIgnore parses .gitignore-syntax lines.
func ParseIgnore(r io.Reader) (*Ignore, error) {
	ig := &Ignore{}
	sc := bufio.NewScanner(r)
	ln := 0
	for sc.Scan() {
		ln++
		l := strings.TrimRight(sc.Text(), " \t\r")
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		ru := rule{line: ln}
		if strings.HasPrefix(l, "!") {
			ru.negate = true
			l = l[1:]
		}
		l = strings.TrimPrefix(l, `\`)
		if strings.HasSuffix(l, "/") {
			ru.dirOnly = true
			l = strings.TrimRight(l, "/")
		}
		if strings.HasPrefix(l, "/") {
			ru.anchored = true
			l = strings.TrimLeft(l, "/")
		} else if strings.Contains(l, "/") {
			ru.anchored = true
		}
		if l == "" {
			continue
		}
		if !ru.anchored {
			l = "**/" + l
		}
		if err := Valid(l); err != nil {
			return nil, fmt.Errorf("line %d: %w", ln, err)
		}
		ru.glob = l
		ig.rules = append(ig.rules, ru)
	}
	return ig, sc.Err()
}

// Len is the number of rules.
func (ig *Ignore) Len() int {
	if ig == nil {
		return 0
	}
	return len(ig.rules)
}

// Ignored reports whether the file at name (slash-separated, relative to the
// ignore file's directory) is ignored: by a rule matching the file itself or
// one of its parent directories; the last matching rule wins, as in git.
func (ig *Ignore) Ignored(name string) bool {
	if ig == nil {
		return false
	}
	segs := strings.Split(name, "/")
	// A parent directory that is ignored excludes everything below it
	// (git cannot re-include a file whose parent is excluded).
	for i := 1; i < len(segs); i++ {
		if ig.match(segs[:i], true) {
			return true
		}
	}
	return ig.match(segs, false)
}

func (ig *Ignore) match(segs []string, isDir bool) bool {
	ignored := false
	g := []string(nil)
	for _, r := range ig.rules {
		if r.dirOnly && !isDir {
			continue
		}
		g = strings.Split(r.glob, "/")
		if matchSegs(g, segs) {
			ignored = !r.negate
		}
	}
	return ignored
}
