package exectask

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/fastreg"
	"github.com/runway-ci/runway/internal/archive"
	"github.com/runway-ci/runway/internal/procgroup"
	"github.com/runway-ci/runway/internal/provenance"
	"github.com/runway-ci/runway/internal/store"
)

// Run performs one attempt: fetch and verify the bundle, stage inputs, run
// the command within its limits, collect and check outputs, upload them.
// Every failure is returned as a Result with a classified Failure; Run
// itself never fails.
func Run(ctx context.Context, sp *Spec, s store.Store, fetch BundleFetcher, stdout, stderr io.Writer) *Result {
	start := time.Now()
	res := &Result{}
	fail := func(kind executor.FailureKind, reason executor.Reason, permanent bool, format string, a ...any) *Result {
		res.Failure = &executor.TaskError{Kind: kind, Reason: reason, Message: fmt.Sprintf(format, a...), Permanent: permanent}
		res.Duration = time.Since(start)
		return res
	}
	dirs := map[string]string{}
	for _, d := range []string{"code", "inputs", "outputs", "tmp"} {
		dirs[d] = filepath.Join(sp.WorkDir, d)
		if err := os.MkdirAll(dirs[d], 0o755); err != nil {
			return fail(executor.SystemFailure, executor.ReasonStart, false, "preparing %s: %v", d, err)
		}
	}
	if sp.CheckpointDir != "" {
		if err := os.MkdirAll(sp.CheckpointDir, 0o755); err != nil {
			return fail(executor.SystemFailure, executor.ReasonStart, false, "preparing the checkpoint directory: %v", err)
		}
	}

	// 1-2. Bundle: fetched and verified before extraction.
	if sp.Task.Bundle != "" {
		project := sp.BundleProject
		if project == "" {
			project = sp.Project
		}
		if sp.Provenance != nil {
			if r := verifyBundle(ctx, sp, s, project); r != nil {
				return fail(r.Kind, r.Reason, r.Permanent, "%s", r.Message)
			}
		}
		if err := fetch(ctx, s, project, sp.Task.Bundle, dirs["code"]); err != nil {
			// A bundle that does not match its digest, holds a member the
			// extractor refuses, or is stored corrupt (its bytes match their
			// digest but do not read as a bundle) will not get better on retry.
			if errors.Is(err, store.ErrDigestMismatch) || errors.Is(err, fastreg.ErrUnsafeMember) || errors.Is(err, fastreg.ErrLimit) || errors.Is(err, fastreg.ErrCorruptBundle) {
				return fail(executor.SystemFailure, executor.ReasonBundle, true, "%v", err)
			}
			return fail(executor.SystemFailure, executor.ReasonStore, false, "fetching the code bundle: %v", err)
		}
	}

	// 3. Inputs: value files or fetched blobs, variables, substitutions.
	env := append(os.Environ(),
		"RUNWAY_INPUTS="+dirs["inputs"],
		"RUNWAY_OUTPUTS="+dirs["outputs"],
		"RUNWAY_CHECKPOINT="+sp.CheckpointDir,
		"RUNWAY_EXECUTION="+sp.Execution,
		"RUNWAY_NODE="+sp.Node,
		"RUNWAY_ATTEMPT="+strconv.Itoa(sp.Attempt),
		"TMPDIR="+dirs["tmp"],
	)
	for _, k := range sortedKeys(sp.Task.Env) {
		env = append(env, k+"="+sp.Task.Env[k])
	}
	subst := map[string]string{}
	for _, name := range sortedKeys(sp.Inputs) {
		v := sp.Inputs[name]
		p := filepath.Join(dirs["inputs"], name)
		var err error
		switch v.Type {
		case executor.TypeFile:
			err = executor.FetchFile(ctx, s, sp.DataRepo, v, p)
			subst[name] = p
		case executor.TypeDir:
			err = executor.FetchDir(ctx, s, sp.DataRepo, v, p)
			subst[name] = p
		default:
			err = os.WriteFile(p, []byte(v.Text()), 0o644)
			subst[name] = v.Text()
		}
		// A dir value the extractor refuses (an unsafe member, over its
		// limits) is as permanent as one that does not match its digest.
		if errors.Is(err, store.ErrDigestMismatch) || errors.Is(err, archive.ErrUnsafeMember) || errors.Is(err, archive.ErrLimit) {
			return fail(executor.SystemFailure, executor.ReasonBadInput, true, "input %q: %v", name, err)
		}
		if err != nil {
			return fail(executor.SystemFailure, executor.ReasonStore, false, "staging input %q: %v", name, err)
		}
		env = append(env, InputEnvName(name)+"="+subst[name])
	}
	argv, err := Substitute(sp.Task.Command, subst)
	if err != nil {
		return fail(executor.UserFailure, executor.ReasonBadInput, true, "%v", err)
	}

	// 4. The command.
	if f := runCommand(ctx, sp, argv, env, dirs["code"], stdout, stderr, &res.Usage); f != nil {
		f.Usage = res.Usage
		res.Failure = f
		res.Duration = time.Since(start)
		return res
	}
	ran := time.Since(start)

	// 5-6. Outputs: checked against the interface, then uploaded.
	outs := executor.Values{}
	for _, name := range sortedKeys(sp.Outputs) {
		v, f := collect(ctx, s, sp, name, filepath.Join(dirs["outputs"], name), dirs["tmp"])
		if f != nil {
			res.Failure = f
			res.Duration = time.Since(start)
			return res
		}
		outs[name] = v
	}
	res.Outputs, res.Duration = outs, ran
	return res
}

