package archtest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// keyOwners: the one file allowed to spell string literals that start with
// each prefix. An empty owner means no file may (a retired prefix).
// runway's own prefixes are checked in every file, tests included; the
// standard prefixes only in production code, since a test may hold a
// foreign image's keys as data.
var keyOwners = []struct {
	prefix, owner string
	tests         bool
}{
	{"dev.runway.", "internal/store/annotations.go", true},                // OCI annotation keys
	{"org.opencontainers.image.", "internal/store/annotations.go", false}, // standard OCI annotation keys runway sets
	{"runway.dev/", "internal/kubenames/kubenames.go", true},              // Kubernetes label and annotation keys
	{"app.kubernetes.io/", "internal/kubenames/kubenames.go", false},      // Kubernetes' recommended label keys
	{"io.runway.", "", true}, // retired: one prefix now
	{"ci.runway.", "", true}, // retired
	{"runway.io/", "", true}, // retired: CronJobs use runway.dev/ too
}

// namesFile holds every repository and tag name (DESIGN.md's table).
const namesFile = "internal/store/names.go"

// tagLiterals are the tag names and tag prefixes runway writes; outside
// namesFile production code gets them from store's functions.
var tagLiterals = map[string]bool{"active": true, "tree-": true, "deps-": true, "sha256-": true, "claim-": true, "runway-locks": true}

// otherVocabularies are the directories that speak another system's words
// which happen to equal a tag of runway's: GitHub's API calls a team
// membership "active" (internal/github reads it, the fake serves it). Only
// the literals listed for a directory are let through there.
var otherVocabularies = map[string][]string{
	"internal/github/":             {"active"},
	"internal/testkit/githubfake/": {"active"},
}

func otherVocabulary(rel, literal string) bool {
	for dir, words := range otherVocabularies {
		if strings.HasPrefix(rel, dir) && slices.Contains(words, literal) {
			return true
		}
	}
	return false
}

// TestVocabulary: every repository and tag name, OCI annotation key and
// Kubernetes label or annotation key is spelled in its one file. Outside
// it, code uses the constant or function that file declares.
//
// Annotation and label keys are checked in every file. Repository and tag
// names are checked in production code, where a repository is built by
// path.Join or a tag from a literal prefix; tests may spell out the layout
// they expect.
func TestVocabulary(t *testing.T) {
	files, _ := moduleFiles(t, parser.SkipObjectResolution)
	var bad []string
	for _, f := range files {
		if f.pkg == "internal/archtest" {
			continue // the patterns themselves
		}
		report := func(pos token.Pos, format string, args ...any) {
			bad = append(bad, fmt.Sprintf("%s:%d: %s", f.rel, f.fset.Position(pos).Line, fmt.Sprintf(format, args...)))
		}
		ast.Inspect(f.ast, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if n.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(n.Value)
				if err != nil {
					return true
				}
				for _, k := range keyOwners {
					if !strings.HasPrefix(s, k.prefix) || f.rel == k.owner || (f.test && !k.tests) {
						continue
					}
					if k.owner == "" {
						report(n.Pos(), "%q uses the retired prefix %q; runway's keys are named in %s and %s", s, k.prefix, keyOwners[0].owner, keyOwners[2].owner)
					} else {
						report(n.Pos(), "%q is a key named in %s; use its constant", s, k.owner)
					}
				}
				if !f.test && f.rel != namesFile && tagLiterals[s] && !otherVocabulary(f.rel, s) {
					report(n.Pos(), "%q is a tag name or prefix; use the function or constant in %s", s, namesFile)
				}
			case *ast.CallExpr:
				// path.Join (not filepath.Join) with a literal builds a
				// repository name.
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok || f.test || f.rel == namesFile || sel.Sel.Name != "Join" {
					return true
				}
				if id, ok := sel.X.(*ast.Ident); !ok || id.Name != "path" {
					return true
				}
				for _, a := range n.Args {
					if lit, ok := a.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						report(n.Pos(), "path.Join with %s builds a repository name; name it in %s", lit.Value, namesFile)
					}
				}
			}
			return true
		})
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Error(b)
	}
}
