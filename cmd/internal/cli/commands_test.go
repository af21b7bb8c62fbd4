package cli

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// TestEveryCommandIsListed: commands() is the one list of runway's
// commands, so a command whose file declares its constructor
// (func newX(*Global) *cobra.Command) but is missing from the list fails
// here rather than silently not existing.
func TestEveryCommandIsListed(t *testing.T) {
	listed := map[string]bool{}
	for _, f := range commands() {
		name := runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
		listed[name[strings.LastIndex(name, ".")+1:]] = true
	}
	pkgs, err := parser.ParseDir(token.NewFileSet(), ".", func(fi fs.FileInfo) bool { //nolint:staticcheck // SA1019: one directory's non-test files; build tags play no part here
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, pkg := range pkgs {
		for _, file := range pkg.Files {
			for _, d := range file.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "new") || fn.Type.Results == nil || len(fn.Type.Results.List) != 1 {
					continue
				}
				sel, ok := fn.Type.Results.List[0].Type.(*ast.StarExpr)
				if !ok {
					continue
				}
				if s, ok := sel.X.(*ast.SelectorExpr); !ok || s.Sel.Name != "Command" {
					continue
				}
				found++
				if !listed[fn.Name.Name] {
					t.Errorf("%s builds a command but is not in commands() (root.go)", fn.Name.Name)
				}
			}
		}
	}
	if found < 20 || found != len(listed) {
		t.Errorf("found %d command constructors, %d listed", found, len(listed))
	}
}
