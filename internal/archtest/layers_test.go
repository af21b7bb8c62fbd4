package archtest

import (
	"fmt"
	"go/parser"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// layer is one row of README.md's layout. Higher layers may import lower
// ones, never the other way.
type layer int

const (
	internals    layer = iota // internal/..., the root package runway
	domain                    // registrar, packager, fastreg, promote, executor/...
	pipeline                  // flow
	presentation              // prbot (GitHub), ui (web)
	entry                     // cmd/..., action, server
	testkit                   // internal/testkit/...: only tests, test kits and tools import them
	tool                      // tools/...: helper binaries, may import anything
)

func (l layer) String() string {
	return [...]string{"an internal package", "a domain package", "the pipeline (flow)", "a presentation package", "an entry point", "a test kit", "a helper binary"}[l]
}

// layerTable assigns every package to its layer by its directory: the
// longest matching prefix wins. A new top-level directory must be added
// here (and to README.md's layout).
var layerTable = []struct {
	prefix string
	layer  layer
}{
	{"cmd", entry},
	{"action", entry},
	{"server", entry},
	{"prbot", presentation},
	{"ui", presentation},
	{"flow", pipeline},
	{"registrar", domain},
	{"packager", domain},
	{"fastreg", domain},
	{"promote", domain},
	{"executor", domain},
	{"internal/testkit", testkit},
	{"internal", internals},
	{"tools", tool},
}

// domainEdges are the imports between domain packages that are allowed
// (production code; Go itself rules out cycles). Add an edge here only
// when the dependency is part of the design.
var domainEdges = map[string][]string{
	"executor":            {"registrar"},
	"executor/exectask":   {"executor", "fastreg", "registrar"},
	"executor/kubernetes": {"executor", "executor/exectask"},
	"executor/local":      {"executor", "executor/exectask"},
	"promote":             {"executor", "registrar"},
}

// layerOf returns the layer of the package in directory pkg ("" = root).
func layerOf(pkg string) (layer, bool) {
	if pkg == "" {
		return internals, true // package runway: the embedded sample
	}
	best, found := -1, layer(0)
	for _, row := range layerTable {
		if (pkg == row.prefix || strings.HasPrefix(pkg, row.prefix+"/")) && len(row.prefix) > best {
			best, found = len(row.prefix), row.layer
		}
	}
	return found, best >= 0
}

// importRule says why a file in package from may not import package to,
// or "" when it may.
func importRule(from, to string, test bool) string {
	lf, _ := layerOf(from)
	lt, _ := layerOf(to)
	switch {
	case lf == tool:
		return ""
	case lt == testkit:
		if test || lf == testkit {
			return ""
		}
		return "production code never imports a test kit (only _test.go files, other test kits and tools/ do)"
	case lf == testkit:
		if lt == internals {
			return ""
		}
		return fmt.Sprintf("a test kit imports internal packages and other test kits only, not %s", lt)
	case lt == tool:
		return "nothing imports a helper binary"
	case lt < lf:
		return ""
	case lt > lf:
		return fmt.Sprintf("%s never imports %s (a higher layer)", lf, lt)
	}
	// The same layer.
	switch {
	case test:
		return "" // tests may use their neighbours (package x_test breaks no cycle)
	case lf == internals || lf == pipeline:
		return ""
	case lf == entry:
		// The binaries under cmd/ wire every other entry point (runway serve,
		// the Action's command); action/ and server/ never import each other.
		if strings.HasPrefix(from, "cmd/") || from == "cmd" {
			return ""
		}
		return "an entry point other than cmd/ never imports another entry point"
	case lf == domain:
		for _, ok := range domainEdges[from] {
			if ok == to {
				return ""
			}
		}
		return "this domain -> domain import is not recorded in domainEdges (archtest/layers_test.go); add it there if it is part of the design"
	}
	return fmt.Sprintf("%s never imports another %s", lf, lf)
}

// TestLayers: no package imports a higher layer, and only tests, test kits
// and tools import test kits.
func TestLayers(t *testing.T) {
	files, modPath := moduleFiles(t, parser.ImportsOnly)
	unknown := map[string]bool{}
	var bad []string
	for _, f := range files {
		if _, ok := layerOf(f.pkg); !ok {
			unknown[f.pkg] = true
			continue
		}
		for _, imp := range f.ast.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			to, ok := strings.CutPrefix(path, modPath)
			if !ok || (to != "" && !strings.HasPrefix(to, "/")) {
				continue // not this module
			}
			to = strings.TrimPrefix(to, "/")
			if _, ok := layerOf(to); !ok {
				unknown[to] = true
				continue
			}
			if why := importRule(f.pkg, to, f.test); why != "" {
				bad = append(bad, fmt.Sprintf("%s:%d: imports %s: %s", f.rel, f.fset.Position(imp.Pos()).Line, path, why))
			}
		}
	}
	for pkg := range unknown {
		bad = append(bad, fmt.Sprintf("package %q is in no layer: add its directory to layerTable in internal/archtest/layers_test.go (and to README.md's layout)", pkg))
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Error(b)
	}
}

// TestLayerTable: the table assigns the packages README.md names to the
// layers it names, so the check above checks the documented architecture.
func TestLayerTable(t *testing.T) {
	for pkg, want := range map[string]layer{
		"":                            internals,
		"cmd/runway":                  entry,
		"cmd/internal/cli":            entry,
		"action":                      entry,
		"server":                      entry,
		"prbot":                       presentation,
		"ui":                          presentation,
		"flow":                        pipeline,
		"registrar":                   domain,
		"executor/kubernetes":         domain,
		"internal/store/layout":       internals,
		"internal/testkit/githubfake": testkit,
		"tools/plantime":              tool,
	} {
		if got, ok := layerOf(pkg); !ok || got != want {
			t.Errorf("layerOf(%q) = %v, %v; want %v", pkg, got, ok, want)
		}
	}
	if _, ok := layerOf("newtop"); ok {
		t.Error("an unknown top-level directory has a layer")
	}
	for _, tc := range []struct {
		from, to string
		test     bool
		ok       bool
	}{
		{"registrar", "flow", false, false},
		{"internal/plan", "fastreg", false, false},
		{"flow", "registrar", false, true},
		{"prbot", "flow", false, true},
		{"flow", "prbot", false, false},
		{"registrar", "internal/testkit/gittest", false, false},
		{"registrar", "internal/testkit/gittest", true, true},
		{"registrar", "promote", false, false},
		{"promote", "executor", false, true},
		{"promote", "executor/local", true, true},
		{"action", "server", false, false},
		{"cmd/internal/cli", "server", false, true},
		{"tools/benchcmd", "internal/testkit/githubfake", false, true},
	} {
		if got := importRule(tc.from, tc.to, tc.test) == ""; got != tc.ok {
			t.Errorf("%s -> %s (test %v): allowed %v, want %v", tc.from, tc.to, tc.test, got, tc.ok)
		}
	}
}
