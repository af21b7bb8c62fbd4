package exectask

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The setrlimit fallback must be in force when the task's program starts,
// not set on it from outside once it runs: a limit set after exec leaves
// the program's start unlimited (a large binary, an allocation in its
// first instructions), and prlimit on a running process can race its exit.
// Go cannot run code between fork and exec, so exec-task starts itself
// once more as a trampoline,
//
//	<self> exec-task --rlimit-exec AS CPU PATH ARGV...
//
// which sets its own limits (inherited across exec) and replaces itself
// with the task's program: same PID, same process group. A failure to set
// a limit or to exec is written to fd 3, a close-on-exec pipe back to
// exec-task, so it is reported as what it is and never discarded.

// rlimitExecFlag is the trampoline's first argument.
const rlimitExecFlag = "--rlimit-exec"

// errFD is the trampoline's error pipe (cmd.ExtraFiles[0]).
const errFD = 3

// Trampoline failures, the first word of what it writes to fd 3.
const (
	trampSetrlimit = "setrlimit"
	trampExec      = "exec"
)

// limitedCommand rewrites cmd to start through the trampoline so that l is
// in force when cmd's program starts. It returns the read end of the error
// pipe, which the caller reads after Wait with trampolineError.
func limitedCommand(cmd *exec.Cmd, l *RLimits) (*os.File, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the runway executable for the setrlimit trampoline: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("creating the setrlimit trampoline's error pipe: %w", err)
	}
	args := append([]string{self, "exec-task", rlimitExecFlag,
		strconv.FormatUint(l.AddressSpace, 10), strconv.FormatUint(l.CPUSeconds, 10), cmd.Path}, cmd.Args...)
	cmd.Path, cmd.Args = self, args
	cmd.ExtraFiles = append([]*os.File{w}, cmd.ExtraFiles...)
	return r, nil
}

// trampolineError reads what the trampoline reported (after the command
// ended; the parent's copy of the write end must be closed by then).
func trampolineError(r *os.File) (kind, msg string) {
	b, _ := io.ReadAll(io.LimitReader(r, 4096))
	r.Close()
	kind, msg, _ = strings.Cut(string(b), " ")
	return kind, msg
}

// rlimitExec is the trampoline: args are AS CPU PATH ARGV... It returns
// only on failure.
func rlimitExec(args []string, stderr io.Writer) int {
	report := func(kind, format string, a ...any) int {
		msg := fmt.Sprintf(format, a...)
		// fd 3 is the error pipe when exec-task started the trampoline;
		// run by hand it may be anything, so only a pipe is written to.
		var st unix.Stat_t
		if unix.Fstat(errFD, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFIFO {
			_, _ = unix.Write(errFD, []byte(kind+" "+msg))
		}
		fmt.Fprintf(stderr, "exec-task: %s\n", msg)
		return 127
	}
	if len(args) < 4 {
		return report(trampSetrlimit, "usage: exec-task %s AS-BYTES CPU-SECONDS PATH ARGV...", rlimitExecFlag)
	}
	as, err1 := strconv.ParseUint(args[0], 10, 64)
	cpu, err2 := strconv.ParseUint(args[1], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return report(trampSetrlimit, "%s: bad limits %q %q: %v", rlimitExecFlag, args[0], args[1], err)
	}
	path, argv := args[2], args[3:]
	syscall.CloseOnExec(errFD)

	// Everything execve needs is allocated before the limits are set, so
	// that nothing in between can fail for want of address space.
	argv0, err := syscall.BytePtrFromString(path)
	if err != nil {
		return report(trampExec, "starting %q: %v", path, err)
	}
	argvp, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return report(trampExec, "starting %q: %v", path, err)
	}
	envp, err := syscall.SlicePtrFromStrings(os.Environ())
	if err != nil {
		return report(trampExec, "starting %q: %v", path, err)
	}
	debug.SetGCPercent(-1)
	runtime.LockOSThread()

	if cpu > 0 {
		if err := unix.Setrlimit(unix.RLIMIT_CPU, &unix.Rlimit{Cur: cpu, Max: cpu + 1}); err != nil {
			return report(trampSetrlimit, "setting RLIMIT_CPU to %d seconds: %v", cpu, err)
		}
	}
	if as > 0 {
		if err := unix.Setrlimit(unix.RLIMIT_AS, &unix.Rlimit{Cur: as, Max: as}); err != nil {
			return report(trampSetrlimit, "setting RLIMIT_AS to %d bytes: %v", as, err)
		}
	}
	_, _, errno := syscall.RawSyscall(syscall.SYS_EXECVE,
		uintptr(unsafe.Pointer(argv0)), uintptr(unsafe.Pointer(&argvp[0])), uintptr(unsafe.Pointer(&envp[0])))
	return report(trampExec, "starting %q within address space %d bytes and %d CPU seconds: %v", path, as, cpu, errno)
}

// rlimitHint says which setrlimit fallback limit a signal most likely
// came from: SIGXCPU is the CPU limit; SIGSEGV or SIGKILL under an
// address space limit is usually a program that could not map memory.
func rlimitHint(l *RLimits, err error) string {
	var ee *exec.ExitError
	if l == nil || !errors.As(err, &ee) {
		return ""
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return ""
	}
	switch sig := ws.Signal(); {
	case sig == syscall.SIGXCPU && l.CPUSeconds > 0:
		return fmt.Sprintf(" (its CPU time limit of %d s: the setrlimit fallback limits CPU seconds, the CPU limit times the timeout)", l.CPUSeconds)
	case (sig == syscall.SIGSEGV || sig == syscall.SIGKILL) && l.AddressSpace > 0:
		return fmt.Sprintf(" (likely its memory limit: the setrlimit fallback limits address space to %d bytes, and a program that cannot map memory crashes)", l.AddressSpace)
	}
	return ""
}
