// Package launcher is the `runway` front binary, the way git dispatches to
// git-core: `runway plan` runs here, in a process that links only the plan
// path (a few dozen packages), and every other command execs runway-core,
// the full CLI, with the same arguments.
//
// Why: plan sits in front of every PR and its budget is twice `git diff`'s
// wall time (about 5 ms here). The full CLI links client-go, go-github and
// go-containerregistry's remote stack: 340 packages whose initialisation
// and page faults cost about 20 ms before main runs, four times git's whole
// diff. Go cannot skip the init of a linked package, so the fast path is a
// separate, small program.
//
// The fast path handles exactly what it can answer alone: `plan` against the
// on-disk store (the default, or --store file://DIR). A registry store,
// --help or any flag it does not know goes to runway-core, which prints the
// same output through the same renderer (internal/planview). So does `plan
// --against DOMAIN` (the diff against production, flow.Against), which needs
// the promotion policy and the executor's cache keys.
package launcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/runway-ci/runway/cmd/internal/planview"
	"github.com/runway-ci/runway/internal/exitcode"
	"github.com/runway-ci/runway/internal/plan"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
)

// CoreName is the full CLI's executable, looked up next to runway.
const CoreName = "runway-core"

// Main runs runway with args and returns the exit code (it returns only
// when it did not exec runway-core).
func Main(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) > 0 && args[0] == "plan" {
		if code, handled := FastPlan(context.Background(), args[1:], stdout, stderr, getenv); handled {
			return code
		}
	}
	core, err := CorePath(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "runway: %v\n", err)
		return exitcode.Error
	}
	err = syscall.Exec(core, append([]string{"runway"}, args...), os.Environ())
	fmt.Fprintf(stderr, "runway: starting %s: %v\n", core, err)
	return exitcode.Error
}

// CorePath finds runway-core: $RUNWAY_CORE, else next to this executable.
func CorePath(getenv func(string) string) (string, error) {
	if p := getenv("RUNWAY_CORE"); p != "" {
		return p, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding runway-core: %w", err)
	}
	if r, err := filepath.EvalSymlinks(self); err == nil {
		self = r
	}
	p := filepath.Join(filepath.Dir(self), CoreName)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s is not installed next to %s: build both with `go build -o DIR/ ./cmd/...` (or set RUNWAY_CORE)", CoreName, self)
	}
	return p, nil
}

// planFlags are the flags `runway plan` takes (its own and the global ones).
type planFlags struct {
	base, head, repo, store, platform, output string
}

// parse reads args; ok is false for anything the fast path leaves to
// runway-core (help, unknown flags, arguments).
func (f *planFlags) parse(args []string) (ok bool) {
	f.head, f.repo, f.output = "HEAD", ".", "text"
	values := map[string]*string{
		"base": &f.base, "head": &f.head, "repo": &f.repo, "store": &f.store,
		"platform": &f.platform, "output": &f.output, "o": &f.output,
		"domain": new(string), "d": new(string), "project": new(string),
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-v" || a == "--verbose" {
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			return false
		}
		p, known := values[name]
		if !known {
			return false // --help and anything else: runway-core answers
		}
		if !hasVal {
			if i+1 >= len(args) {
				return false
			}
			i++
			val = args[i]
		}
		*p = val
	}
	return f.base != "" && (f.output == "text" || f.output == "json")
}

// FastPlan runs `runway plan` in this process when it can; handled is
// false when runway-core must answer instead.
func FastPlan(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) (code int, handled bool) {
	var f planFlags
	if !f.parse(args) {
		return 0, false
	}
	storeSpec := f.store
	if storeSpec == "" && f.platform != "" {
		plat, err := platform.Load(f.platform)
		if err != nil {
			return fail(stderr, err, f.output), true
		}
		storeSpec = plat.Store
	}
	dir, isFile := strings.CutPrefix(storeSpec, "file://")
	if storeSpec != "" && !isFile {
		return 0, false // a registry: runway-core has the remote store
	}
	if storeSpec == "" {
		d, err := store.DefaultDir(getenv)
		if err != nil {
			return fail(stderr, err, f.output), true
		}
		dir = d
	}
	opts := []plan.Option{plan.WithParser(func(b []byte) (*spec.Spec, error) { return spec.Parse(spec.FileName, b) })}
	// A store that does not exist yet has nothing in it: do not create one
	// just to look.
	if _, err := os.Stat(dir); err == nil {
		st, err := layout.New(dir)
		if err != nil {
			return fail(stderr, fmt.Errorf("opening store %q: %w", storeSpec, err), f.output), true
		}
		opts = append(opts, plan.WithStore(st))
	}
	p, err := plan.Plan(ctx, f.repo, f.base, f.head, opts...)
	if err != nil {
		return fail(stderr, err, f.output), true
	}
	if err := planview.Write(stdout, p, f.output == "json"); err != nil {
		return fail(stderr, err, f.output), true
	}
	return exitcode.OK, true
}

// fail reports err as runway-core would and returns its exit code.
func fail(w io.Writer, err error, output string) int {
	code := exitcode.Error
	var se spec.Errors
	if errors.As(err, &se) {
		code = exitcode.Invalid
	}
	if output == "json" {
		fmt.Fprintf(w, "{\"error\":%q,\"exitCode\":%d}\n", err.Error(), code)
	} else {
		fmt.Fprintf(w, "runway: %v\n", err)
	}
	return code
}
