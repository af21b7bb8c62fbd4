package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/store"
)

// runOnlyFlags are the flags of `runway run` that `recover --resume` does
// not take: the execution record already holds what they decided.
var runOnlyFlags = map[string]bool{"input": true, "inputs-file": true, "wait": true, "version": true,
	"overwrite-cache": true, "parallelism": true, "output": true}

// detach makes `run --wait=false` really run: it starts `runway recover ID
// --resume` as a separate process in its own session, which executes the
// queued record to the end after this command has returned. Its output goes
// to a log file beside the store's default directory; the record is where
// progress shows (runway get execution ID).
func (g *Global) detach(cmd *cobra.Command, ex *executor.Execution) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding runway's own binary to run %s detached: %w", ex.ID, err)
	}
	args := []string{"recover", ex.ID, "--resume"}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if runOnlyFlags[f.Name] {
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				args = append(args, "--"+f.Name+"="+v)
			}
			return
		}
		args = append(args, "--"+f.Name+"="+f.Value.String())
	})
	home, err := store.HomeDir(g.getenv())
	if err != nil {
		return "", err
	}
	dir := filepath.Join(home, "detached")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating %s for the detached run's log: %w", dir, err)
	}
	logPath := filepath.Join(dir, ex.ID+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return "", fmt.Errorf("opening the detached run's log: %w", err)
	}
	defer logf.Close()
	c := exec.Command(self, args...)
	c.Stdout, c.Stderr, c.Stdin = logf, logf, nil
	c.Env = os.Environ()
	for _, k := range []string{"RUNWAY_HOME"} {
		if v := g.getenv()(k); v != "" {
			c.Env = append(c.Env, k+"="+v)
		}
	}
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // survives this command and its terminal
	if err := c.Start(); err != nil {
		return "", fmt.Errorf("starting the detached run of %s: %w", ex.ID, err)
	}
	go func() { _ = c.Wait() }() // reap it if this process lives on (tests); it outlives a CLI that exits
	return logPath, nil
}