// InputEnvName is the environment variable that carries an input:
// RUNWAY_INPUT_<NAME>, upper-cased, "-" and "." as "_".
func InputEnvName(name string) string {
	return "RUNWAY_INPUT_" + strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToUpper(name))
}

var placeholderRE = regexp.MustCompile(`\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}`)

// Substitute replaces {{inputs.x}} in every argument; an unknown input is
// an error naming it.
func Substitute(argv []string, values map[string]string) ([]string, error) {
	out := make([]string, len(argv))
	var errs []error
	for i, a := range argv {
		out[i] = placeholderRE.ReplaceAllStringFunc(a, func(m string) string {
			name := placeholderRE.FindStringSubmatch(m)[1]
			v, ok := values[name]
			if !ok {
				errs = append(errs, fmt.Errorf("command argument %d: %s names no input", i, m))
			}
			return v
		})
	}
	return out, errors.Join(errs...)
}

// runCommand runs argv in its own process group. A timeout or ctx kills
// the whole group; so does the end of the command (background processes
// it left behind do not outlive the attempt). Once the command has ended,
// *used is what it used.
func runCommand(ctx context.Context, sp *Spec, argv, env []string, dir string, stdout, stderr io.Writer, used **executor.Usage) *executor.TaskError {
	tail := &tailBuffer{max: 2048}
	cmd := exec.Command(argv[0], argv[1:]...)
	if lp, err := exec.LookPath(argv[0]); err == nil && !strings.Contains(argv[0], "/") {
		cmd.Path = lp
	} else if !filepath.IsAbs(argv[0]) && strings.Contains(argv[0], "/") {
		cmd.Path = filepath.Join(dir, argv[0])
	}
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = stdout, io.MultiWriter(stderr, tail)
	cmd.SysProcAttr = procgroup.Attr()
	oomBefore := readOOM(sp.OOMCounter)
	var trampErrs *os.File
	if sp.RLimits != nil && cmd.Err == nil {
		var err error
		if trampErrs, err = limitedCommand(cmd, sp.RLimits); err != nil {
			return &executor.TaskError{Kind: executor.SystemFailure, Reason: executor.ReasonStart, Message: err.Error()}
		}
	}
	err := cmd.Start()
	if trampErrs != nil {
		cmd.ExtraFiles[0].Close() // the trampoline holds the write end now
	}
	if err != nil {
		if trampErrs != nil {
			_ = trampErrs.Close()
		}
		return &executor.TaskError{Kind: executor.UserFailure, Reason: executor.ReasonExitCode, Message: fmt.Sprintf("starting %q: %v", argv[0], err), ExitCode: 127}
	}
	pgid := cmd.Process.Pid
	var timeout <-chan time.Time
	if sp.Timeout > 0 {
		t := time.NewTimer(sp.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	timedOut := false
	select {
	case err = <-waited:
	case <-timeout:
		timedOut = true
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		err = <-waited
	case <-ctx.Done():
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-waited //nolint:errcheck // killed because the run was cancelled: how it exited is not the result
		if trampErrs != nil {
			_ = trampErrs.Close()
		}
		return &executor.TaskError{Kind: executor.SystemFailure, Reason: executor.ReasonAborted, Message: "stopped: " + context.Cause(ctx).Error()}
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	*used = usageOf(cmd.ProcessState)
	if trampErrs != nil {
		switch kind, msg := trampolineError(trampErrs); kind {
		case trampSetrlimit:
			return &executor.TaskError{Kind: executor.SystemFailure, Reason: executor.ReasonStart, Message: "applying the setrlimit fallback: " + msg}
		case trampExec:
			return &executor.TaskError{Kind: executor.UserFailure, Reason: executor.ReasonExitCode, ExitCode: 127, Message: msg}
		}
	}
	switch {
	case timedOut:
		return &executor.TaskError{Kind: executor.UserFailure, Reason: executor.ReasonTimeout, Message: fmt.Sprintf("the command ran longer than its timeout of %s; its process group was killed", sp.Timeout)}
	case readOOM(sp.OOMCounter) > oomBefore:
		return &executor.TaskError{Kind: executor.UserFailure, Reason: executor.ReasonOOMKilled, ExitCode: exitCode(err), Message: "the command was killed for exceeding its memory limit" + tail.suffix()}
	case err != nil:
		code := exitCode(err)
		return &executor.TaskError{Kind: executor.UserFailure, Reason: executor.ReasonExitCode, ExitCode: code, Message: fmt.Sprintf("the command exited with %s%s%s", describeExit(err), rlimitHint(sp.RLimits, err), tail.suffix())}
	}
	return nil
}

// usageOf is the rusage of an ended command: its peak resident memory
// (Linux reports kilobytes) and its user plus system CPU time.
func usageOf(ps *os.ProcessState) *executor.Usage {
	if ps == nil {
		return nil
	}
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return nil
	}
	cpu := ps.UserTime() + ps.SystemTime()
	return &executor.Usage{MaxRSSBytes: ru.Maxrss * 1024, CPUSeconds: cpu.Seconds()}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return 0
}

func describeExit(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Sprintf("signal %s (code %d)", ws.Signal(), 128+int(ws.Signal()))
		}
		return fmt.Sprintf("code %d", ee.ExitCode())
	}
	return err.Error()
}

