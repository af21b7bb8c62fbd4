package fastreg

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildReadsEveryObjectStorage checks the object reader against git's
// own storage layouts: loose objects, a packfile with offset deltas, one
// with ref deltas, and objects larger than the streaming threshold (loose,
// packed whole, packed as a delta). Each gives the same bundle, whose
// contents are what was committed.
func TestBuildReadsEveryObjectStorage(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu")
	text := func(n int) string {
		var b strings.Builder
		for b.Len() < n {
			b.WriteString(words[rnd.IntN(len(words))])
			b.WriteByte(" \n"[rnd.IntN(2)])
		}
		return b.String()[:n]
	}
	base := text(20_000)
	big := text(300_000)
	files := map[string]string{"big.txt": big}
	for i := range 40 {
		// Near-copies of one text: git stores most of them as deltas.
		files[fmt.Sprintf("v/%02d.txt", i)] = base[:400*i] + fmt.Sprintf("edit %d\n", i) + base[400*i:]
	}
	r := newRepo(t, files)
	r.write(map[string]string{"big.txt": big[:5000] + "changed\n" + big[5000:]})
	r.commit("edit big file")

	// Lower the streaming threshold so big.txt takes the streaming paths.
	stream := withStreamAbove(64 << 10)
	loose := build(t, r.dir, stream)
	if n := countLoose(t, r.dir); n == 0 {
		t.Fatal("expected loose objects")
	}
	want := files
	want["big.txt"] = big[:5000] + "changed\n" + big[5000:]
	if got := len(readBundle(t, loose)); got != len(want) {
		t.Fatalf("%d members, want %d", got, len(want))
	}

	layouts := []struct {
		name string
		pack []string
	}{
		{"ofs deltas", []string{"repack", "-a", "-d", "-f", "-q", "--window=20", "--depth=20"}},
		// pack-objects without --delta-base-offset writes REF_DELTA objects.
		{"ref deltas", nil},
	}
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			if l.pack != nil {
				r.git(l.pack...)
			} else {
				refDeltaPack(t, r)
			}
			if n := countLoose(t, r.dir); n != 0 {
				t.Fatalf("%d loose objects left", n)
			}
			if deltas := r.git("-c", "core.bigFileThreshold=1g", "verify-pack", "-v", packIdx(t, r.dir)); !strings.Contains(deltas, "chain length") {
				t.Fatalf("pack holds no deltas:\n%s", deltas)
			}
			b := build(t, r.dir, stream)
			if b.Digest != loose.Digest || b.CompressedDigest != loose.CompressedDigest {
				t.Errorf("digest %s, loose objects gave %s", b.Digest, loose.Digest)
			}
			for _, m := range readBundle(t, b) {
				if m.data != want[m.hdr.Name] {
					t.Errorf("%s: content differs from what was committed (%d vs %d bytes)", m.hdr.Name, len(m.data), len(want[m.hdr.Name]))
				}
			}
		})
	}
}

func countLoose(t *testing.T, dir string) int {
	t.Helper()
	ms, err := filepath.Glob(filepath.Join(dir, ".git", "objects", "??", "*"))
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

func packIdx(t *testing.T, dir string) string {
	t.Helper()
	ms, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.idx"))
	if len(ms) != 1 {
		t.Fatalf("want one pack, found %v", ms)
	}
	return ms[0]
}

// refDeltaPack replaces the repository's objects with one pack whose
// deltas name their base by hash (pack-objects without --delta-base-offset).
func refDeltaPack(t *testing.T, r *testRepo) {
	t.Helper()
	packDir := filepath.Join(r.dir, ".git", "objects", "pack")
	old, _ := filepath.Glob(filepath.Join(packDir, "pack-*"))
	objs := r.git("rev-list", "--objects", "--all")
	r.gitIn(objs+"\n", "pack-objects", "-q", "--window=20", "--depth=20", filepath.Join(packDir, "pack"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	r.git("prune-packed")
}
