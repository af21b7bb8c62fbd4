package exectask

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A limit the trampoline cannot set is reported through its error pipe as
// a setrlimit failure naming the limit, and the program never starts. Here
// the hard RLIMIT_CPU is lowered to 5 s by prlimit(1) and, as an
// unprivileged user, the trampoline is asked for 100 s.
func TestRLimitTrampolineReportsSetrlimitFailure(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Fatalf("prlimit (util-linux) is needed: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A copy any user can execute: the test binary's own directory is
	// private to its owner.
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o777)
	bin := filepath.Join(dir, "exectask.test")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "ran")
	cmd := exec.Command("/bin/sh", "-c", "touch "+marker)
	r, err := limitedCommand(cmd, &RLimits{CPUSeconds: 100})
	if err != nil {
		t.Fatal(err)
	}
	cmd.Args[0] = bin
	cmd.Path, cmd.Args = prlimit, append([]string{"prlimit", "--cpu=5:5", "--"}, cmd.Args...)
	cmd.Env = append(os.Environ(), "RUNWAY_TEST_EXEC_TASK=1")
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	out, _ := cmd.CombinedOutput()
	cmd.ExtraFiles[0].Close()
	kind, msg := trampolineError(r)
	if kind != trampSetrlimit || !strings.Contains(msg, "setting RLIMIT_CPU to 100 seconds") || !strings.Contains(msg, "operation not permitted") {
		t.Errorf("trampoline reported %q %q; output %s", kind, msg, out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the program ran although its limit could not be set")
	}
}

// An exec failure (a missing program) is reported as such, not as an
// exit code the program chose.
func TestRLimitTrampolineReportsExecFailure(t *testing.T) {
	cmd := exec.Command("/nonexistent/program")
	cmd.Err = nil
	r, err := limitedCommand(cmd, &RLimits{AddressSpace: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "RUNWAY_TEST_EXEC_TASK=1")
	out, _ := cmd.CombinedOutput()
	cmd.ExtraFiles[0].Close()
	if kind, msg := trampolineError(r); kind != trampExec || !strings.Contains(msg, `starting "/nonexistent/program"`) || !strings.Contains(msg, "no such file") {
		t.Errorf("trampoline reported %q %q; output %s", kind, msg, out)
	}
}

func TestMain(m *testing.M) {
	if os.Getenv("RUNWAY_TEST_EXEC_TASK") == "1" && len(os.Args) > 1 && os.Args[1] == "exec-task" {
		os.Exit(Main(context.Background(), os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
