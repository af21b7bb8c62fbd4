package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/executor/exectask"
)

// The v2 limit files, checked on a directory laid out like a v2 cgroup
// (the real hierarchy is tested by TestCgroupsOnThisMachine, on whichever
// version the machine has). Detection itself refuses such a tree: it
// proves that a cgroup made below its parent gets the limit files, which a
// plain directory never does.
func TestCgroupV2OnAFakeTree(t *testing.T) {
	root := t.TempDir()
	own := filepath.Join(root, "user.slice")
	os.MkdirAll(own, 0o755)
	os.WriteFile(filepath.Join(own, "cgroup.controllers"), []byte("cpuset cpu io memory pids\n"), 0o644)
	mountinfo := "30 23 0:26 / " + root + " rw,nosuid - cgroup2 cgroup2 rw\n"
	if cg, err := detectCgroups(mountinfo, "0::/user.slice\n"); err == nil || !strings.Contains(err.Error(), "is not a cgroup directory with memory.max") {
		t.Fatalf("a plain directory was taken for a cgroup v2 hierarchy: %v %+v", err, cg)
	}
	cg := &cgroups{version: 2, parent: filepath.Join(own, "runway")}
	os.MkdirAll(cg.parent, 0o755)
	g, err := cg.create("x-n-1", executor.Limits{MilliCPU: 500, MemoryBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(own, "runway", "x-n-1")
	for file, want := range map[string]string{"memory.max": "67108864", "memory.swap.max": "0", "memory.oom.group": "1", "cpu.max": "50000 100000"} {
		if b, _ := os.ReadFile(filepath.Join(dir, file)); string(b) != want {
			t.Errorf("%s = %q, want %q", file, b, want)
		}
	}
	os.WriteFile(filepath.Join(dir, "memory.events"), []byte("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n"), 0o644)
	if n := exectask.ReadOOMCounter(g.oomCounter); n != 1 || g.procs[0] != filepath.Join(dir, "cgroup.procs") {
		t.Errorf("oom %d, procs %v", n, g.procs)
	}
	g.remove()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cgroup directory left: %v", err)
	}
}

func TestCgroupDetectionFallsBack(t *testing.T) {
	root := t.TempDir()
	own := filepath.Join(root, "unified")
	os.MkdirAll(own, 0o755)
	os.WriteFile(filepath.Join(own, "cgroup.controllers"), []byte("\n"), 0o644)
	_, err := detectCgroups("30 23 0:26 / "+own+" rw - cgroup2 cgroup2 rw\n", "0::/\n")
	if err == nil || !strings.Contains(err.Error(), "not available") {
		t.Errorf("a v2 mount without controllers was accepted: %v", err)
	}
	if _, err := detectCgroups("", ""); err == nil {
		t.Error("no mounts accepted")
	}
}

func TestRLimitFallback(t *testing.T) {
	rl := rlimitsFor(executor.Limits{MilliCPU: 1500, MemoryBytes: 1 << 30}, 10_000_000_000)
	if rl.AddressSpace != 1<<30 || rl.CPUSeconds != 15 {
		t.Errorf("%+v", rl)
	}
}
