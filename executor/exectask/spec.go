package exectask

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/provenance"
	"github.com/runway-ci/runway/registrar"
)

// Spec is what a runner hands exec-task: one attempt of one task, as a
// JSON file named by --spec.
type Spec struct {
	// Store is the store reference exec-task opens (the Opener's argument).
	Store     string `json:"store"`
	Project   string `json:"project"`
	Domain    string `json:"domain"`
	Execution string `json:"execution"`
	Node      string `json:"node"`
	Attempt   int    `json:"attempt"`
	// BundleProject owns the bundle (the task's project; may differ from
	// Project for a cross-project task).
	BundleProject string             `json:"bundleProject"`
	Task          registrar.Task     `json:"task"`
	Inputs        executor.Values    `json:"inputs"`
	Outputs       executor.Interface `json:"outputs"`
	// DataRepo holds file and dir values.
	DataRepo string `json:"dataRepo"`
	// Timeout bounds the task command (0: none).
	Timeout time.Duration `json:"timeout"`
	// WorkDir is the attempt's private directory: code/ (the bundle),
	// inputs/, outputs/ and tmp/ are made in it.
	WorkDir string `json:"workDir"`
	// CheckpointDir survives retries of the same run ($RUNWAY_CHECKPOINT).
	CheckpointDir string `json:"checkpointDir"`
	// JoinCgroups are cgroup.procs files exec-task writes its own PID to
	// before it does anything else, so the task and the wrapper run
	// inside the limits (as in a Kubernetes container).
	JoinCgroups []string `json:"joinCgroups,omitempty"`
	// OOMCounter is a cgroup file with an "oom_kill N" line (v1
	// memory.oom_control, v2 memory.events).
	OOMCounter string `json:"oomCounter,omitempty"`
	// RLimits are applied to the command when cgroups are not available.
	RLimits *RLimits `json:"rlimits,omitempty"`
	// ResultFile receives the Result as JSON ("" : stdout).
	ResultFile string `json:"resultFile,omitempty"`
	// Provenance is the domain's provenance requirement: the bundle's
	// attestation is verified under it before anything is extracted
	// (nil: nothing is trusted, nothing is checked).
	Provenance *provenance.Requirement `json:"provenance,omitempty"`
}

// RLimits are the setrlimit fallback: address space in bytes and CPU time
// in seconds (0: unset).
type RLimits struct {
	AddressSpace uint64 `json:"addressSpace,omitempty"`
	CPUSeconds   uint64 `json:"cpuSeconds,omitempty"`
}

// Result is what exec-task reports: outputs on success, else a classified
// failure.
type Result struct {
	Outputs  executor.Values     `json:"outputs,omitempty"`
	Failure  *executor.TaskError `json:"failure,omitempty"`
	Duration time.Duration       `json:"duration"`
	// Usage is what the command used (also on Failure when it ran).
	Usage *executor.Usage `json:"usage,omitempty"`
}

// ReadSpec reads and checks a spec file.
func ReadSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading task spec: %w", err)
	}
	s := &Spec{}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("decoding task spec %s: %w", path, err)
	}
	if s.WorkDir == "" || !filepath.IsAbs(s.WorkDir) {
		return nil, fmt.Errorf("task spec %s: workDir %q must be an absolute path", path, s.WorkDir)
	}
	if len(s.Task.Command) == 0 {
		return nil, fmt.Errorf("task spec %s: the task has no command", path)
	}
	return s, nil
}

// WriteJSON writes v to path atomically (temporary file, then rename).
func WriteJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// WriteResult writes the task result in place, never by rename: on a
// Kubernetes node the result file is the container's termination log, a
// bind-mounted file that cannot be replaced ("device or resource busy").
// Runners read it only after the process exits, so atomicity is not needed.
func WriteResult(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("writing the task result: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("writing the task result: %w", err)
	}
	return f.Close()
}

// ReadResult reads a result file.
func ReadResult(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := &Result{}
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("decoding task result %s: %w", path, err)
	}
	return r, nil
}
