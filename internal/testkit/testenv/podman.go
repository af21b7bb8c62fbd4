package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Podman runs images with Debian's podman and runc the way that works on
// these machines (see ENVIRONMENT.md): runc instead of crun, cgroupfs,
// ulimits under the hard limit, no network. Each Podman has its own image
// storage (vfs driver, nothing mounted) removed at the end of the test, so
// tests never share or leak images.
type Podman struct {
	bin     string
	storage string
}

// NewPodman checks that podman and runc are installed and prepares private
// storage. podman refuses a run root longer than 50 characters, so the
// storage lives in a short directory under /tmp rather than t.TempDir().
func NewPodman(tb testing.TB) *Podman {
	tb.Helper()
	bin := RequireProgram(tb, "podman", "podman")
	RequireProgram(tb, "runc", "runc")
	dir, err := os.MkdirTemp("", "pm")
	if err != nil {
		tb.Fatalf("creating podman storage: %v", err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return &Podman{bin: bin, storage: dir}
}

// Command returns `podman <global flags> args...`.
func (p *Podman) Command(ctx context.Context, args ...string) *exec.Cmd {
	global := []string{
		"--root", filepath.Join(p.storage, "root"),
		"--runroot", filepath.Join(p.storage, "run"),
		"--storage-driver", "vfs",
		"--runtime", "runc",
		"--cgroup-manager", "cgroupfs",
		"--events-backend", "none",
	}
	return exec.CommandContext(ctx, p.bin, append(global, args...)...)
}

// Run runs `podman run --rm --network none --tls-verify=false` with the
// ulimits that work here, then runArgs (options, the image, its arguments),
// and returns stdout. A non-zero exit is an error holding stderr.
func (p *Podman) Run(ctx context.Context, runArgs ...string) (string, error) {
	args := append([]string{
		"run", "--rm", "--network", "none", "--tls-verify=false",
		"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
	}, runArgs...)
	cmd := p.Command(ctx, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("podman %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}
