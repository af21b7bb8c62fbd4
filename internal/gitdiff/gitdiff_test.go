package gitdiff

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func changed(t *testing.T, dir, base, head string) *Result {
	t.Helper()
	res, err := ChangedPaths(context.Background(), dir, base, head)
	if err != nil {
		t.Fatalf("ChangedPaths(%s, %s): %v", base, head, err)
	}
	return res
}

func TestChangedPathsScenarios(t *testing.T) {
	type scenario struct {
		name  string
		build func(g *gitRepo) (base, head string)
		want  map[string]Kind
	}
	tests := []scenario{
		{
			name: "simple change",
			build: func(g *gitRepo) (string, string) {
				g.Write("a.py", "1")
				g.Write("b.py", "1")
				g.Commit("base")
				g.Git("checkout", "-q", "-b", "feature")
				g.Write("a.py", "2")
				g.Commit("change a")
				return "main", "feature"
			},
			want: map[string]Kind{"a.py": Modified},
		},
		{
			name: "added deleted modified and mode change",
			build: func(g *gitRepo) (string, string) {
				g.Write("keep.py", "k")
				g.Write("mod.py", "1")
				g.Write("del.py", "d")
				g.Write("exec.sh", "#!/bin/sh")
				g.Commit("base")
				g.Git("checkout", "-q", "-b", "feature")
				g.Write("mod.py", "2")
				g.Remove("del.py")
				g.Write("new.py", "n")
				if err := os.Chmod(filepath.Join(g.Dir, "exec.sh"), 0o755); err != nil {
					g.T.Fatal(err)
				}
				g.Commit("change")
				return "main", "feature"
			},
			want: map[string]Kind{"mod.py": Modified, "del.py": Deleted, "new.py": Added, "exec.sh": Modified},
		},
		{
			name: "three-dot: commits on base after the branch point do not appear",
			build: func(g *gitRepo) (string, string) {
				g.Write("shared.py", "1")
				g.Write("onbase.py", "1")
				g.Commit("base")
				g.Git("checkout", "-q", "-b", "feature")
				g.Write("feature.py", "f")
				g.Commit("feature work")
				g.Git("checkout", "-q", "main")
				g.Write("onbase.py", "2")
				g.Write("later/base-only.py", "x")
				g.Commit("main moves on")
				return "main", "feature"
			},
			want: map[string]Kind{"feature.py": Added},
		},
		{
			name: "nested directory added and deleted",
			build: func(g *gitRepo) (string, string) {
				g.Write("old/deep/er/x.py", "x")
				g.Write("old/deep/y.py", "y")
				g.Write("top.py", "t")
				g.Commit("base")
				g.Git("checkout", "-q", "-b", "feature")
				g.Remove("old")
				g.Write("new/a/b/c.py", "c")
				g.Write("new/a/d.py", "d")
				g.Commit("move")
				return "main", "feature"
			},
			want: map[string]Kind{
				"old/deep/er/x.py": Deleted, "old/deep/y.py": Deleted,
				"new/a/b/c.py": Added, "new/a/d.py": Added,
			},
		},
		{
			name: "file becomes a directory and a directory becomes a file",
			build: func(g *gitRepo) (string, string) {
				g.Write("foo", "file")
				g.Write("bar/inner.py", "i")
				g.Write("foo.txt", "sorts between foo and foo/")
				g.Commit("base")
				g.Git("checkout", "-q", "-b", "feature")
				g.Remove("foo")
				g.Write("foo/child.py", "c")
				g.Remove("bar")
				g.Write("bar", "now a file")
				g.Commit("swap")
				return "main", "feature"
			},
			want: map[string]Kind{
				"foo": Deleted, "foo/child.py": Added,
				"bar/inner.py": Deleted, "bar": Added,
			},
		},
		{
			name: "annotated and lightweight tags",
			build: func(g *gitRepo) (string, string) {
				g.Write("a.py", "1")
				g.Commit("base")
				g.Git("tag", "-a", "-m", "release base", "v1")
				g.Write("a.py", "2")
				g.Write("b/c.py", "3")
				g.Commit("next")
				g.Git("tag", "light")
				return "v1", "light"
			},
			want: map[string]Kind{"a.py": Modified, "b/c.py": Added},
		},
		{
			name: "no change",
			build: func(g *gitRepo) (string, string) {
				g.Write("a.py", "1")
				g.Commit("base")
				g.Git("checkout", "-q", "-b", "feature")
				g.Commit("empty")
				return "main", "feature"
			},
			want: map[string]Kind{},
		},
	}
	for _, tc := range tests {
		for _, packed := range []bool{false, true} {
			name := tc.name + "/loose"
			if packed {
				name = tc.name + "/packed"
			}
			t.Run(name, func(t *testing.T) {
				g := newGitRepo(t)
				base, head := tc.build(g)
				if packed {
					g.Git("repack", "-adq")
				}
				res := changed(t, g.Dir, base, head)
				if got := kinds(res.Changes); !maps.Equal(got, tc.want) {
					t.Errorf("changes = %v, want %v", got, tc.want)
				}
				if got, want := paths(res.Changes), g.Diff(base, head); !reflect.DeepEqual(got, want) {
					t.Errorf("paths = %q, git says %q", got, want)
				}
				if got, want := res.MergeBase.String(), g.Git("merge-base", base, head); got != want {
					t.Errorf("merge base = %s, git says %s", got, want)
				}
				if got, want := res.Head.String(), g.Git("rev-parse", head+"^{commit}"); got != want {
					t.Errorf("head = %s, want %s", got, want)
				}
				if got, want := res.HeadTree.String(), g.Git("rev-parse", head+"^{tree}"); got != want {
					t.Errorf("head tree = %s, want %s", got, want)
				}
				for _, c := range res.Changes {
					if c.Kind == Deleted {
						continue
					}
					if got, want := c.Hash.String(), g.Git("rev-parse", head+":"+c.Path); got != want {
						t.Errorf("%s: blob %s, want %s", c.Path, got, want)
					}
				}
			})
		}
	}
}

