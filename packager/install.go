package packager

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
)

// How much of the install command's output an InstallError keeps: the last
// installTailLines lines, at most installTailBytes.
const (
	installTailBytes = 4 << 10
	installTailLines = 40
)

// InstallError reports a failed image.install command.
type InstallError struct {
	Command  []string
	Dir      string
	ExitCode int    // -1 when the command did not start or was killed by a signal
	Tail     string // the last lines of stdout and stderr, interleaved (at most 40 lines, 4 KiB)
	Err      error
}

func (e *InstallError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "running install command %q in %s: ", e.Command, e.Dir)
	if e.ExitCode >= 0 {
		fmt.Fprintf(&b, "exit code %d", e.ExitCode)
	} else {
		b.WriteString(e.Err.Error())
	}
	if tail := strings.TrimRight(e.Tail, "\n"); tail != "" {
		b.WriteString("\noutput (last lines):\n")
		b.WriteString(tail)
	}
	return b.String()
}

func (e *InstallError) Unwrap() error { return e.Err }

// runInstall runs argv in dir with RUNWAY_LAYER set to layerDir. The command
// gets the host environment, then the image env (values expanded against
// the host environment, so PATH=/opt/venv/bin:$PATH works as on the
// command line), then RUNWAY_LAYER. There is no shell unless argv names
// one.
func runInstall(ctx context.Context, argv []string, dir, layerDir string, imageEnv map[string]string, out io.Writer) error {
	tail := &tailBuffer{max: installTailBytes}
	var w io.Writer = tail
	if out != nil {
		w = io.MultiWriter(tail, out)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = installEnv(os.Environ(), imageEnv, layerDir)
	cmd.Stdin = nil
	cmd.Stdout = w
	cmd.Stderr = w
	err := cmd.Run()
	if err == nil {
		return nil
	}
	ierr := &InstallError{Command: argv, Dir: dir, ExitCode: -1, Tail: tail.String(), Err: err}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && exitErr.ExitCode() >= 0 {
		ierr.ExitCode = exitErr.ExitCode()
	}
	if ctx.Err() != nil {
		ierr.Err = fmt.Errorf("%w (%w)", err, ctx.Err())
		ierr.ExitCode = -1
	}
	return ierr
}

func installEnv(host []string, imageEnv map[string]string, layerDir string) []string {
	lookup := map[string]string{}
	for _, kv := range host {
		if k, v, ok := strings.Cut(kv, "="); ok {
			lookup[k] = v
		}
	}
	keys := make([]string, 0, len(imageEnv))
	for k := range imageEnv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	env := append([]string(nil), host...)
	for _, k := range keys {
		env = append(env, k+"="+expand(imageEnv[k], lookup))
	}
	// Later entries win in os/exec (it removes earlier duplicates).
	return append(env, "RUNWAY_LAYER="+layerDir)
}

// tailBuffer keeps the last max bytes written to it. It is safe for the
// concurrent writes os/exec makes when stdout and stderr share it.
type tailBuffer struct {
	mu        sync.Mutex
	max       int
	buf       []byte
	truncated bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.truncated = true
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(t.buf)
	if t.truncated {
		// Cut at a line start so the tail never begins mid-line.
		if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
			s = s[i+1:]
		}
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) > installTailLines {
		s = strings.Join(lines[len(lines)-installTailLines:], "")
	}
	return s
}

// makeWritable gives the owner write and search permission on every
// directory under root so os.RemoveAll can delete what an installer left
// read-only (Go's module cache, some wheels).
func makeWritable(root string) {
	_ = walkDirs(root, func(p string, mode os.FileMode) {
		if mode&0o700 != 0o700 {
			_ = os.Chmod(p, mode|0o700)
		}
	})
}

func walkDirs(root string, fn func(string, os.FileMode)) error {
	info, err := os.Lstat(root)
	if err != nil || !info.IsDir() {
		return err
	}
	fn(root, info.Mode().Perm())
	entries, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			_ = walkDirs(root+string(os.PathSeparator)+e.Name(), fn)
		}
	}
	return nil
}

// removeStaging deletes a staging directory, including read-only parts.
func removeStaging(dir string) error {
	makeWritable(dir)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing staging directory %s: %w", dir, err)
	}
	return nil
}
