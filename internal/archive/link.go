package archive

import (
	"path"
	"strings"
)

// LinkInside reports whether a symlink at name (slash-separated, relative to
// the root) whose target is target resolves inside the root. The rule is
// deliberately stricter than lexical cleaning, which is unsound once a
// component is itself a symlink ("a/up -> .." then "a/x -> up/../y"): the
// target must be relative, may start with ".." components, but no ".." may
// follow a named component, and the leading ".." may not climb above the
// root. Every link is checked the same way, so a chain of links stays inside
// too. Archive writers (bundles, dir values) apply the same rule, so they
// never produce what Extract refuses.
func LinkInside(name, target string) bool {
	if target == "" || strings.HasPrefix(target, "/") || strings.ContainsRune(target, 0) {
		return false
	}
	depth := strings.Count(path.Clean(name), "/") // directories above the link
	up, named := 0, false
	for _, seg := range strings.Split(target, "/") {
		switch seg {
		case "", ".":
		case "..":
			if named {
				return false
			}
			up++
		default:
			named = true
		}
	}
	return up <= depth
}