func TestResolveCommit(t *testing.T) {
	g := newGitRepo(t)
	g.Write("a", "1")
	first := g.Commit("one")
	g.Git("tag", "-a", "-m", "annotated", "ann")
	g.Git("tag", "-a", "-m", "tag of a tag", "ann2", "ann")
	g.Write("a", "2")
	second := g.Commit("two")
	g.Git("branch", "side", first)
	g.Git("tag", "light", second)
	g.Git("update-ref", "refs/remotes/origin/main", first)
	for _, packRefs := range []bool{false, true} {
		if packRefs {
			g.Git("pack-refs", "--all")
			g.Git("repack", "-adq")
		}
		r, err := Open(g.Dir)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct{ rev, want string }{
			{second, second},
			{second[:7], second},
			{strings.ToUpper(second[:10]), second},
			{"HEAD", second},
			{"@", second},
			{"HEAD~1", first},
			{"HEAD^", first},
			{"main~", first},
			{"main^1", first},
			{"main^0", second},
			{"main", second},
			{"refs/heads/main", second},
			{"heads/main", second},
			{"side", first},
			{"light", second},
			{"ann", first},
			{"ann^{}", first},
			{"ann^{commit}", first},
			{"refs/tags/ann", first},
			{"ann2", first},
			{"origin/main", first},
		}
		for _, tc := range tests {
			got, err := r.ResolveCommit(tc.rev)
			if err != nil {
				t.Errorf("packed refs %v: ResolveCommit(%q): %v", packRefs, tc.rev, err)
				continue
			}
			if got.String() != tc.want {
				t.Errorf("packed refs %v: ResolveCommit(%q) = %s, want %s", packRefs, tc.rev, got, tc.want)
			}
		}
		r.Close()
	}
}

func TestBadRevisions(t *testing.T) {
	g := newGitRepo(t)
	g.Write("a", "1")
	g.Commit("one")
	tree := g.Git("rev-parse", "HEAD^{tree}")
	tests := []struct {
		rev  string
		want error
	}{
		{"no-such-branch", ErrUnknownRevision},
		{"", ErrUnknownRevision},
		{"deadbeef", ErrUnknownRevision},
		{strings.Repeat("ab", 20), ErrUnknownRevision},
		{"HEAD~5", ErrUnknownRevision},
		{"HEAD^2", ErrUnknownRevision},
		{"../../etc/passwd", ErrUnknownRevision},
		{"config", ErrUnknownRevision},
		{"main^{tree}", ErrUnknownRevision},
		{tree, ErrNotCommit},
	}
	for _, tc := range tests {
		_, err := ChangedPaths(context.Background(), g.Dir, tc.rev, "HEAD")
		if !errors.Is(err, tc.want) {
			t.Errorf("rev %q as base: err = %v, want %v", tc.rev, err, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), `"`+tc.rev+`"`) {
			t.Errorf("rev %q: error %q does not name the revision", tc.rev, err)
		}
		if _, err := ChangedPaths(context.Background(), g.Dir, "HEAD", tc.rev); !errors.Is(err, tc.want) {
			t.Errorf("rev %q as head: err = %v, want %v", tc.rev, err, tc.want)
		}
	}
}

