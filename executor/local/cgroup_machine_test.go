package local

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/executor/exectask"
)

// hostCgroupVersion says which hierarchy holds the memory controller on
// this machine, from the file system types alone (independently of
// detectCgroups): 2 when /sys/fs/cgroup is a cgroup2 mount (unified, as on
// ubuntu-24.04), 1 when /sys/fs/cgroup/memory is a v1 mount (legacy or
// hybrid, as on this project's machines), 0 when neither.
func hostCgroupVersion() int {
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return 2
	}
	if unix.Statfs("/sys/fs/cgroup/memory", &st) == nil && st.Type == unix.CGROUP_SUPER_MAGIC {
		return 1
	}
	return 0
}

// TestCgroupsOnThisMachine finds this machine's hierarchy, v1 or v2, and
// tests it for real: detection picks it, and a process over the memory
// limit of an attempt cgroup is killed and counted as an OOM kill.
func TestCgroupsOnThisMachine(t *testing.T) {
	want := hostCgroupVersion()
	if want == 0 {
		t.Skip("no cgroup hierarchy with a memory controller is mounted")
	}
	if os.Geteuid() != 0 {
		t.Skip("creating cgroups needs root here")
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	sc, _ := os.ReadFile("/proc/self/cgroup")
	cg, err := detectCgroups(string(mi), string(sc))
	if err != nil {
		t.Fatalf("this machine has cgroup v%d with a memory controller, but detection found none usable: %v", want, err)
	}
	if cg.version != want {
		t.Fatalf("this machine keeps memory in cgroup v%d, detection chose %s", want, cg)
	}
	t.Logf("detected %s", cg)

	g, err := cg.create(fmt.Sprintf("machine-test-%d", os.Getpid()), executor.Limits{MemoryBytes: 48 << 20, MilliCPU: 250})
	if err != nil {
		t.Fatal(err)
	}
	defer g.remove()
	for _, dir := range g.dirs {
		for file, val := range map[string]string{"memory.max": "50331648", "cpu.max": "25000 100000", "memory.limit_in_bytes": "50331648", "cpu.cfs_quota_us": "25000"} {
			b, err := os.ReadFile(filepath.Join(dir, file))
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if got := strings.TrimSpace(string(b)); err != nil || got != val {
				t.Errorf("%s/%s = %q (%v), want %q", dir, file, got, err, val)
			}
		}
	}
	// The process joins the cgroup itself, as exec-task does, then
	// allocates and touches 256 MiB.
	join := ""
	for _, p := range g.procs {
		join += "echo $$ > " + p + "; "
	}
	cmd := exec.Command("sh", "-c", join+`exec python3 -c 'b = bytearray(256 << 20); print(len(b))'`)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("a process over its 48 MiB memory limit was not killed: %v, output %q", err, out)
	}
	if n := exectask.ReadOOMCounter(g.oomCounter); n < 1 {
		t.Errorf("%s counts %d OOM kills, want at least 1", g.oomCounter, n)
	}
}
