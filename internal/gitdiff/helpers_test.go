package gitdiff

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitRepo is a real repository the test builds with the git CLI. Commit
// dates advance one second per commit so histories are deterministic.
type gitRepo struct {
	t    testing.TB
	dir  string
	tick int
}

func newGitRepo(t testing.TB) *gitRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("these tests need the git CLI: %v", err)
	}
	g := &gitRepo{t: t, dir: t.TempDir()}
	g.git("init", "-q", "-b", "main")
	return g
}

func (g *gitRepo) env() []string {
	date := fmt.Sprintf("%d +0000", 1700000000+g.tick)
	return append(os.Environ(),
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
		"GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date,
		"GIT_CONFIG_NOSYSTEM=1", "HOME="+g.dir, "GIT_CONFIG_GLOBAL=/dev/null",
	)
}

// git runs git in the repository and returns its trimmed stdout.
func (g *gitRepo) git(args ...string) string {
	g.t.Helper()
	return g.gitIn(g.dir, args...)
}

func (g *gitRepo) gitIn(dir string, args ...string) string {
	g.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = g.env()
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		g.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	return strings.TrimSpace(string(out))
}

func (g *gitRepo) write(path, content string) {
	g.t.Helper()
	p := filepath.Join(g.dir, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		g.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		g.t.Fatal(err)
	}
}

func (g *gitRepo) remove(path string) {
	g.t.Helper()
	if err := os.RemoveAll(filepath.Join(g.dir, filepath.FromSlash(path))); err != nil {
		g.t.Fatal(err)
	}
}

// commit stages everything and commits; it returns the new SHA.
func (g *gitRepo) commit(msg string) string {
	g.t.Helper()
	g.tick++
	g.git("add", "-A")
	g.git("commit", "-q", "--allow-empty", "-m", msg)
	return g.git("rev-parse", "HEAD")
}

// gitDiff is what `git diff --no-renames --name-only base...head` prints.
func (g *gitRepo) gitDiff(base, head string) []string {
	g.t.Helper()
	out := g.git("diff", "--no-renames", "--name-only", base+"..."+head)
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

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
