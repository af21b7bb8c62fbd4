package exectask

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/store"
)

// Exit codes of exec-task: the result file says more.
const (
	ExitSucceeded   = 0
	ExitUserFailure = 1
	// ExitSystemFailure is also used when the spec cannot be read.
	ExitSystemFailure = 2
)

// Opener opens the store named in a spec.
type Opener func(ctx context.Context, ref string) (store.Store, error)

type options struct {
	open  Opener
	fetch BundleFetcher
}

// Option configures Main.
type Option func(*options) error

// WithOpener sets how the store reference in the spec is opened
// (required: the CLI passes its store opener).
func WithOpener(o Opener) Option {
	return func(op *options) error {
		if o == nil {
			return errors.New("nil store opener")
		}
		op.open = o
		return nil
	}
}

// WithBundleFetcher replaces FetchBundle.
func WithBundleFetcher(f BundleFetcher) Option {
	return func(op *options) error {
		if f == nil {
			return errors.New("nil bundle fetcher")
		}
		op.fetch = f
		return nil
	}
}

// Main is `runway exec-task --spec FILE`: it runs one attempt as Run does,
// writes the Result to the spec's result file (or stdout) and returns the
// process exit code. The task's own output goes to stdout and stderr.
// ctx should be cancelled on SIGTERM/SIGINT: the task's process group is
// then killed.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, opts ...Option) int {
	o := options{fetch: FetchBundle}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			fmt.Fprintf(stderr, "exec-task: %v\n", err)
			return ExitSystemFailure
		}
	}
	if len(args) > 0 && args[0] == rlimitExecFlag {
		return rlimitExec(args[1:], stderr)
	}
	fs := flag.NewFlagSet("exec-task", flag.ContinueOnError)
	fs.SetOutput(stderr)
	specPath := fs.String("spec", "", "task spec file (JSON) written by the runner")
	if err := fs.Parse(args); err != nil {
		return ExitSystemFailure
	}
	if *specPath == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "exec-task: usage: exec-task --spec FILE")
		return ExitSystemFailure
	}
	sp, err := ReadSpec(*specPath)
	if err != nil {
		fmt.Fprintf(stderr, "exec-task: %v\n", err)
		return ExitSystemFailure
	}
	res := runSpec(ctx, sp, o, stdout, stderr)
	if err := writeResult(sp, res, stdout); err != nil {
		fmt.Fprintf(stderr, "exec-task: writing the result: %v\n", err)
		return ExitSystemFailure
	}
	switch {
	case res.Failure == nil:
		return ExitSucceeded
	case res.Failure.Kind == executor.UserFailure:
		fmt.Fprintf(stderr, "exec-task: %v\n", res.Failure)
		return ExitUserFailure
	default:
		fmt.Fprintf(stderr, "exec-task: %v\n", res.Failure)
		return ExitSystemFailure
	}
}

func runSpec(ctx context.Context, sp *Spec, o options, stdout, stderr io.Writer) *Result {
	// Join the cgroups first, so that everything after runs inside them.
	for _, f := range sp.JoinCgroups {
		if err := os.WriteFile(f, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			return &Result{Failure: &executor.TaskError{Kind: executor.SystemFailure, Reason: executor.ReasonStart, Message: fmt.Sprintf("joining cgroup %s: %v", f, err)}}
		}
	}
	if o.open == nil {
		return &Result{Failure: &executor.TaskError{Kind: executor.SystemFailure, Reason: executor.ReasonStart, Message: "exec-task was built without a store opener", Permanent: true}}
	}
	if !needsStore(sp) {
		// Scalars in and out and no bundle: the store is never touched,
		// so it is not opened (this keeps a no-op node cheap).
		return Run(ctx, sp, nil, o.fetch, stdout, stderr)
	}
	s, err := o.open(ctx, sp.Store)
	if err != nil {
		return &Result{Failure: &executor.TaskError{Kind: executor.SystemFailure, Reason: executor.ReasonStore, Message: fmt.Sprintf("opening store %s: %v", sp.Store, err)}}
	}
	return Run(ctx, sp, s, o.fetch, stdout, stderr)
}

func writeResult(sp *Spec, res *Result, stdout io.Writer) error {
	if sp.ResultFile == "" {
		return json.NewEncoder(stdout).Encode(res)
	}
	return WriteResult(sp.ResultFile, res)
}

// needsStore reports whether an attempt reads or writes the store: a
// bundle to fetch, or a file or dir input or output.
func needsStore(sp *Spec) bool {
	if sp.Task.Bundle != "" {
		return true
	}
	for _, v := range sp.Inputs {
		if v.Type.IsBlob() {
			return true
		}
	}
	for _, t := range sp.Outputs {
		if t.IsBlob() {
			return true
		}
	}
	return false
}
