package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/executor/exectask"
)

// The v2 path cannot run for real here (the unified mount has no
// controllers), so it is checked against a directory laid out like one:
// detection, the files written for limits, and the OOM counter.
func TestCgroupV2OnAFakeTree(t *testing.T) {
	root := t.TempDir()
	own := filepath.Join(root, "user.slice")
	os.MkdirAll(own, 0o755)
	os.WriteFile(filepath.Join(own, "cgroup.controllers"), []byte("cpuset cpu io memory pids\n"), 0o644)
	mountinfo := "30 23 0:26 / " + root + " rw,nosuid - cgroup2 cgroup2 rw\n"
	cg, err := detectCgroups(mountinfo, "0::/user.slice\n")
	if err != nil || cg.version != 2 {
		t.Fatalf("detect: %v %+v", err, cg)
	}
	for _, dir := range []string{own, filepath.Join(own, "runway")} {
		b, _ := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
		if string(b) != "+memory +cpu" {
			t.Errorf("%s subtree_control = %q", dir, b)
		}
	}
	g, err := cg.create("x-n-1", executor.Limits{MilliCPU: 500, MemoryBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(own, "runway", "x-n-1")
	for file, want := range map[string]string{"memory.max": "67108864", "memory.swap.max": "0", "cpu.max": "50000 100000"} {
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

// On this machine the v1 hierarchy is writable: detection finds it below
// the test's own cgroup.
func TestCgroupV1DetectedOnThisMachine(t *testing.T) {
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	sc, _ := os.ReadFile("/proc/self/cgroup")
	cg, err := detectCgroups(string(mi), string(sc))
	if err != nil {
		t.Fatalf("no usable cgroups on a machine that has a writable v1 hierarchy: %v", err)
	}
	if cg.version != 1 || !strings.HasPrefix(cg.memParent, "/sys/fs/cgroup/memory") {
		t.Errorf("detected %s", cg)
	}
}

func TestRLimitFallback(t *testing.T) {
	rl := rlimitsFor(executor.Limits{MilliCPU: 1500, MemoryBytes: 1 << 30}, 10_000_000_000)
	if rl.AddressSpace != 1<<30 || rl.CPUSeconds != 15 {
		t.Errorf("%+v", rl)
	}
}
