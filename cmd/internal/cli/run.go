package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/executor/exectask"
	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/storeopen"
	"github.com/runway-ci/runway/registrar"
)

// RunOptions are the flags of `runway run`.
type RunOptions struct {
	Executor       ExecutorOptions
	Version        string
	Inputs         []string
	InputsFile     string
	Wait           bool
	Parallelism    int
	OverwriteCache bool
}

// ExecutorOptions select and configure the task runner.
type ExecutorOptions struct {
	Kind       string // local | kubernetes; "" = the platform's
	Kubernetes KubernetesOptions
}

func (o *ExecutorOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.Kind, "executor", "", "where tasks run: local (processes on this machine) or kubernetes (one Job per task run); default: the platform's executor.kind")
	o.Kubernetes.AddFlags(cmd.Flags())
}

func newRun(g *Global) *cobra.Command {
	o := &RunOptions{}
	cmd := &cobra.Command{
		Use:   "run KIND NAME",
		Short: "Run a registered workflow, task or launch plan",
		Long: `Run a registered entity with the local executor (the embedded default).

Inputs are typed by the entity's interface and checked before anything
runs: --input k=v (repeatable) overrides --inputs-file (YAML or JSON). A
launch plan supplies its own inputs; --input overrides them. The version
defaults to the newest registered in the domain.

Every node looks in the cache first (tasks with cache: set): on a hit no
process starts and the stored outputs are reused; --overwrite-cache runs
them again. Ready nodes run in parallel up to --parallelism. User failures
(non-zero exit, OOMKilled, missing outputs) use the task's retries; system
failures use the platform's. Ctrl-C stops every task and records the
execution as aborted; 'runway recover ID' re-runs only what did not succeed.

On a terminal, progress is redrawn per node; piped, it is a plain log.
Exit code 5 means the execution ran and failed.`,
		Example: `  runway run workflow train --input rows=5000 --input seed=7
  runway run launchplan nightly --domain staging -o json
  runway run task prepare --inputs-file inputs.yaml --overwrite-cache`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := registrar.ParseKind(args[0])
			if err != nil {
				return Usagef("%v", err)
			}
			inputs, err := executor.ParseInputArgs(o.Inputs, o.InputsFile)
			if err != nil {
				return Usagef("%v", err)
			}
			p, err := g.project(o.Executor.Kubernetes)
			if err != nil {
				return err
			}
			project, err := g.ProjectName()
			if err != nil {
				return err
			}
			ex, err := g.runEntity(cmd.Context(), p, flow.RunRequest{
				Executor: o.Executor.Kind,
				Target:   registrar.ID{Project: project, Domain: g.Domain, Kind: kind, Name: args[1], Version: o.Version},
				Inputs:   inputs, OverwriteCache: o.OverwriteCache, Parallelism: o.Parallelism, Wait: o.Wait,
			})
			if err == nil && !o.Wait {
				// A separate process runs the queued record to the end (detach.go).
				logPath, derr := g.detach(cmd, ex)
				if derr != nil {
					return derr
				}
				if !g.JSON() {
					fmt.Fprintf(g.IO.Err, "execution %s runs in the background (log: %s); follow it with: runway get execution %s\n", ex.ID, logPath, ex.ID)
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Version, "version", "", "the version to run (default: the newest registered)")
	f.StringArrayVarP(&o.Inputs, "input", "i", nil, "an input as NAME=VALUE (repeatable)")
	f.StringVar(&o.InputsFile, "inputs-file", "", "a YAML or JSON file of inputs")
	f.BoolVar(&o.Wait, "wait", true, "wait for the execution to finish (--wait=false returns at once; a background runway process runs it to the end)")
	f.IntVar(&o.Parallelism, "parallelism", 0, "how many nodes run at once (default: the number of CPUs)")
	f.BoolVar(&o.OverwriteCache, "overwrite-cache", false, "run cached tasks again and replace their cached results")
	o.Executor.addFlags(cmd)
	return cmd
}

// runEntity runs one execution through the flow and prints it.
func (g *Global) runEntity(ctx context.Context, p *flow.Project, req flow.RunRequest) (*executor.Execution, error) {
	req.Observer = executor.NewProgress(g.IO.Err, g.IO.OutIsTTY)
	ex, err := flow.Run(ctx, p, req)
	if err != nil {
		return ex, err
	}
	return ex, g.printExecution(ex)
}

func (g *Global) printExecution(ex *executor.Execution) error {
	var err error
	if g.JSON() {
		err = executor.RenderJSON(g.IO.Out, ex, time.Now())
	} else {
		err = executor.RenderTree(g.IO.Out, ex, time.Now())
	}
	if err != nil {
		return err
	}
	switch ex.Status {
	case executor.StatusSucceeded, executor.StatusQueued:
		return nil
	}
	if g.JSON() {
		return silentError{fmt.Errorf("execution %s %s: %w", ex.ID, ex.Status, ErrExecutionFailed)}
	}
	return fmt.Errorf("execution %s %s: %s: %w", ex.ID, ex.Status, ex.Error, ErrExecutionFailed)
}

func newRecover(g *Global) *cobra.Command {
	var eo ExecutorOptions
	var resume bool
	cmd := &cobra.Command{
		Use:   "recover EXECUTION",
		Short: "Re-run a failed execution from its failed nodes, or resume a crashed one",
		Long: `Start a new execution with the same inputs and version as EXECUTION. Nodes
that succeeded are not run again: their recorded outputs are reused. Only
the failed nodes and those downstream of them run.

With --resume, continue EXECUTION itself, under its own ID, after the
runway that ran it died (kill -9, a lost machine): succeeded nodes keep
their results and the Kubernetes executor re-attaches to the Jobs that are
still running instead of starting them again. Resume is refused while the
owning process is alive or after the execution ended.`,
		Example: `  runway recover 01m8hwn49rv8qj --domain development
  runway recover 01m8hwn49rv8qj --resume --executor kubernetes`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.project(eo.Kubernetes)
			if err != nil {
				return err
			}
			project, err := g.ProjectName()
			if err != nil {
				return err
			}
			r, done, err := p.Runner(eo.Kind)
			if err != nil {
				return err
			}
			defer done()
			eng, err := p.Engine(r, 0)
			if err != nil {
				return err
			}
			obs := executor.NewProgress(g.IO.Err, g.IO.OutIsTTY)
			var ex *executor.Execution
			if resume {
				ex, err = eng.Resume(cmd.Context(), project, g.Domain, args[0], obs)
			} else {
				ex, err = eng.Recover(cmd.Context(), project, g.Domain, args[0], obs)
			}
			if err != nil {
				return err
			}
			return g.printExecution(ex)
		},
	}
	cmd.Flags().BoolVar(&resume, "resume", false, "continue the crashed execution under its own ID (re-attach to running Jobs)")
	eo.addFlags(cmd)
	return cmd
}

// newExecTask is the wrapper both executors run around every task: fetch,
// verify and extract the bundle, stage inputs, run, collect outputs.
func newExecTask(g *Global) *cobra.Command {
	return &cobra.Command{
		Use:                "exec-task",
		Short:              "Run one task attempt (used by the executors, not by people)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			code := exectask.Main(cmd.Context(), args, g.IO.Out, g.IO.Err, exectask.WithOpener(g.openStoreRef))
			if code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
}

// EnvStoreInsecure tells exec-task to reach a plain-HTTP registry (the
// Kubernetes executor sets it when the platform says registry.insecure).
const EnvStoreInsecure = "RUNWAY_STORE_INSECURE"

// openStoreRef reopens a store from its String() form, for exec-task.
func (g *Global) openStoreRef(ctx context.Context, ref string) (store.Store, error) {
	getenv := g.IO.Environment
	if getenv == nil {
		getenv = os.Getenv
	}
	opts := []storeopen.Option{storeopen.WithGetenv(getenv)}
	if getenv(EnvStoreInsecure) != "" {
		opts = append(opts, storeopen.WithInsecure(true))
	}
	return storeopen.Open(ref, opts...)
}

// exitError carries an exact exit code, already reported.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }
