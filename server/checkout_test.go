package server

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runway-ci/runway/internal/testkit/githost"
	"github.com/runway-ci/runway/internal/testkit/gittest"
)

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestCheckoutFromGitHTTPBackend(t *testing.T) {
	ctx := context.Background()
	host := githost.New(t, func(tok string) bool { return tok == "ghs_good" })
	src := gittest.New(t)
	src.Write("runway.yaml", "project: demo\n")
	src.Write("a.txt", "one\n")
	base := src.Commit("base")
	src.Git("checkout", "-q", "-b", "feature")
	src.Write("a.txt", "two\n")
	src.Commit("feature 1")
	src.Write("b.txt", "new\n")
	head := src.Commit("feature 2")
	// The PR head lives only under refs/pull/7/head, as a fork's does.
	host.Push("octo/pipelines", src.Dir, "main:refs/heads/main", "feature:refs/pull/7/head")

	token := "ghs_good"
	co := NewCheckouts(t.TempDir(), host.URL, func(context.Context, int64) (string, error) { return token, nil }, nil)
	dir, release, err := co.Checkout(ctx, "octo/pipelines", 1, head, base)
	if err != nil {
		t.Fatal(err)
	}
	if got := gitOut(t, dir, "rev-parse", "HEAD"); got != head {
		t.Fatalf("HEAD %s, want %s", got, head)
	}
	if mb := gitOut(t, dir, "merge-base", base, head); mb != base {
		t.Fatalf("merge base %s, want %s (the git CLI reading go-git's checkout)", mb, base)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "b.txt")); string(b) != "new\n" {
		t.Fatalf("b.txt = %q", b)
	}
	os.WriteFile(filepath.Join(dir, "leftover.txt"), []byte("x"), 0o644)
	release()
	fetches := host.Fetches()

	// Again at the base: the same slot, no fetch (everything is there), and
	// nothing of the last use left.
	dir2, release2, err := co.Checkout(ctx, "octo/pipelines", 1, base)
	if err != nil {
		t.Fatal(err)
	}
	if dir2 != dir || host.Fetches() != fetches {
		t.Fatalf("second checkout: dir %s (was %s), %d fetches (was %d)", dir2, dir, host.Fetches(), fetches)
	}
	if _, err := os.Stat(filepath.Join(dir2, "leftover.txt")); !os.IsNotExist(err) {
		t.Fatal("an untracked file of the last use survived")
	}
	if _, err := os.Stat(filepath.Join(dir2, "b.txt")); !os.IsNotExist(err) {
		t.Fatal("b.txt exists at the base")
	}
	// While the first slot is in use, another checkout gets its own.
	dir3, release3, err := co.Checkout(ctx, "octo/pipelines", 1, head)
	if err != nil {
		t.Fatal(err)
	}
	if dir3 == dir2 {
		t.Fatal("two checkouts in use share a directory")
	}
	release2()
	release3()

	// A new push: an incremental fetch brings it.
	src.Write("c.txt", "more\n")
	head2 := src.Commit("feature 3")
	host.Push("octo/pipelines", src.Dir, "feature:refs/pull/7/head")
	dir4, release4, err := co.Checkout(ctx, "octo/pipelines", 1, head2, base)
	if err != nil {
		t.Fatal(err)
	}
	if got := gitOut(t, dir4, "rev-parse", "HEAD"); got != head2 {
		t.Fatalf("after a push: HEAD %s, want %s", got, head2)
	}
	release4()

	// Refusals, with what went wrong.
	if _, _, err := co.Checkout(ctx, "octo/pipelines", 1, strings.Repeat("ab", 20)); err == nil || !strings.Contains(err.Error(), "on no branch or pull request") {
		t.Fatalf("unknown commit: %v", err)
	}
	for _, bad := range []string{"../etc", "octo", "octo/pipe lines"} {
		if _, _, err := co.Checkout(ctx, bad, 1, head); err == nil {
			t.Fatalf("repository %q accepted", bad)
		}
	}
	if _, _, err := co.Checkout(ctx, "octo/pipelines", 1, "main"); err == nil || !strings.Contains(err.Error(), "full commit SHA") {
		t.Fatalf("a branch name: %v", err)
	}
	token = "ghs_revoked"
	co2 := NewCheckouts(t.TempDir(), host.URL, func(context.Context, int64) (string, error) { return token, nil }, nil)
	co2.wait = time.Millisecond
	refused := host.Refused()
	if _, _, err := co2.Checkout(ctx, "octo/pipelines", 1, head); err == nil || !strings.Contains(err.Error(), "octo/pipelines") {
		t.Fatalf("a bad token: %v", err)
	}
	if n := host.Refused() - refused; n == 0 || n > 2 {
		t.Fatalf("%d refused requests: a refused token is not retried", n)
	}
}
