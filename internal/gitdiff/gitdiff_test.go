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
				g.write("a.py", "1")
				g.write("b.py", "1")
				g.commit("base")
				g.git("checkout", "-q", "-b", "feature")
				g.write("a.py", "2")
				g.commit("change a")
				return "main", "feature"
			},
			want: map[string]Kind{"a.py": Modified},
		},
		{
			name: "added deleted modified and mode change",
			build: func(g *gitRepo) (string, string) {
				g.write("keep.py", "k")
				g.write("mod.py", "1")
				g.write("del.py", "d")
				g.write("exec.sh", "#!/bin/sh")
				g.commit("base")
				g.git("checkout", "-q", "-b", "feature")
				g.write("mod.py", "2")
				g.remove("del.py")
				g.write("new.py", "n")
				if err := os.Chmod(filepath.Join(g.dir, "exec.sh"), 0o755); err != nil {
					g.t.Fatal(err)
				}
				g.commit("change")
				return "main", "feature"
			},
			want: map[string]Kind{"mod.py": Modified, "del.py": Deleted, "new.py": Added, "exec.sh": Modified},
		},
		{
			name: "three-dot: commits on base after the branch point do not appear",
			build: func(g *gitRepo) (string, string) {
				g.write("shared.py", "1")
				g.write("onbase.py", "1")
				g.commit("base")
				g.git("checkout", "-q", "-b", "feature")
				g.write("feature.py", "f")
				g.commit("feature work")
				g.git("checkout", "-q", "main")
				g.write("onbase.py", "2")
				g.write("later/base-only.py", "x")
				g.commit("main moves on")
				return "main", "feature"
			},
			want: map[string]Kind{"feature.py": Added},
		},
		{
			name: "nested directory added and deleted",
			build: func(g *gitRepo) (string, string) {
				g.write("old/deep/er/x.py", "x")
				g.write("old/deep/y.py", "y")
				g.write("top.py", "t")
				g.commit("base")
				g.git("checkout", "-q", "-b", "feature")
				g.remove("old")
				g.write("new/a/b/c.py", "c")
				g.write("new/a/d.py", "d")
				g.commit("move")
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
				g.write("foo", "file")
				g.write("bar/inner.py", "i")
				g.write("foo.txt", "sorts between foo and foo/")
				g.commit("base")
				g.git("checkout", "-q", "-b", "feature")
				g.remove("foo")
				g.write("foo/child.py", "c")
				g.remove("bar")
				g.write("bar", "now a file")
				g.commit("swap")
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
				g.write("a.py", "1")
				g.commit("base")
				g.git("tag", "-a", "-m", "release base", "v1")
				g.write("a.py", "2")
				g.write("b/c.py", "3")
				g.commit("next")
				g.git("tag", "light")
				return "v1", "light"
			},
			want: map[string]Kind{"a.py": Modified, "b/c.py": Added},
		},
		{
			name: "no change",
			build: func(g *gitRepo) (string, string) {
				g.write("a.py", "1")
				g.commit("base")
				g.git("checkout", "-q", "-b", "feature")
				g.commit("empty")
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
					g.git("gc", "-q", "--aggressive")
				}
				res := changed(t, g.dir, base, head)
				if got := kinds(res.Changes); !maps.Equal(got, tc.want) {
					t.Errorf("changes = %v, want %v", got, tc.want)
				}
				if got, want := paths(res.Changes), g.gitDiff(base, head); !reflect.DeepEqual(got, want) {
					t.Errorf("paths = %q, git says %q", got, want)
				}
				if got, want := res.MergeBase.String(), g.git("merge-base", base, head); got != want {
					t.Errorf("merge base = %s, git says %s", got, want)
				}
				if got, want := res.Head.String(), g.git("rev-parse", head+"^{commit}"); got != want {
					t.Errorf("head = %s, want %s", got, want)
				}
				if got, want := res.HeadTree.String(), g.git("rev-parse", head+"^{tree}"); got != want {
					t.Errorf("head tree = %s, want %s", got, want)
				}
				for _, c := range res.Changes {
					if c.Kind == Deleted {
						continue
					}
					if got, want := c.Hash.String(), g.git("rev-parse", head+":"+c.Path); got != want {
						t.Errorf("%s: blob %s, want %s", c.Path, got, want)
					}
				}
			})
		}
	}
}

func TestResolveCommit(t *testing.T) {
	g := newGitRepo(t)
	g.write("a", "1")
	first := g.commit("one")
	g.git("tag", "-a", "-m", "annotated", "ann")
	g.git("tag", "-a", "-m", "tag of a tag", "ann2", "ann")
	g.write("a", "2")
	second := g.commit("two")
	g.git("branch", "side", first)
	g.git("tag", "light", second)
	g.git("update-ref", "refs/remotes/origin/main", first)
	for _, packRefs := range []bool{false, true} {
		if packRefs {
			g.git("pack-refs", "--all")
			g.git("repack", "-adq")
		}
		r, err := Open(g.dir)
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
	g.write("a", "1")
	g.commit("one")
	tree := g.git("rev-parse", "HEAD^{tree}")
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
		_, err := ChangedPaths(context.Background(), g.dir, tc.rev, "HEAD")
		if !errors.Is(err, tc.want) {
			t.Errorf("rev %q as base: err = %v, want %v", tc.rev, err, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), `"`+tc.rev+`"`) {
			t.Errorf("rev %q: error %q does not name the revision", tc.rev, err)
		}
		if _, err := ChangedPaths(context.Background(), g.dir, "HEAD", tc.rev); !errors.Is(err, tc.want) {
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
	g.write("sub/dir/a", "1")
	g.commit("one")
	g.git("checkout", "-q", "-b", "feature")
	g.write("sub/dir/a", "2")
	g.commit("two")
	g.git("checkout", "-q", "main")
	wt := filepath.Join(t.TempDir(), "wt")
	g.git("worktree", "add", "-q", wt, "feature")
	for _, dir := range []string{filepath.Join(g.dir, "sub", "dir"), wt, filepath.Join(g.dir, ".git")} {
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
	if want := g.git("rev-parse", "feature"); h.String() != want {
		t.Errorf("worktree HEAD = %s, want %s", h, want)
	}
}

func TestNoMergeBase(t *testing.T) {
	g := newGitRepo(t)
	g.write("a", "1")
	g.commit("one")
	g.git("checkout", "-q", "--orphan", "other")
	g.write("b", "2")
	g.commit("unrelated")
	_, err := ChangedPaths(context.Background(), g.dir, "main", "other")
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
	src.write("a", "1")
	src.commit("fork point")
	src.git("branch", "feature")
	for i := 0; i < 3; i++ {
		src.write("a", strings.Repeat("x", i+2))
		src.commit("main moves")
	}
	src.git("checkout", "-q", "feature")
	src.write("b", "feature")
	src.commit("feature work")
	dst := filepath.Join(t.TempDir(), "clone")
	src.gitIn(filepath.Dir(dst), "clone", "-q", "--no-single-branch", "--depth", "1", "file://"+src.dir, dst)
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
	g.write("a/b.py", "x")
	g.commit("one")
	g.write("a/b.py", "y")
	g.commit("two")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ChangedPaths(ctx, g.dir, "HEAD~1", "HEAD"); !errors.Is(err, context.Canceled) {
		t.Errorf("diff: err = %v, want context.Canceled", err)
	}
	r, err := Open(g.dir)
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
