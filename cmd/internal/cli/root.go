// Package cli wires runway's library packages into the `runway` command.
// Each command is an options struct filled from flags plus a run function,
// so behaviour is tested apart from flag parsing; commands write only to the
// injected streams, and one place (Main) maps errors to exit codes.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/internal/exitcode"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/provenance"
	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/version"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// Exit codes: the one table in internal/exitcode, which the front binary
// uses too.
const (
	ExitOK       = exitcode.OK
	ExitError    = exitcode.Error
	ExitUsage    = exitcode.Usage
	ExitInvalid  = exitcode.Invalid
	ExitConflict = exitcode.Conflict
	ExitFailed   = exitcode.Failed
	ExitRefused  = exitcode.Refused
)

// IO holds the streams commands use.
type IO struct {
	In          io.Reader
	Out, Err    io.Writer
	OutIsTTY    bool
	Environment func(string) string
}

// Std returns the process's streams.
func Std() IO {
	return IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		OutIsTTY: term.IsTerminal(int(os.Stdout.Fd())), Environment: os.Getenv}
}

// Global holds the flags shared by every command.
type Global struct {
	IO       IO
	Store    string
	Platform string
	Output   string
	Repo     string
	Domain   string
	Project  string
	Verbose  bool
	Lock     string // --lock (lockflag.go)
}

// Log returns the logger commands use (stderr; debug with --verbose).
func (g *Global) Log() *slog.Logger {
	lvl := slog.LevelWarn
	if g.Verbose {
		lvl = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(g.IO.Err, &slog.HandlerOptions{Level: lvl}))
}

// JSON reports whether --output json was asked for.
func (g *Global) JSON() bool { return g.Output == "json" }

// PrintJSON writes v as indented JSON to stdout.
func (g *Global) PrintJSON(v any) error {
	enc := json.NewEncoder(g.IO.Out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// LoadPlatform reads --platform, or the embedded defaults.
func (g *Global) LoadPlatform() (*platform.Config, error) { return platform.Load(g.Platform) }

// ProjectName returns --project, else the project of the repo's runway.yaml.
func (g *Global) ProjectName() (string, error) {
	if g.Project != "" {
		return g.Project, nil
	}
	s, err := spec.Load(g.Repo)
	if err != nil {
		return "", fmt.Errorf("%w (pass --project, or --repo pointing at a checkout with runway.yaml)", err)
	}
	return s.Project, nil
}

// usageError marks errors in how runway was called.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// silentError is an error whose report was already written (as JSON).
type silentError struct{ error }

func (e silentError) Unwrap() error { return e.error }

// Usagef returns a usage error.
func Usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// NewRoot builds the command tree.
func NewRoot(g *Global) *cobra.Command {
	root := &cobra.Command{
		Use:   "runway",
		Short: "Register, promote and run ML and data pipelines, GitOps style",
		Long: `runway takes a pipeline repository from pull request to production.

For every change it decides whether the dependency image must be rebuilt
(only when dependency files changed) or the code can ship as a small bundle
on top of the existing image, registers the pipeline's tasks, workflows and
launch plans as immutable entities versioned by git SHA, promotes them from
development to staging to production by digest, and runs them.

State lives in an OCI registry (--store HOST/PREFIX) or, by default, in an
OCI layout on disk ($RUNWAY_HOME/store, else ~/.runway/store).

Start with:
  runway demo                      # the sample pipeline, end to end
  runway validate --repo DIR       # check a runway.yaml
  runway register --repo DIR --domain development`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.Store, "store", "", "where state lives: file://DIR or HOST[:PORT]/PREFIX (default $RUNWAY_HOME/store or ~/.runway/store; the platform config may set it)")
	pf.StringVar(&g.Platform, "platform", "", "platform config FILE (domains, ceilings, policy); embedded defaults when absent")
	pf.StringVarP(&g.Output, "output", "o", "text", "output format: text or json (stable field names, for scripts)")
	pf.StringVar(&g.Repo, "repo", ".", "the pipeline repository (holds runway.yaml)")
	pf.StringVarP(&g.Domain, "domain", "d", "development", "the domain to act on")
	pf.StringVar(&g.Project, "project", "", "the project (default: from runway.yaml in --repo)")
	pf.BoolVarP(&g.Verbose, "verbose", "v", false, "log what runway does, to stderr")
	addLockFlag(pf, g)
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if g.Output != "text" && g.Output != "json" {
			return Usagef("--output must be text or json, got %q", g.Output)
		}
		if g.Lock != "" {
			if _, err := platform.ParseLockKind(g.Lock); err != nil {
				return Usagef("--lock: %v", err)
			}
		}
		return nil
	}
	// runway --version answers as `runway version` does (text only; -o json
	// is the version command's).
	root.Version = version.Get().String()
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetOut(g.IO.Out)
	root.SetErr(g.IO.Err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	for _, add := range commands() {
		root.AddCommand(add(g))
	}
	addCompletions(g, root) // completion.go: names and execution IDs from the store
	return root
}

// commands lists every command, in the pipeline's order: a new command is
// added here, where a reader finds them all (each lives in its own file).
func commands() []func(*Global) *cobra.Command {
	return []func(*Global) *cobra.Command{
		newDemo, newValidate, newPlan, newBundle, newRegister, // plan -> package -> register
		newRun, newRecover, newLogs, newGet, newList, // run, and what it left
		newPromote, newActivate, newDeactivate, newHistory, newScheduler, newGC, // promote and keep
		newVerify, newKeygen, // signed provenance
		newPlatformCmd,             // the platform team's config
		newAction, newServe, newUI, // the other entry points
		newVersion, newExecTask, // runway itself, and the executors' wrapper
	}
}

// Main runs runway with args and returns the exit code.
func Main(args []string, streams IO) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g := &Global{IO: streams}
	root := NewRoot(g)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	code := exitCode(err)
	var silent silentError
	if errors.As(err, &silent) {
		return code
	}
	if g.JSON() {
		_ = json.NewEncoder(streams.Err).Encode(map[string]any{"error": err.Error(), "exitCode": code})
	} else {
		fmt.Fprintf(streams.Err, "runway: %v\n", err)
	}
	return code
}

// ErrExecutionFailed is returned when an execution ran but did not succeed.
var ErrExecutionFailed = errors.New("execution failed")

func exitCode(err error) int {
	var ue usageError
	var se spec.Errors
	switch {
	case errors.As(err, &ue), errors.Is(err, flow.ErrUsage), errors.Is(err, platform.ErrUnknownDomain):
		return ExitUsage
	case errors.As(err, &se), errors.Is(err, executor.ErrInvalidInput), errors.Is(err, executor.ErrInvalidPlan):
		return ExitInvalid
	case errors.Is(err, registrar.ErrConflict), errors.Is(err, promote.ErrConflict):
		return ExitConflict
	case errors.Is(err, promote.ErrNotAllowed), errors.Is(err, ErrVerifyFailed), errors.Is(err, provenance.ErrUnverified):
		return ExitRefused
	case errors.Is(err, ErrExecutionFailed):
		return ExitFailed
	}
	// cobra's own argument errors
	if msg := err.Error(); len(msg) > 8 && (msg[:8] == "unknown " || msg[:8] == "accepts " || msg[:8] == "requires") {
		return ExitUsage
	}
	return ExitError
}
