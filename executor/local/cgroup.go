package local

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/runway-ci/runway/executor"
)

// cgroups creates one cgroup per attempt below the cgroup runway itself
// runs in, so limits nest inside whatever contains runway.
type cgroups struct {
	version int
	// v1: parents of the per-attempt memory and cpu cgroups.
	memParent, cpuParent string
	// v2: parent of the per-attempt cgroups.
	parent string
}

// cgroup is one attempt's cgroup (two directories under v1).
type cgroup struct {
	version    int
	dirs       []string
	procs      []string // cgroup.procs files to join
	oomCounter string
}

func (c *cgroups) String() string {
	if c.version == 2 {
		return "cgroup v2 (" + c.parent + ")"
	}
	return "cgroup v1 (" + c.memParent + ", " + c.cpuParent + ")"
}

// detectCgroups finds a writable cgroup hierarchy with the memory and cpu
// controllers: v2 when its memory controller is available, else v1.
// mountinfo and selfCgroup are the contents of /proc/self/mountinfo and
// /proc/self/cgroup.
func detectCgroups(mountinfo, selfCgroup string) (*cgroups, error) {
	mounts := map[string]string{} // "2", "memory", "cpu" -> mount point
	for _, line := range strings.Split(mountinfo, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, pf := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(pf) < 3 {
			continue
		}
		switch pf[0] {
		case "cgroup2":
			mounts["2"] = f[4]
		case "cgroup":
			for _, opt := range strings.Split(pf[2], ",") {
				if opt == "memory" || opt == "cpu" {
					mounts[opt] = f[4]
				}
			}
		}
	}
	paths := map[string]string{}
	for _, line := range strings.Split(selfCgroup, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			paths["2"] = parts[2]
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" || c == "cpu" {
				paths[c] = parts[2]
			}
		}
	}
	var errs []error
	if m, p := mounts["2"], paths["2"]; m != "" && p != "" {
		c, err := setupV2(filepath.Join(m, p))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	if mounts["memory"] != "" && mounts["cpu"] != "" {
		c := &cgroups{version: 1,
			memParent: filepath.Join(mounts["memory"], paths["memory"], "runway"),
			cpuParent: filepath.Join(mounts["cpu"], paths["cpu"], "runway")}
		if err := probe(1, c.memParent, "memory.limit_in_bytes"); err != nil {
			errs = append(errs, err)
		} else if err := probe(1, c.cpuParent, "cpu.cfs_quota_us"); err != nil {
			errs = append(errs, err)
		} else {
			return c, nil
		}
	}
	if len(errs) == 0 {
		errs = append(errs, errors.New("no cgroup hierarchy with the memory and cpu controllers is mounted"))
	}
	return nil, errors.Join(errs...)
}

