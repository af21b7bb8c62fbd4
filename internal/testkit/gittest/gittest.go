// Package gittest builds real git repositories for tests with the git CLI.
// Commit dates advance one second per commit, so histories (and the order
// a merge-base walk visits them in) are deterministic.
package gittest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Repo is a repository in a temporary directory.
type Repo struct {
	T    testing.TB
	Dir  string
	tick int
}

// New makes an empty repository whose branch is main. It fails the test
// when the git CLI is missing.
func New(t testing.TB) *Repo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("these tests need the git CLI: %v", err)
	}
	g := &Repo{T: t, Dir: t.TempDir()}
	g.Git("init", "-q", "-b", "main")
	return g
}

func (g *Repo) env() []string {
	date := fmt.Sprintf("%d +0000", 1700000000+g.tick)
	return append(os.Environ(),
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
		"GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date,
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
	)
}

// Tick advances the commit clock by one second.
func (g *Repo) Tick() { g.tick++ }

// Git runs git in the repository and returns its trimmed stdout.
func (g *Repo) Git(args ...string) string {
	g.T.Helper()
	return g.GitIn(g.Dir, args...)
}

// GitIn runs git in dir.
func (g *Repo) GitIn(dir string, args ...string) string {
	g.T.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = g.env()
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			msg = string(ee.Stderr)
		}
		g.T.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	return strings.TrimSpace(string(out))
}

// Path is the absolute path of a slash-separated repository path.
func (g *Repo) Path(p string) string { return filepath.Join(g.Dir, filepath.FromSlash(p)) }

// Write writes a file, making its directories.
func (g *Repo) Write(path, content string) {
	g.T.Helper()
	p := g.Path(path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		g.T.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		g.T.Fatal(err)
	}
}

// Remove deletes a file or a directory tree.
func (g *Repo) Remove(path string) {
	g.T.Helper()
	if err := os.RemoveAll(g.Path(path)); err != nil {
		g.T.Fatal(err)
	}
}

// Commit stages everything and commits; it returns the new SHA.
func (g *Repo) Commit(msg string) string {
	g.T.Helper()
	g.tick++
	g.Git("add", "-A")
	g.Git("commit", "-q", "--allow-empty", "-m", msg)
	return g.Git("rev-parse", "HEAD")
}

// Diff is what `git diff --no-renames --name-only base...head` prints.
func (g *Repo) Diff(base, head string) []string {
	g.T.Helper()
	out := g.Git("diff", "--no-renames", "--name-only", base+"..."+head)
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}
