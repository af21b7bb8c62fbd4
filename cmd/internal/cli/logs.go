package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/executor/local"
)

func newLogs(g *Global) *cobra.Command {
	var attempt int
	cmd := &cobra.Command{
		Use:   "logs EXECUTION [NODE]",
		Short: "Print the logs of an execution's task attempts",
		Long: `Print what a task attempt wrote (its stdout and stderr, and exec-task's own
messages). The local executor keeps the log of every attempt, succeeded or
failed, under $RUNWAY_HOME/logs (else ~/.runway/logs): the last 1 MiB of
each, and 256 MiB in all, dropping the oldest executions' logs first.

Without NODE, every node's logs are printed, each under a header. With NODE,
its last attempt's log, or attempt N with --attempt N. With -o json, the
list of logs with their paths and sizes (and contents).

Tasks run by the Kubernetes executor log to their pods: use kubectl logs
with the labels runway puts on them.`,
		Example: `  runway logs 01m8hwn49rv8qj
  runway logs 01m8hwn49rv8qj fit
  runway logs 01m8hwn49rv8qj fit --attempt 1 -o json`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, node := args[0], ""
			if len(args) == 2 {
				node = args[1]
			}
			if err := executor.ValidateID(id); err != nil {
				return Usagef("%v", err)
			}
			if attempt < 0 || (attempt > 0 && node == "") {
				return Usagef("--attempt N goes with a NODE, and N counts from 1")
			}
			p, project, err := g.openProject()
			if err != nil {
				return err
			}
			ex, err := executor.Get(cmd.Context(), p.Store, project, g.Domain, id)
			if err != nil {
				return err
			}
			if node != "" && ex.Node(node) == nil {
				return Usagef("execution %s has no node %q", id, node)
			}
			logs, err := local.Logs(p.LogDir, id, node)
			if err != nil {
				return err
			}
			if attempt > 0 || node != "" {
				logs = pickAttempt(logs, attempt)
			}
			if len(logs) == 0 {
				what := "execution " + id
				if node != "" {
					what += " node " + node
				}
				if attempt > 0 {
					what += " attempt " + strconv.Itoa(attempt)
				}
				return fmt.Errorf("no log kept for %s in %s (a cache hit runs nothing; the Kubernetes executor logs to its pods)", what, p.LogDir)
			}
			if g.JSON() {
				type entry struct {
					local.AttemptLog
					Log string `json:"log"`
				}
				var out []entry
				for _, l := range logs {
					b, err := os.ReadFile(l.Path)
					if err != nil {
						return err
					}
					out = append(out, entry{l, string(b)})
				}
				return g.PrintJSON(out)
			}
			for i, l := range logs {
				if len(logs) > 1 || node == "" {
					if i > 0 {
						fmt.Fprintln(g.IO.Out)
					}
					fmt.Fprintf(g.IO.Out, "==> %s attempt %d (%s) <==\n", l.Node, l.Attempt, l.Path)
				}
				f, err := os.Open(l.Path)
				if err != nil {
					return err
				}
				_, err = io.Copy(g.IO.Out, f)
				f.Close()
				if err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&attempt, "attempt", 0, "the attempt to show (default: the node's last)")
	return cmd
}

// pickAttempt keeps attempt n of the (one node's) logs, or the last one
// when n is 0.
func pickAttempt(logs []local.AttemptLog, n int) []local.AttemptLog {
	if len(logs) == 0 {
		return nil
	}
	if n == 0 {
		return logs[len(logs)-1:]
	}
	for _, l := range logs {
		if l.Attempt == n {
			return []local.AttemptLog{l}
		}
	}
	return nil
}
