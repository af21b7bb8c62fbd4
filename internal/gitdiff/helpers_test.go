package gitdiff

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/runway-ci/runway/internal/testkit/gittest"
)

type gitRepo = gittest.Repo

func newGitRepo(t testing.TB) *gitRepo { return gittest.New(t) }

func paths(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Path)
	}
	return out
}

func kinds(cs []Change) map[string]Kind {
	m := make(map[string]Kind)
	for _, c := range cs {
		m[c.Path] = c.Kind
	}
	return m
}

func runPython(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("python3", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("python3 %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
