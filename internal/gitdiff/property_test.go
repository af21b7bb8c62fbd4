package gitdiff

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// randomEdit makes one random change to the work tree: write a file
// (replacing any file that is in the way of its directories, or a directory
// at its path) or delete one.
func randomEdit(g *gitRepo, rng *rand.Rand) {
	dirs := []string{"", "a", "b", "a/c", "a/c/d", "x.py", "e/f"}
	names := []string{"x.py", "y", "z.txt", "c", "d"}
	p := strings.TrimPrefix(dirs[rng.IntN(len(dirs))]+"/"+names[rng.IntN(len(names))], "/")
	if rng.IntN(4) == 0 {
		// The path may run through a file; then there is nothing to delete.
		_ = os.RemoveAll(filepath.Join(g.Dir, filepath.FromSlash(p)))
		return
	}
	// Clear files that block the directories of p.
	segs := strings.Split(p, "/")
	for i := 1; i < len(segs); i++ {
		q := filepath.Join(g.Dir, filepath.FromSlash(strings.Join(segs[:i], "/")))
		if fi, err := os.Stat(q); err == nil && !fi.IsDir() {
			g.Remove(strings.Join(segs[:i], "/"))
		}
	}
	if fi, err := os.Stat(filepath.Join(g.Dir, filepath.FromSlash(p))); err == nil && fi.IsDir() {
		g.Remove(p)
	}
	g.Write(p, fmt.Sprintf("content %d\n", rng.IntN(5)))
	if rng.IntN(8) == 0 {
		_ = os.Chmod(filepath.Join(g.Dir, filepath.FromSlash(p)), 0o755)
	}
}

// TestMatchesGitOnRandomHistories compares ChangedPaths and MergeBase with
// git on random histories: branches, file/directory swaps, mode changes,
// merges, loose and packed objects.
func TestMatchesGitOnRandomHistories(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 42))
			g := newGitRepo(t)
			for i := 0; i < 6; i++ {
				randomEdit(g, rng)
			}
			g.Commit("root")
			branches := []string{"main"}
			for c := 0; c < 14; c++ {
				br := branches[rng.IntN(len(branches))]
				g.Git("checkout", "-q", br)
				switch {
				case len(branches) < 4 && rng.IntN(3) == 0:
					nb := fmt.Sprintf("b%d", c)
					g.Git("checkout", "-q", "-b", nb)
					branches = append(branches, nb)
				case len(branches) > 1 && rng.IntN(5) == 0:
					other := branches[rng.IntN(len(branches))]
					if other != br {
						g.Tick()
						g.Git("merge", "-q", "--no-edit", "-s", "ours", other)
					}
					continue
				}
				for i := 0; i < 1+rng.IntN(4); i++ {
					randomEdit(g, rng)
				}
				g.Commit(fmt.Sprintf("c%d", c))
			}
			if seed%2 == 0 {
				g.Git("gc", "-q")
			}
			compared, nonEmpty := 0, 0
			for _, base := range branches {
				for _, head := range branches {
					all := g.Git("merge-base", "--all", base, head)
					if strings.Contains(all, "\n") {
						continue // criss-cross: git's pick is not specified
					}
					res := changed(t, g.Dir, base, head)
					if res.MergeBase.String() != all {
						t.Errorf("merge base of %s and %s = %s, git says %s", base, head, res.MergeBase, all)
					}
					if got, want := paths(res.Changes), g.Diff(base, head); !reflect.DeepEqual(got, want) {
						t.Errorf("%s...%s: got %q, git says %q", base, head, got, want)
					}
					r, err := Open(g.Dir)
					if err != nil {
						t.Fatal(err)
					}
					for _, w := range []int{1, 3} {
						cs, err := r.diffTrees(context.Background(), res.BaseTree, res.HeadTree, w)
						if err != nil {
							t.Fatal(err)
						}
						if !reflect.DeepEqual(cs, res.Changes) {
							t.Errorf("%s...%s with %d workers: %q, want %q", base, head, w, paths(cs), paths(res.Changes))
						}
					}
					r.Close()
					compared++
					if len(res.Changes) > 0 {
						nonEmpty++
					}
				}
			}
			if nonEmpty == 0 {
				t.Fatalf("history compared %d pairs, none with changes: the generator is broken", compared)
			}
		})
	}
}

// BenchmarkChangedPaths runs on a repository made by the shared generator
// (10,000 files in 500 directories, so the benchmark stays short); bench/plan.sh
// measures the full-size one as a whole process.
func BenchmarkChangedPaths(b *testing.B) {
	// shared/ sits beside the repository (../shared from its root).
	gen := os.Getenv("GENREPO")
	if gen == "" {
		gen = filepath.Join("..", "..", "..", "shared", "bench", "genrepo.py")
	}
	if _, err := os.Stat(gen); err != nil {
		b.Fatalf("generator %s: %v", gen, err)
	}
	dir := filepath.Join(b.TempDir(), "repo")
	runPython(b, gen, dir, "10000", "500", "50")
	for _, head := range []string{"head", "head-wide"} {
		b.Run(head, func(b *testing.B) {
			for b.Loop() {
				if _, err := ChangedPaths(context.Background(), dir, "base", head); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
