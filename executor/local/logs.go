package local

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/runway-ci/runway/executor"
)

// Attempt logs. Every attempt's output (the task's stdout and stderr, and
// exec-task's own messages) is kept in a log directory, normally
// $RUNWAY_HOME/logs, whether the attempt succeeded or failed:
// <dir>/<execution>/<node>/attempt-<n>.log. Each log keeps its last
// MaxAttemptLog bytes; when the directory grows past its cap, the logs of
// the oldest executions are removed first. The work directories under the
// system temp directory stay what they were: scratch space, removed when an
// execution succeeds.

// Default log caps.
const (
	// MaxAttemptLog is how much of one attempt's log is kept (its end).
	MaxAttemptLog int64 = 1 << 20
	// DefaultLogDirCap bounds the whole log directory.
	DefaultLogDirCap int64 = 256 << 20
)

// WithLogDir keeps every attempt's log under dir, pruning the oldest
// executions' logs when the directory holds more than capBytes (0 =
// DefaultLogDirCap).
func WithLogDir(dir string, capBytes int64) Option {
	return func(r *Runner) error {
		if dir == "" {
			return errors.New("local runner: empty log directory")
		}
		if capBytes <= 0 {
			capBytes = DefaultLogDirCap
		}
		r.logDir, r.logCap = dir, capBytes
		return nil
	}
}

// AttemptLogPath is where the log of one attempt is kept under dir.
func AttemptLogPath(dir, execution, node string, attempt int) string {
	return filepath.Join(dir, execution, node, "attempt-"+strconv.Itoa(attempt)+".log")
}

// keepLog copies the end of an attempt's log into the log directory and
// prunes the directory to its cap. Failing to keep a log never fails the
// attempt; it is logged.
func (r *Runner) keepLog(a executor.Attempt, src string) {
	if r.logDir == "" || executor.ValidateID(a.ExecutionID) != nil || !safeName(a.NodeID) {
		return
	}
	dst := AttemptLogPath(r.logDir, a.ExecutionID, a.NodeID, a.Number)
	if err := copyTail(src, dst, MaxAttemptLog); err != nil {
		r.log.Warn("keeping the attempt's log", "execution", a.ExecutionID, "node", a.NodeID, "attempt", a.Number, "err", err)
		return
	}
	if err := pruneLogs(r.logDir, r.logCap, a.ExecutionID); err != nil {
		r.log.Warn("pruning the log directory", "dir", r.logDir, "err", err)
	}
}

func safeName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, `/\`)
}

// copyTail writes the last max bytes of src to dst (atomically), with a
// first line saying how much was cut.
func copyTail(src, dst string, max int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".log-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if cut := fi.Size() - max; cut > 0 {
		fmt.Fprintf(tmp, "[runway: the first %d bytes of this log were cut; %d are kept]\n", cut, max)
		if _, err := in.Seek(cut, io.SeekStart); err != nil {
			tmp.Close()
			return err
		}
	}
	if _, err := io.Copy(tmp, io.LimitReader(in, max)); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// pruneLogs removes whole executions' logs, oldest first, until dir holds
// at most capBytes; keep (the execution being written) is never removed.
func pruneLogs(dir string, capBytes int64, keep string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	type execLogs struct {
		name string
		size int64
	}
	var all []execLogs
	var total int64
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		var size int64
		_ = filepath.WalkDir(filepath.Join(dir, e.Name()), func(_ string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if fi, err := d.Info(); err == nil {
					size += fi.Size()
				}
			}
			return nil
		})
		all = append(all, execLogs{e.Name(), size})
		total += size
	}
	// Execution IDs sort by creation time.
	sort.Slice(all, func(i, j int) bool { return all[i].name < all[j].name })
	for _, x := range all {
		if total <= capBytes {
			break
		}
		if x.name == keep {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, x.name)); err != nil {
			return err
		}
		total -= x.size
	}
	return nil
}

// AttemptLog is one kept log.
type AttemptLog struct {
	Node    string `json:"node"`
	Attempt int    `json:"attempt"`
	Path    string `json:"path"`
	Size    int64  `json:"size"`
}

// Logs lists the kept logs of an execution under dir, by node and attempt;
// node "" lists every node's.
func Logs(dir, execution, node string) ([]AttemptLog, error) {
	if err := executor.ValidateID(execution); err != nil {
		return nil, err
	}
	if node != "" && !safeName(node) {
		return nil, fmt.Errorf("node %q is not a node name", node)
	}
	pattern := filepath.Join(dir, execution, "*", "attempt-*.log")
	if node != "" {
		pattern = filepath.Join(dir, execution, node, "attempt-*.log")
	}
	paths, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	var out []AttemptLog
	for _, p := range paths {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "attempt-"), ".log"))
		if err != nil {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		out = append(out, AttemptLog{Node: filepath.Base(filepath.Dir(p)), Attempt: n, Path: p, Size: fi.Size()})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Node != out[j].Node {
			return out[i].Node < out[j].Node
		}
		return out[i].Attempt < out[j].Attempt
	})
	return out, nil
}

// logHint tells a reader of a failure where its log is.
func (r *Runner) logHint(a executor.Attempt, workLog string) string {
	if r.logDir == "" {
		return "log: " + workLog
	}
	return fmt.Sprintf("log: runway logs %s %s --attempt %d", a.ExecutionID, a.NodeID, a.Number)
}
