package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/executor/exectask"
	"github.com/runway-ci/runway/internal/procgroup"
)

// LimitMode selects how the runner enforces memory and CPU limits.
type LimitMode string

// Limit modes.
const (
	// LimitAuto uses cgroups when a writable hierarchy is found, else
	// setrlimit.
	LimitAuto LimitMode = "auto"
	// LimitCgroups requires cgroups (New fails without them).
	LimitCgroups LimitMode = "cgroups"
	// LimitRLimit uses setrlimit only: RLIMIT_AS for memory, RLIMIT_CPU
	// (limit x timeout CPU-seconds) for CPU.
	LimitRLimit LimitMode = "rlimit"
)

// Runner runs task attempts as `runway exec-task` child processes on this
// host, each in its own working directory and process group.
type Runner struct {
	storeRef string
	argv     []string
	env      []string
	workRoot string
	log      *slog.Logger
	cg       *cgroups
	mode     LimitMode
	grace    time.Duration
	keep     bool
	warnOnce sync.Once
	logDir   string // logs.go
	logCap   int64
}

// Option configures a Runner.
type Option func(*Runner) error

// WithExecTask sets the command that starts exec-task; "--spec FILE" is
// appended (default: this executable with the argument "exec-task").
func WithExecTask(argv ...string) Option {
	return func(r *Runner) error {
		if len(argv) == 0 || argv[0] == "" {
			return errors.New("exec-task command is empty")
		}
		r.argv = argv
		return nil
	}
}

// WithEnv adds "KEY=value" entries to the environment exec-task inherits.
func WithEnv(kv ...string) Option {
	return func(r *Runner) error {
		for _, e := range kv {
			if !strings.Contains(e, "=") {
				return fmt.Errorf("environment entry %q: want KEY=value", e)
			}
		}
		r.env = append(r.env, kv...)
		return nil
	}
}

// WithWorkDir sets the directory that holds attempt directories
// (default: $TMPDIR/runway-work).
func WithWorkDir(dir string) Option {
	return func(r *Runner) error {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		r.workRoot = abs
		return nil
	}
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(r *Runner) error {
		if l == nil {
			return errors.New("nil logger")
		}
		r.log = l
		return nil
	}
}

// WithLimits selects the limit mode (default LimitAuto).
func WithLimits(m LimitMode) Option {
	return func(r *Runner) error {
		switch m {
		case LimitAuto, LimitCgroups, LimitRLimit:
			r.mode = m
			return nil
		}
		return fmt.Errorf("limit mode %q: want auto, cgroups or rlimit", m)
	}
}

// WithGrace sets how long exec-task has to stop after SIGTERM before it
// is killed (default 5s).
func WithGrace(d time.Duration) Option {
	return func(r *Runner) error { r.grace = d; return nil }
}

// WithKeepWorkDirs keeps every attempt directory (default: a succeeded
// execution's directory is removed; a failed one's is kept for its logs).
func WithKeepWorkDirs() Option {
	return func(r *Runner) error { r.keep = true; return nil }
}

// New returns a local runner. storeRef is the store reference exec-task
// opens (the same store the engine uses, as the CLI's opener names it).
func New(storeRef string, opts ...Option) (*Runner, error) {
	if storeRef == "" {
		return nil, errors.New("creating local runner: a store reference is required")
	}
	r := &Runner{
		storeRef: storeRef,
		workRoot: filepath.Join(os.TempDir(), "runway-work"),
		log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		mode:     LimitAuto,
		grace:    5 * time.Second,
	}
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, fmt.Errorf("creating local runner: %w", err)
		}
	}
	if r.argv == nil {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("creating local runner: finding the runway executable: %w", err)
		}
		r.argv = []string{self, "exec-task"}
	}
	if err := os.MkdirAll(r.workRoot, 0o755); err != nil {
		return nil, fmt.Errorf("creating local runner: %w", err)
	}
	if r.mode != LimitRLimit {
		mi, _ := os.ReadFile("/proc/self/mountinfo")
		sc, _ := os.ReadFile("/proc/self/cgroup")
		cg, err := detectCgroups(string(mi), string(sc))
		switch {
		case err == nil:
			r.cg = cg
		case r.mode == LimitCgroups:
			return nil, fmt.Errorf("creating local runner: cgroups are required: %w", err)
		default:
			r.log.Debug("cgroups unavailable", "err", err)
		}
	}
	return r, nil
}

// Limiter names how limits are enforced ("cgroup v1 (...)", "cgroup v2
// (...)" or "setrlimit").
func (r *Runner) Limiter() string {
	if r.cg != nil {
		return r.cg.String()
	}
	return "setrlimit"
}

// checkpointDir is where $RUNWAY_CHECKPOINT lives for a: under the
// execution and node named by a.CheckpointID, which a recovery points at
// the failed execution's, so the new attempt continues its checkpoint.
func (r *Runner) checkpointDir(a executor.Attempt, nodeDir string) string {
	id := a.CheckpointID
	if id == "" || strings.Contains(id, "..") || strings.HasPrefix(id, "/") || strings.Count(id, "/") != 1 {
		return filepath.Join(nodeDir, "checkpoint")
	}
	return filepath.Join(r.workRoot, filepath.FromSlash(id), "checkpoint")
}

