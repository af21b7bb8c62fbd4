package executor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/runway-ci/runway/internal/provenance"
	"github.com/runway-ci/runway/registrar"
)

// Runner runs one attempt of one task. The DAG engine (Engine) is shared by
// every runner; executor/local runs attempts as host processes and the
// Kubernetes executor as Jobs. Both run `runway exec-task` around the task,
// which implements the task I/O contract.
//
// Run returns the attempt's outputs, or an error. An error that is (or
// wraps) a *TaskError says whose fault the failure was, which decides the
// retry budget; any other error is treated as a system failure.
// Run must stop the attempt and return when ctx is done.
type Runner interface {
	Run(ctx context.Context, a Attempt) (*AttemptResult, error)
}

// Attempt is everything a runner needs to run one task attempt.
type Attempt struct {
	ExecutionID string
	NodeID      string
	// Number counts attempts of this node in this execution, from 1.
	Number  int
	Project string
	Domain  string
	TaskRef registrar.Ref
	Task    registrar.Task
	// Inputs hold every declared input; file and dir values name blobs in
	// DataRepo.
	Inputs Values
	// Outputs is the task's typed output interface.
	Outputs Interface
	Limits  Limits
	// Timeout bounds the task command; zero means none.
	Timeout time.Duration
	// DataRepo is the repository that holds file and dir values (inputs to
	// read, outputs to write): store.ExecutionRepo(Project, Domain).
	DataRepo string
	// CheckpointID is the same for every attempt of one node in one
	// execution; the runner keeps $RUNWAY_CHECKPOINT under it.
	CheckpointID string
	// Provenance is the domain's provenance requirement (nil: the platform
	// trusts no key): exec-task verifies the bundle's attestation under it
	// before extracting anything.
	Provenance *provenance.Requirement
}

// Limits are the resources a task attempt may use after the domain's
// defaults and ceilings were applied. Zero means unlimited.
type Limits struct {
	MilliCPU    int64 `json:"milliCPU,omitempty"`
	MemoryBytes int64 `json:"memoryBytes,omitempty"`
}

// AttemptResult is a successful attempt.
type AttemptResult struct {
	Outputs Values
	// Duration is how long the task command ran.
	Duration time.Duration
	// Usage is what the task command used, when the runner measured it.
	Usage *Usage
}

// Usage is what a task command used, as exec-task measured it when the
// command ended: the rusage of the command's process and of the children
// it waited for.
type Usage struct {
	// MaxRSSBytes is the peak resident memory of the largest of them.
	MaxRSSBytes int64 `json:"maxRSSBytes,omitempty"`
	// CPUSeconds is user plus system CPU time.
	CPUSeconds float64 `json:"cpuSeconds,omitempty"`
}

// FailureKind says whose fault a failed attempt was.
type FailureKind string

const (
	// UserFailure: the task itself failed (non-zero exit, OOMKilled,
	// timeout, missing or mistyped outputs). Retried up to the task's
	// `retries`.
	UserFailure FailureKind = "user"
	// SystemFailure: runway or the machine failed (the runner could not
	// start, the store was unavailable). Retried up to the platform's
	// executor.systemRetries.
	SystemFailure FailureKind = "system"
)

// Reason names the cause of a failed attempt; callers and tests branch on it.
type Reason string

// Reasons for failed attempts.
const (
	ReasonExitCode      Reason = "ExitCode"
	ReasonOOMKilled     Reason = "OOMKilled"
	ReasonTimeout       Reason = "Timeout"
	ReasonMissingOutput Reason = "MissingOutput"
	ReasonBadOutput     Reason = "BadOutput"
	ReasonBadInput      Reason = "BadInput"
	ReasonBundle        Reason = "BundleIntegrity"
	// ReasonProvenance: the bundle's signed provenance does not verify, or
	// the domain requires it and there is none (permanent).
	ReasonProvenance Reason = "ProvenanceUnverified"
	ReasonStore      Reason = "StoreUnavailable"
	ReasonStart      Reason = "StartFailed"
	ReasonAborted    Reason = "Aborted"
	ReasonUpstream   Reason = "UpstreamFailed"
	ReasonInternal   Reason = "Internal"
)

// TaskError is a failed attempt, classified.
type TaskError struct {
	Kind   FailureKind `json:"kind"`
	Reason Reason      `json:"reason"`
	// Message says what happened, naming the output, limit or step.
	Message string `json:"message"`
	// ExitCode of the task command, when it ran and exited.
	ExitCode int `json:"exitCode,omitempty"`
	// Permanent failures are not retried (a tampered bundle does not
	// heal by itself).
	Permanent bool `json:"permanent,omitempty"`
	// Usage is what the command used before it failed, when it ran.
	Usage *Usage `json:"usage,omitempty"`
}

func (e *TaskError) Error() string {
	return fmt.Sprintf("%s (%s failure): %s", e.Reason, e.Kind, e.Message)
}

// AsTaskError classifies any error: a *TaskError in its chain is returned
// as is, anything else becomes a system failure.
func AsTaskError(err error) *TaskError {
	var te *TaskError
	if errors.As(err, &te) {
		return te
	}
	return &TaskError{Kind: SystemFailure, Reason: ReasonInternal, Message: err.Error()}
}

// ExecutionDoner is an optional Runner capability: the engine calls Done
// once an execution has ended, so the runner can release what it kept
// across attempts (working directories, checkpoints).
type ExecutionDoner interface {
	Done(executionID string, status Status)
}
