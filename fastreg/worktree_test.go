package fastreg

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func buildWorktree(t *testing.T, dir string, opts ...Option) *Bundle {
	t.Helper()
	return buildWith(t, BuildWorktree, dir, opts...)
}

func TestBuildWorktreeCleanEqualsCommit(t *testing.T) {
	r := newRepo(t, map[string]string{
		"runway.yaml": "project: demo\n", "src/a.py": "a\n", "src/run.sh*": "#!/bin/sh\n",
		"src/l": "-> a.py", ".runwayignore": "*.md\n", "README.md": "readme\n",
		".gitignore": "*.log\n", "forced.log": "tracked although ignored\n",
		"data/big.txt": strings.Repeat("streamed from the worktree\n", 5000),
	})
	r.git("add", "-f", "forced.log")
	r.commit("force-add an ignored file")
	// Ignored files in the worktree do not make it dirty.
	r.write(map[string]string{"debug.log": "x\n", "notes.md": "excluded by .runwayignore\n"})
	wt := buildWorktree(t, r.dir, withStreamAbove(64<<10))
	head := build(t, r.dir)
	if wt.Dirty || wt.Version() != head.Commit {
		t.Errorf("clean worktree: dirty=%v version %s", wt.Dirty, wt.Version())
	}
	if wt.Digest != head.Digest || wt.CompressedDigest != head.CompressedDigest {
		t.Errorf("clean worktree bundle %s differs from the commit's %s", wt.Digest, head.Digest)
	}
	if !slices.Contains(names(readBundle(t, wt)), "forced.log") {
		t.Errorf("a tracked file that .gitignore matches must stay in the bundle")
	}
}

