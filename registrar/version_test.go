package registrar_test

import (
	"testing"

	"github.com/runway-ci/runway/internal/testkit/gittest"
	"github.com/runway-ci/runway/registrar"
)

// An explicit --version inside a git repository must still say which commit
// (and whether uncommitted changes) it names: the packager builds the image
// and bundle from it. Without the commit, register --version X wrote tasks
// with no image and no bundle (issue 17, item 1).
func TestExplicitVersionKeepsTheCommit(t *testing.T) {
	g := gittest.New(t)
	g.Write("runway.yaml", "project: p\n")
	sha := g.Commit("first")

	v, err := registrar.DetectVersion(g.Dir, "v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != "v1" || v.Commit != sha || v.Dirty {
		t.Fatalf("clean tree: got %+v, want version v1, commit %s, clean", v, sha)
	}

	g.Write("pipeline.py", "print(1)\n")
	v, err = registrar.DetectVersion(g.Dir, "v2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != "v2" || v.Commit != sha || !v.Dirty {
		t.Fatalf("dirty tree: got %+v, want version v2, commit %s, dirty", v, sha)
	}

	// Outside git the explicit version is all there is.
	v, err = registrar.DetectVersion(t.TempDir(), "v3", nil)
	if err != nil || v.Version != "v3" || v.Commit != "" {
		t.Fatalf("outside git: got %+v, %v", v, err)
	}
	if _, err := registrar.DetectVersion(g.Dir, "bad version", nil); err == nil {
		t.Fatal("an invalid explicit version was accepted")
	}
}
