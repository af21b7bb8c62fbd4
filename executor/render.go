package executor

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/runway-ci/runway/internal/store"
)

// NodeView is a node in JSON output.
type NodeView struct {
	ID            string         `json:"id"`
	Task          string         `json:"task"`
	Status        Status         `json:"status"`
	Cache         CacheStatus    `json:"cache"`
	Attempts      int            `json:"attempts"`
	Duration      string         `json:"duration"`
	Upstream      []string       `json:"upstream,omitempty"`
	Inputs        map[string]any `json:"inputs,omitempty"`
	Outputs       map[string]any `json:"outputs,omitempty"`
	Error         *TaskError     `json:"error,omitempty"`
	RecoveredFrom string         `json:"recoveredFrom,omitempty"`
}

// ExecutionView is an execution in JSON output (`--output json`): id,
// status and nodes, plus what else a script may want.
type ExecutionView struct {
	ID            string         `json:"id"`
	Status        Status         `json:"status"`
	Project       string         `json:"project"`
	Domain        string         `json:"domain"`
	Target        string         `json:"target"`
	Created       time.Time      `json:"created"`
	Duration      string         `json:"duration"`
	Inputs        map[string]any `json:"inputs,omitempty"`
	Outputs       map[string]any `json:"outputs,omitempty"`
	Error         string         `json:"error,omitempty"`
	RecoveredFrom string         `json:"recoveredFrom,omitempty"`
	Nodes         []NodeView     `json:"nodes"`
}

// View flattens an execution for JSON output: values are plain (scalars,
// or the digest of a file or dir), durations are Go duration strings.
func View(e *Execution, now time.Time) ExecutionView {
	v := ExecutionView{
		ID: e.ID, Status: e.Status, Project: e.Project, Domain: e.Domain, Target: e.Target.String(),
		Created: e.Created, Duration: round(e.Duration(now)).String(),
		Inputs: plain(e.Inputs), Outputs: plain(e.Outputs), Error: e.Error, RecoveredFrom: e.RecoveredFrom,
		Nodes: []NodeView{},
	}
	for _, n := range e.Nodes {
		v.Nodes = append(v.Nodes, NodeView{
			ID: n.ID, Task: n.Task.String(), Status: n.Status, Cache: n.Cache, Attempts: n.Attempts,
			Duration: round(n.Duration(now)).String(), Upstream: n.Upstream,
			Inputs: plain(n.Inputs), Outputs: plain(n.Outputs), Error: n.Failure, RecoveredFrom: n.RecoveredFrom,
		})
	}
	return v
}

func plain(vs Values) map[string]any {
	if len(vs) == 0 {
		return nil
	}
	out := map[string]any{}
	for k, v := range vs {
		out[k] = v.Plain()
	}
	return out
}

func round(d time.Duration) time.Duration {
	if d > time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// RenderJSON writes one execution as indented JSON.
func RenderJSON(w io.Writer, e *Execution, now time.Time) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(View(e, now))
}