func TestBuildWorktreeDirty(t *testing.T) {
	tests := []struct {
		name   string
		change func(r *testRepo)
		want   []string // members
	}{
		{"modified file", func(r *testRepo) { r.write(map[string]string{"src/a.py": "new\n"}) },
			[]string{".gitignore", "runway.yaml", "src/a.py", "src/b.py", "src/sub/.gitignore", "src/sub/c.py"}},
		{"deleted file", func(r *testRepo) { os.Remove(filepath.Join(r.dir, "src", "b.py")) },
			[]string{".gitignore", "runway.yaml", "src/a.py", "src/sub/.gitignore", "src/sub/c.py"}},
		{"untracked file", func(r *testRepo) { r.write(map[string]string{"new/d.py": "d\n"}) },
			[]string{".gitignore", "new/d.py", "runway.yaml", "src/a.py", "src/b.py", "src/sub/.gitignore", "src/sub/c.py"}},
		{"mode change", func(r *testRepo) { os.Chmod(filepath.Join(r.dir, "src", "a.py"), 0o755) },
			[]string{".gitignore", "runway.yaml", "src/a.py", "src/b.py", "src/sub/.gitignore", "src/sub/c.py"}},
		{"staged but not committed", func(r *testRepo) {
			r.write(map[string]string{"src/a.py": "staged\n"})
			r.git("add", "src/a.py")
		}, []string{".gitignore", "runway.yaml", "src/a.py", "src/b.py", "src/sub/.gitignore", "src/sub/c.py"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRepo(t, map[string]string{
				"runway.yaml": "project: demo\n", "src/a.py": "a\n", "src/b.py": "b\n",
				".gitignore": "build/\n*.pyc\n", "src/sub/.gitignore": "local.cfg\n", "src/sub/c.py": "c\n",
			})
			// Ignored by the root .gitignore, a nested one and info/exclude.
			r.write(map[string]string{"build/out.bin": "x", "src/a.pyc": "x", "src/sub/local.cfg": "x", "secret.env": "x"})
			if err := os.WriteFile(filepath.Join(r.dir, ".git", "info", "exclude"), []byte("*.env\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			tc.change(r)
			b := buildWorktree(t, r.dir)
			if got := names(readBundle(t, b)); !slices.Equal(got, tc.want) {
				t.Errorf("members\n got %q\nwant %q", got, tc.want)
			}
			head := r.git("rev-parse", "HEAD")
			if !b.Dirty || b.Version() != head+"-dirty-"+b.Digest.Hex[:12] {
				t.Errorf("dirty=%v version %s", b.Dirty, b.Version())
			}
		})
	}
}

func TestBuildWorktreeSkipsNestedRepositories(t *testing.T) {
	r := newRepo(t, map[string]string{"main.py": "m\n"})
	nested := &testRepo{t: t, dir: filepath.Join(r.dir, "vendor", "other")}
	if err := os.MkdirAll(nested.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	nested.git("init", "-q")
	nested.write(map[string]string{"x.py": "x\n"})
	b := buildWorktree(t, r.dir)
	if got := names(readBundle(t, b)); !slices.Equal(got, []string{"main.py"}) {
		t.Errorf("members %q", got)
	}
	if len(b.Skipped) != 1 || b.Skipped[0].Path != "vendor/other" || b.Skipped[0].Reason != SkipNestedGit {
		t.Errorf("Skipped = %+v", b.Skipped)
	}
	if b.Dirty {
		t.Errorf("a skipped nested repository made the tree dirty")
	}
}

func TestBuildWorktreeRefuses(t *testing.T) {
	r := newRepo(t, map[string]string{"a.py": "a\n"})
	r.write(map[string]string{"escape": "-> ../../outside"})
	_, err := BuildWorktree(context.Background(), r.dir, WithTempDir(t.TempDir()))
	if !errors.Is(err, ErrSymlinkEscape) || !strings.Contains(err.Error(), "escape") {
		t.Errorf("escaping symlink: err = %v", err)
	}

	empty := &testRepo{t: t, dir: t.TempDir()}
	empty.git("init", "-q")
	empty.write(map[string]string{"a": "a"})
	if _, err := BuildWorktree(context.Background(), empty.dir); !errors.Is(err, ErrNoCommit) {
		t.Errorf("no commit: err = %v, want ErrNoCommit", err)
	}
	if _, err := BuildWorktree(context.Background(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "opening git repository") {
		t.Errorf("not a repository: err = %v", err)
	}
	big := newRepo(t, map[string]string{"a": strings.Repeat("a", 10_000)})
	if _, err := BuildWorktree(context.Background(), big.dir, WithMaxSize(5000)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over budget: err = %v", err)
	}
}

// TestLinkedWorktree: a `git worktree add` checkout keeps its objects and
// info/exclude in the main repository's git directory.
func TestLinkedWorktree(t *testing.T) {
	r := newRepo(t, map[string]string{"a.py": "a\n", "b.py": "b\n"})
	r.git("repack", "-a", "-d", "-q")
	linked := filepath.Join(t.TempDir(), "linked")
	r.git("worktree", "add", "-q", "-b", "side", linked)
	if err := os.WriteFile(filepath.Join(r.dir, ".git", "info", "exclude"), []byte("*.tmp\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lr := &testRepo{t: t, dir: linked}
	lr.write(map[string]string{"c.py": "c\n", "scratch.tmp": "x"})
	repo, err := openRepo(linked)
	if err != nil {
		t.Fatal(err)
	}
	db, err := openObjectDB(repo)
	if err != nil {
		t.Fatal(err)
	}
	if len(db.packs) != 1 {
		t.Errorf("object reader found %d packs through the linked worktree, want the main repository's one", len(db.packs))
	}
	db.Close()
	main := build(t, r.dir)
	if b := build(t, linked); b.Digest != main.Digest {
		t.Errorf("linked worktree commit bundle %s, main %s", b.Digest, main.Digest)
	}
	b := buildWorktree(t, linked)
	if got := names(readBundle(t, b)); !slices.Equal(got, []string{"a.py", "b.py", "c.py"}) || !b.Dirty {
		t.Errorf("members %q dirty %v", got, b.Dirty)
	}
}
