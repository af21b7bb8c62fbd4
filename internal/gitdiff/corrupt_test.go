package gitdiff

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCorruptPackNeverPanics damages a packed repository's .pack and .idx
// at many places: every call must return a result or an error, never
// panic, and errors must say what was being read.
func TestCorruptPackNeverPanics(t *testing.T) {
	g := newGitRepo(t)
	for i := 0; i < 30; i++ {
		g.Write(fmt.Sprintf("d%d/f%d.py", i%7, i), strings.Repeat("line\n", i+1))
	}
	g.Commit("base")
	g.Git("checkout", "-q", "-b", "feature")
	for i := 0; i < 30; i += 3 {
		g.Write(fmt.Sprintf("d%d/f%d.py", i%7, i), "changed\n")
	}
	g.Commit("feature")
	g.Git("repack", "-adq")
	packs, _ := filepath.Glob(filepath.Join(g.Dir, ".git", "objects", "pack", "pack-*"))
	if len(packs) != 2 {
		t.Fatalf("want one .pack and one .idx, got %q", packs)
	}
	failed := 0
	for _, file := range packs {
		orig, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		step := max(1, len(orig)/60)
		for off := 0; off < len(orig); off += step {
			bad := append([]byte(nil), orig...)
			for k := off; k < min(off+4, len(bad)); k++ {
				bad[k] ^= 0x5a
			}
			// Pack files are read-only; replace, don't write in place.
			if err := os.Remove(file); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, bad, 0o444); err != nil {
				t.Fatal(err)
			}
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("%s damaged at %d: panic: %v", filepath.Base(file), off, p)
					}
				}()
				_, err := ChangedPaths(context.Background(), g.Dir, "main", "feature")
				if err != nil {
					failed++
				}
				if err != nil && err.Error() == "" {
					t.Errorf("%s damaged at %d: empty error", filepath.Base(file), off)
				}
				if err != nil && errors.Is(err, ErrNotRepository) {
					t.Errorf("%s damaged at %d: %v", filepath.Base(file), off, err)
				}
			}()
		}
		os.Remove(file)
		if err := os.WriteFile(file, orig, 0o444); err != nil {
			t.Fatal(err)
		}
	}
	if failed == 0 {
		t.Errorf("no damage was detected: the test does not reach the parsers")
	}
	t.Logf("%d damaged copies refused with an error", failed)
	if _, err := ChangedPaths(context.Background(), g.Dir, "main", "feature"); err != nil {
		t.Fatalf("restored repository: %v", err)
	}
}