// setupV2 prepares a "runway" cgroup with the memory and cpu controllers
// enabled for its children, the per-attempt cgroups. cgroup v2 lets a
// cgroup hand controllers to its children only while it holds no process
// itself (the root excepted), and runway's own cgroup usually holds runway
// and its shell. So it is placed below the nearest cgroup, runway's own or
// an ancestor, that can delegate both controllers: <own>/runway when runway
// owns an empty delegated subtree (systemd Delegate=yes) or the root,
// else for example <user-1000.slice>/runway beside runway's session scope.
// Moving processes needs write access to the common ancestor's
// cgroup.procs: root, or a delegation that covers it.
func setupV2(own string) (*cgroups, error) {
	b, err := os.ReadFile(filepath.Join(own, "cgroup.controllers"))
	if err != nil {
		return nil, fmt.Errorf("cgroup v2: %w", err)
	}
	if !hasWords(string(b), "memory", "cpu") {
		return nil, fmt.Errorf("cgroup v2 at %s: the memory and cpu controllers are not available", own)
	}
	var errs []error
	for dir := own; ; dir = filepath.Dir(dir) {
		c, err := setupV2At(dir)
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
		if _, serr := os.Stat(filepath.Join(filepath.Dir(dir), "cgroup.controllers")); serr != nil || filepath.Dir(dir) == dir {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// setupV2At makes <dir>/runway, enables memory and cpu for its children and
// proves that an attempt cgroup below it gets the limit files.
func setupV2At(dir string) (*cgroups, error) {
	if err := enableControllers(dir); err != nil {
		return nil, err
	}
	parent := filepath.Join(dir, "runway")
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("cgroup v2: %w", err)
	}
	if err := enableControllers(parent); err != nil {
		return nil, err
	}
	if err := probe(2, parent, "memory.max", "cpu.max"); err != nil {
		return nil, err
	}
	return &cgroups{version: 2, parent: parent}, nil
}

func enableControllers(dir string) error {
	sc := filepath.Join(dir, "cgroup.subtree_control")
	if b, err := os.ReadFile(sc); err == nil && hasWords(string(b), "memory", "cpu") {
		return nil
	}
	if err := os.WriteFile(sc, []byte("+memory +cpu"), 0o644); err != nil {
		return fmt.Errorf("cgroup v2: enabling memory and cpu in %s: %w", dir, err)
	}
	return nil
}

func hasWords(s string, words ...string) bool {
	have := map[string]bool{}
	for _, w := range strings.Fields(s) {
		have[w] = true
	}
	for _, w := range words {
		if !have[w] {
			return false
		}
	}
	return true
}

// probe checks that cgroups can be made under parent and get the given
// files: it makes one and removes it again.
func probe(version int, parent string, files ...string) error {
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("cgroup v%d: %w", version, err)
	}
	d, err := os.MkdirTemp(parent, "probe-")
	if err != nil {
		return fmt.Errorf("cgroup v%d: %w", version, err)
	}
	defer os.Remove(d)
	for _, file := range files {
		if _, err := os.Stat(filepath.Join(d, file)); err != nil {
			return fmt.Errorf("cgroup v%d: %s is not a cgroup directory with %s: %w", version, parent, file, err)
		}
	}
	return nil
}

// create makes the attempt's cgroup and writes its limits.
func (c *cgroups) create(name string, l executor.Limits) (*cgroup, error) {
	g := &cgroup{version: c.version}
	write := func(dir, file, v string) error {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(v), 0o644); err != nil {
			return fmt.Errorf("setting %s of cgroup %s: %w", file, dir, err)
		}
		return nil
	}
	mk := func(dir string) error {
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fmt.Errorf("creating cgroup: %w", err)
		}
		g.dirs = append(g.dirs, dir)
		g.procs = append(g.procs, filepath.Join(dir, "cgroup.procs"))
		return nil
	}
	var err error
	if c.version == 2 {
		dir := filepath.Join(c.parent, name)
		if err = mk(dir); err == nil && l.MemoryBytes > 0 {
			err = write(dir, "memory.max", strconv.FormatInt(l.MemoryBytes, 10))
			if err == nil {
				// Absent without swap accounting, which is fine. An OOM
				// kills the whole attempt, as in a Kubernetes container.
				_ = write(dir, "memory.swap.max", "0")
				_ = write(dir, "memory.oom.group", "1")
			}
		}
		if err == nil && l.MilliCPU > 0 {
			err = write(dir, "cpu.max", fmt.Sprintf("%d 100000", l.MilliCPU*100))
		}
		g.oomCounter = filepath.Join(dir, "memory.events")
	} else {
		if l.MemoryBytes > 0 {
			dir := filepath.Join(c.memParent, name)
			if err = mk(dir); err == nil {
				err = write(dir, "memory.limit_in_bytes", strconv.FormatInt(l.MemoryBytes, 10))
			}
			if err == nil {
				// Without swap limits a task could swap instead of
				// being killed; these files are absent without swap
				// accounting, which is fine.
				_ = write(dir, "memory.swappiness", "0")
				_ = write(dir, "memory.memsw.limit_in_bytes", strconv.FormatInt(l.MemoryBytes, 10))
			}
			g.oomCounter = filepath.Join(dir, "memory.oom_control")
		}
		if err == nil && l.MilliCPU > 0 {
			dir := filepath.Join(c.cpuParent, name)
			if err = mk(dir); err == nil {
				err = write(dir, "cpu.cfs_period_us", "100000")
			}
			if err == nil {
				err = write(dir, "cpu.cfs_quota_us", strconv.FormatInt(l.MilliCPU*100, 10))
			}
		}
	}
	if err != nil {
		g.remove()
		return nil, err
	}
	return g, nil
}

// killAll kills every process still in the cgroup.
func (g *cgroup) killAll() {
	for _, dir := range g.dirs {
		if g.version == 2 {
			if os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0o644) == nil {
				continue
			}
		}
		for range 50 {
			pids := readPIDs(filepath.Join(dir, "cgroup.procs"))
			if len(pids) == 0 {
				break
			}
			for _, p := range pids {
				_ = syscall.Kill(p, syscall.SIGKILL)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// remove kills what is left and removes the cgroup directories.
func (g *cgroup) remove() {
	g.killAll()
	for _, dir := range g.dirs {
		for range 50 {
			err := os.Remove(dir)
			if err == nil || errors.Is(err, os.ErrNotExist) {
				break
			}
			if !errors.Is(err, syscall.EBUSY) {
				// A fake tree in tests holds files; a real cgroup
				// directory is removed with rmdir alone.
				_ = os.RemoveAll(dir)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func readPIDs(path string) []int {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if n, err := strconv.Atoi(strings.TrimSpace(sc.Text())); err == nil {
			out = append(out, n)
		}
	}
	return out
}