// ReadOOMCounter returns the "oom_kill N" count of a cgroup file (v1
// memory.oom_control, v2 memory.events), 0 when absent.
func ReadOOMCounter(path string) int { return readOOM(path) }

func readOOM(path string) int {
	if path == "" {
		return 0
	}
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && k == "oom_kill" {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// collect checks one declared output and uploads it.
func collect(ctx context.Context, s store.Store, sp *Spec, name, path, scratch string) (executor.Value, *executor.TaskError) {
	t := sp.Outputs[name]
	userErr := func(reason executor.Reason, format string, a ...any) *executor.TaskError {
		return &executor.TaskError{Kind: executor.UserFailure, Reason: reason, Message: fmt.Sprintf("output %q: "+format, append([]any{name}, a...)...)}
	}
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return executor.Value{}, userErr(executor.ReasonMissingOutput, "the task exited 0 but did not write $RUNWAY_OUTPUTS/%s (a %s)", name, t)
	}
	if err != nil {
		return executor.Value{}, userErr(executor.ReasonBadOutput, "%v", err)
	}
	var v executor.Value
	switch {
	case t == executor.TypeDir:
		if !fi.IsDir() {
			return v, userErr(executor.ReasonBadOutput, "want a directory at $RUNWAY_OUTPUTS/%s, found a file", name)
		}
		v, err = executor.PutDir(ctx, s, sp.DataRepo, path, scratch)
	case !fi.Mode().IsRegular():
		return v, userErr(executor.ReasonBadOutput, "want a file at $RUNWAY_OUTPUTS/%s (a %s), found a directory or special file", name, t)
	case t == executor.TypeFile:
		v, err = executor.PutFile(ctx, s, sp.DataRepo, path)
	default:
		b, rerr := os.ReadFile(path)
		if rerr != nil {
			return v, userErr(executor.ReasonBadOutput, "%v", rerr)
		}
		if len(b) > 1<<20 {
			return v, userErr(executor.ReasonBadOutput, "a %s value file is larger than 1 MiB", t)
		}
		text := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		v, err = executor.Coerce(t, text)
		if err != nil {
			return v, userErr(executor.ReasonBadOutput, "%v", err)
		}
		return v, nil
	}
	if errors.Is(err, executor.ErrType) {
		return v, userErr(executor.ReasonBadOutput, "%v", err)
	}
	if err != nil {
		return v, &executor.TaskError{Kind: executor.SystemFailure, Reason: executor.ReasonStore, Message: fmt.Sprintf("uploading output %q: %v", name, err)}
	}
	return v, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if s == "" {
		return ""
	}
	return "; stderr ends with:\n" + s
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// verifyBundle checks the bundle's signed provenance under the domain's
// requirement, before anything is fetched or extracted. A refusal is
// permanent: a bundle nobody trusted signed does not become signed.
func verifyBundle(ctx context.Context, sp *Spec, s store.Store, project string) *executor.TaskError {
	pol, err := sp.Provenance.Policy()
	if err != nil {
		return &executor.TaskError{Kind: executor.SystemFailure, Reason: executor.ReasonProvenance, Permanent: true, Message: err.Error()}
	}
	if _, err := pol.VerifyBundle(ctx, s, project, sp.Task.Bundle); err != nil {
		if errors.Is(err, provenance.ErrUnverified) {
			return &executor.TaskError{Kind: executor.SystemFailure, Reason: executor.ReasonProvenance, Permanent: true, Message: err.Error() + "; nothing was extracted"}
		}
		return &executor.TaskError{Kind: executor.SystemFailure, Reason: executor.ReasonStore, Message: "checking the bundle's provenance: " + err.Error()}
	}
	return nil
}