// Run runs one attempt (executor.Runner).
func (r *Runner) Run(ctx context.Context, a executor.Attempt) (*executor.AttemptResult, error) {
	nodeDir := filepath.Join(r.workRoot, a.ExecutionID, a.NodeID)
	dir := filepath.Join(nodeDir, "attempt-"+strconv.Itoa(a.Number))
	if err := os.RemoveAll(dir); err != nil {
		return nil, sysErr(executor.ReasonStart, "clearing %s: %v", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, sysErr(executor.ReasonStart, "creating %s: %v", dir, err)
	}
	sp := &exectask.Spec{
		Store: r.storeRef, Project: a.Project, Domain: a.Domain,
		Execution: a.ExecutionID, Node: a.NodeID, Attempt: a.Number,
		BundleProject: a.TaskRef.Project, Task: a.Task, Inputs: a.Inputs, Outputs: a.Outputs,
		DataRepo: a.DataRepo, Timeout: a.Timeout, WorkDir: dir,
		CheckpointDir: r.checkpointDir(a, nodeDir),
		ResultFile:    filepath.Join(dir, "result.json"),
		Provenance:    a.Provenance,
	}
	var cg *cgroup
	if a.Limits != (executor.Limits{}) {
		if r.cg != nil {
			var err error
			cg, err = r.cg.create(cgroupName(a), a.Limits)
			if err != nil {
				return nil, sysErr(executor.ReasonStart, "%v", err)
			}
			defer cg.remove()
			sp.JoinCgroups, sp.OOMCounter = cg.procs, cg.oomCounter
		} else {
			r.warnOnce.Do(func() {
				r.log.Warn("cgroups are not available: memory and CPU limits fall back to setrlimit (RLIMIT_AS, RLIMIT_CPU), which is weaker: address space is not resident memory, CPU time is not a rate, and OOM kills cannot be told apart from other failures")
			})
			sp.RLimits = rlimitsFor(a.Limits, a.Timeout)
		}
	}
	specPath := filepath.Join(dir, "spec.json")
	if err := exectask.WriteJSON(specPath, sp); err != nil {
		return nil, sysErr(executor.ReasonStart, "writing the task spec: %v", err)
	}
	logf, err := os.Create(filepath.Join(dir, "task.log"))
	if err != nil {
		return nil, sysErr(executor.ReasonStart, "creating the task log: %v", err)
	}
	defer logf.Close()

	// A backstop beyond the task's own timeout, which exec-task enforces,
	// covers a wrapper that hangs in bundle fetch or upload.
	runCtx := ctx
	if a.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, a.Timeout+2*time.Minute)
		defer cancel()
	}
	argv := append(append([]string{}, r.argv...), "--spec", specPath)
	cmd := exec.CommandContext(runCtx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), r.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = procgroup.Attr()
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = r.grace
	if err := cmd.Start(); err != nil {
		return nil, sysErr(executor.ReasonStart, "starting exec-task: %v", err)
	}
	waitErr := cmd.Wait()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if cg != nil {
		cg.killAll()
	}
	r.keepLog(a, logf.Name())

	res, rerr := exectask.ReadResult(sp.ResultFile)
	switch {
	case ctx.Err() != nil:
		return nil, &executor.TaskError{Kind: executor.SystemFailure, Reason: executor.ReasonAborted, Message: "stopped: " + context.Cause(ctx).Error()}
	case rerr == nil && res.Failure != nil:
		res.Failure.Message += " (" + r.logHint(a, logf.Name()) + ")"
		return nil, res.Failure
	case rerr == nil:
		return &executor.AttemptResult{Outputs: res.Outputs, Duration: res.Duration, Usage: res.Usage}, nil
	case cg != nil && exectask.ReadOOMCounter(cg.oomCounter) > 0:
		return nil, &executor.TaskError{Kind: executor.UserFailure, Reason: executor.ReasonOOMKilled, ExitCode: 137, Message: "exec-task and the task were killed for exceeding the memory limit"}
	case runCtx.Err() != nil:
		return nil, sysErr(executor.ReasonTimeout, "exec-task did not finish within the task timeout plus 2m; killed")
	}
	return nil, sysErr(executor.ReasonStart, "exec-task ended (%v) without a result; log %s: %s", waitErr, logf.Name(), tail(logf.Name()))
}

// Done removes a succeeded execution's attempt directories; it is the
// optional executor.ExecutionDoner capability.
func (r *Runner) Done(executionID string, status executor.Status) {
	if r.keep || status != executor.StatusSucceeded || executor.ValidateID(executionID) != nil {
		return
	}
	_ = os.RemoveAll(filepath.Join(r.workRoot, executionID))
}

func cgroupName(a executor.Attempt) string {
	return fmt.Sprintf("%s-%s-%d-%d", a.ExecutionID, a.NodeID, a.Number, time.Now().UnixNano()%1e6)
}

func rlimitsFor(l executor.Limits, timeout time.Duration) *exectask.RLimits {
	rl := &exectask.RLimits{AddressSpace: uint64(max(l.MemoryBytes, 0))}
	if l.MilliCPU > 0 && timeout > 0 {
		rl.CPUSeconds = uint64(math.Ceil(float64(l.MilliCPU) / 1000 * timeout.Seconds()))
	}
	return rl
}

func sysErr(reason executor.Reason, format string, a ...any) *executor.TaskError {
	return &executor.TaskError{Kind: executor.SystemFailure, Reason: reason, Message: fmt.Sprintf(format, a...)}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 1024 {
		b = b[len(b)-1024:]
	}
	return strings.TrimSpace(string(b))
}