// RenderListJSON writes executions as a JSON array.
func RenderListJSON(w io.Writer, es []*Execution, now time.Time) error {
	vs := make([]ExecutionView, 0, len(es))
	for _, e := range es {
		vs = append(vs, View(e, now))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(vs)
}

// RenderTree writes the lineage view of `runway get execution`: the
// execution, then its nodes as a tree along their first upstream edge
// (a node with several upstreams names the others), each with status,
// cache, attempts, duration, inputs, outputs and the whole error (the
// execution's own error line is its first line: the node says the rest).
func RenderTree(w io.Writer, e *Execution, now time.Time) error {
	var b strings.Builder
	fmt.Fprintf(&b, "execution %s  %s  %s  %s\n", e.ID, e.Status, e.Target, round(e.Duration(now)))
	if e.RecoveredFrom != "" {
		fmt.Fprintf(&b, "recovered from %s\n", e.RecoveredFrom)
	}
	if len(e.Inputs) > 0 {
		fmt.Fprintf(&b, "inputs:  %s\n", formatValues(e.Inputs))
	}
	children := map[string][]*NodeRecord{}
	var roots []*NodeRecord
	for _, n := range e.Nodes {
		if len(n.Upstream) == 0 {
			roots = append(roots, n)
		} else {
			children[n.Upstream[0]] = append(children[n.Upstream[0]], n)
		}
	}
	var walk func(n *NodeRecord, prefix string, last bool)
	walk = func(n *NodeRecord, prefix string, last bool) {
		branch, next := "├─ ", "│  "
		if last {
			branch, next = "└─ ", "   "
		}
		fmt.Fprintf(&b, "%s%s%s  %s  cache %s  attempts %d  %s", prefix, branch, n.ID, n.Status, n.Cache, n.Attempts, round(n.Duration(now)))
		if len(n.Upstream) > 1 {
			fmt.Fprintf(&b, "  (also after %s)", strings.Join(n.Upstream[1:], ", "))
		}
		if n.RecoveredFrom != "" {
			fmt.Fprintf(&b, "  (reused from %s)", n.RecoveredFrom)
		}
		b.WriteString("\n")
		if len(n.Inputs) > 0 {
			fmt.Fprintf(&b, "%s%s  inputs:  %s\n", prefix, next, formatValues(n.Inputs))
		}
		if len(n.Outputs) > 0 {
			fmt.Fprintf(&b, "%s%s  outputs: %s\n", prefix, next, formatValues(n.Outputs))
		}
		if n.Failure != nil {
			// The whole message: a failure's last lines of stderr follow
			// its first line, indented under it.
			msg := strings.TrimRight(n.Failure.Error(), "\n")
			first, rest, _ := strings.Cut(msg, "\n")
			fmt.Fprintf(&b, "%s%s  error: %s\n", prefix, next, first)
			for _, l := range strings.Split(rest, "\n") {
				if rest != "" {
					fmt.Fprintf(&b, "%s%s    | %s\n", prefix, next, l)
				}
			}
		}
		kids := children[n.ID]
		for i, k := range kids {
			walk(k, prefix+next, i == len(kids)-1)
		}
	}
	for i, r := range roots {
		walk(r, "", i == len(roots)-1)
	}
	if len(e.Outputs) > 0 {
		fmt.Fprintf(&b, "outputs: %s\n", formatValues(e.Outputs))
	}
	if e.Error != "" {
		fmt.Fprintf(&b, "error:   %s\n", firstLine(e.Error))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// RenderList writes one line per execution.
func RenderList(w io.Writer, es []*Execution, now time.Time) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%-14s  %-9s  %-9s  %s\n", "ID", "STATUS", "DURATION", "TARGET")
	for _, e := range es {
		fmt.Fprintf(&b, "%-14s  %-9s  %-9s  %s\n", e.ID, e.Status, round(e.Duration(now)), e.Target)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func formatValues(vs Values) string {
	keys := make([]string, 0, len(vs))
	for k := range vs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := vs[k]
		text := v.Text()
		if v.Type.IsBlob() {
			text = store.ShortDigest(v.Digest)
		} else if v.Type == TypeString {
			text = fmt.Sprintf("%q", text)
		}
		parts[i] = k + "=" + text
	}
	return strings.Join(parts, " ")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// Progress renders an execution while it runs. On a terminal it redraws
// one line per node in place; otherwise it writes a plain log line per
// event, suitable for CI logs and pipes. It is an Observer.
type Progress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	now   func() time.Time
	drawn int
}

// NewProgress returns a progress renderer writing to w; isTTY selects the
// live view.
func NewProgress(w io.Writer, isTTY bool) *Progress {
	return &Progress{w: w, tty: isTTY, now: time.Now}
}

// Observe implements Observer.
func (p *Progress) Observe(ev Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		p.redraw(ev)
		return
	}
	p.logLine(ev)
}

func (p *Progress) logLine(ev Event) {
	ts := p.now().UTC().Format("15:04:05")
	e, n := ev.Execution, ev.Node
	switch ev.Type {
	case EventExecutionStarted:
		fmt.Fprintf(p.w, "%s execution %s started: %s (%d nodes)\n", ts, e.ID, e.Target, len(e.Nodes))
	case EventNodeAttempt:
		if n.Attempts > 0 {
			fmt.Fprintf(p.w, "%s %s: attempt %d running\n", ts, n.ID, n.Attempts)
		}
	case EventNodeRetrying:
		fmt.Fprintf(p.w, "%s %s: attempt %d failed, retrying: %s\n", ts, n.ID, n.Attempts, firstLine(n.Failure.Error()))
	case EventNodeFinished:
		line := fmt.Sprintf("%s %s: %s (cache %s, %d attempts, %s)", ts, n.ID, n.Status, n.Cache, n.Attempts, round(n.Duration(p.now())))
		if len(n.Outputs) > 0 {
			line += " " + formatValues(n.Outputs)
		}
		if n.Failure != nil {
			line += ": " + firstLine(n.Failure.Error())
		}
		fmt.Fprintln(p.w, line)
	case EventExecutionFinished:
		fmt.Fprintf(p.w, "%s execution %s %s in %s", ts, e.ID, e.Status, round(e.Duration(p.now())))
		if len(e.Outputs) > 0 {
			fmt.Fprintf(p.w, ": %s", formatValues(e.Outputs))
		}
		if e.Error != "" {
			fmt.Fprintf(p.w, ": %s", firstLine(e.Error))
		}
		fmt.Fprintln(p.w)
	}
}

var statusMark = map[Status]string{
	StatusQueued: "·", StatusRunning: "▶", StatusSucceeded: "✓", StatusFailed: "✗", StatusAborted: "■", StatusSkipped: "-",
}

func (p *Progress) redraw(ev Event) {
	e := ev.Execution
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	now := p.now()
	lines := []string{fmt.Sprintf("%s %s  %s  %s", statusMark[e.Status], e.ID, e.Target, round(e.Duration(now)))}
	for _, n := range e.Nodes {
		l := fmt.Sprintf("  %s %-16s %-9s", statusMark[n.Status], n.ID, n.Status)
		if n.Status != StatusQueued {
			l += fmt.Sprintf("  cache %-8s attempt %d  %s", n.Cache, n.Attempts, round(n.Duration(now)))
		}
		if n.Failure != nil {
			l += "  " + firstLine(n.Failure.Error())
		}
		lines = append(lines, l)
	}
	if ev.Type == EventExecutionFinished {
		if len(e.Outputs) > 0 {
			lines = append(lines, "outputs: "+formatValues(e.Outputs))
		}
		if e.Error != "" {
			lines = append(lines, "error: "+firstLine(e.Error))
		}
	}
	for _, l := range lines {
		b.WriteString("\x1b[2K" + l + "\n")
	}
	p.drawn = len(lines)
	if ev.Type == EventExecutionFinished {
		p.drawn = 0
	}
	_, _ = io.WriteString(p.w, b.String()) // progress on a terminal: a failed redraw is not the run's failure
}