func TestNotARepository(t *testing.T) {
	dir := t.TempDir()
	_, err := ChangedPaths(context.Background(), dir, "main", "HEAD")
	if !errors.Is(err, ErrNotRepository) {
		t.Fatalf("err = %v, want ErrNotRepository", err)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q does not name the directory", err)
	}
	_, err = ChangedPaths(context.Background(), filepath.Join(dir, "missing"), "main", "HEAD")
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing directory: err = %v", err)
	}
	// A .git that is neither a directory nor a gitfile.
	if err := os.WriteFile(filepath.Join(dir, ".git"), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ChangedPaths(context.Background(), dir, "main", "HEAD"); !errors.Is(err, ErrNotRepository) {
		t.Errorf("junk .git file: err = %v, want ErrNotRepository", err)
	}
}

func TestOpenFromSubdirectoryAndWorktree(t *testing.T) {
	g := newGitRepo(t)
	g.Write("sub/dir/a", "1")
	g.Commit("one")
	g.Git("checkout", "-q", "-b", "feature")
	g.Write("sub/dir/a", "2")
	g.Commit("two")
	g.Git("checkout", "-q", "main")
	wt := filepath.Join(t.TempDir(), "wt")
	g.Git("worktree", "add", "-q", wt, "feature")
	for _, dir := range []string{filepath.Join(g.Dir, "sub", "dir"), wt, filepath.Join(g.Dir, ".git")} {
		res := changed(t, dir, "main", "feature")
		if got := paths(res.Changes); !reflect.DeepEqual(got, []string{"sub/dir/a"}) {
			t.Errorf("from %s: %q", dir, got)
		}
	}
	// HEAD of the worktree is its own.
	r, err := Open(wt)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h, err := r.ResolveCommit("HEAD")
	if err != nil {
		t.Fatal(err)
	}
	if want := g.Git("rev-parse", "feature"); h.String() != want {
		t.Errorf("worktree HEAD = %s, want %s", h, want)
	}
}

func TestNoMergeBase(t *testing.T) {
	g := newGitRepo(t)
	g.Write("a", "1")
	g.Commit("one")
	g.Git("checkout", "-q", "--orphan", "other")
	g.Write("b", "2")
	g.Commit("unrelated")
	_, err := ChangedPaths(context.Background(), g.Dir, "main", "other")
	if !errors.Is(err, ErrNoMergeBase) {
		t.Fatalf("err = %v, want ErrNoMergeBase", err)
	}
	for _, s := range []string{`"main"`, `"other"`, "share no commit"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %s", err, s)
		}
	}
}

func TestShallowCloneWithoutMergeBase(t *testing.T) {
	src := newGitRepo(t)
	src.Write("a", "1")
	src.Commit("fork point")
	src.Git("branch", "feature")
	for i := 0; i < 3; i++ {
		src.Write("a", strings.Repeat("x", i+2))
		src.Commit("main moves")
	}
	src.Git("checkout", "-q", "feature")
	src.Write("b", "feature")
	src.Commit("feature work")
	dst := filepath.Join(t.TempDir(), "clone")
	src.GitIn(filepath.Dir(dst), "clone", "-q", "--no-single-branch", "--depth", "1", "file://"+src.Dir, dst)
	_, err := ChangedPaths(context.Background(), dst, "origin/main", "origin/feature")
	if !errors.Is(err, ErrNoMergeBase) {
		t.Fatalf("err = %v, want ErrNoMergeBase", err)
	}
	if !strings.Contains(err.Error(), "shallow") {
		t.Errorf("error %q does not mention the shallow clone", err)
	}
}

func TestContextCancelled(t *testing.T) {
	g := newGitRepo(t)
	g.Write("a/b.py", "x")
	g.Commit("one")
	g.Write("a/b.py", "y")
	g.Commit("two")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ChangedPaths(ctx, g.Dir, "HEAD~1", "HEAD"); !errors.Is(err, context.Canceled) {
		t.Errorf("diff: err = %v, want context.Canceled", err)
	}
	r, err := Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h, _ := r.ResolveCommit("HEAD")
	tree, _ := r.Tree(h)
	if err := r.Walk(ctx, tree, nil, func(File) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("walk: err = %v, want context.Canceled", err)
	}
}
