package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// SchedulerOptions are the flags of `runway scheduler`.
type SchedulerOptions struct {
	Poll time.Duration
	Once bool
}

func newScheduler(g *Global) *cobra.Command {
	o := &SchedulerOptions{}
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "Run the schedules of active launch plans with the local executor",
		Long: `Watch the store for active launch plans with a schedule (cron syntax) and
run each when it is due, with the local executor, until interrupted.

The last fire time of each launch plan is kept in the store, so a restarted
scheduler never runs a fire time twice. A launch plan seen for the first time
starts its clock then; after a downtime only the latest missed run is made up
(at most one catch-up run). Without --domain every domain is watched; with
--project only that project. With the Kubernetes executor, activation keeps a
CronJob instead and this command is not needed.`,
		Example: `  runway scheduler
  runway scheduler --domain production --poll 1m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var domains, projects []string
			if cmd.Flags().Changed("domain") {
				domains = []string{g.Domain}
			}
			if g.Project != "" {
				projects = []string{g.Project}
			}
			return runScheduler(cmd.Context(), g, o, projects, domains)
		},
	}
	cmd.Flags().DurationVar(&o.Poll, "poll", 30*time.Second, "how often to look for newly activated launch plans")
	cmd.Flags().BoolVar(&o.Once, "once", false, "fire what is due now, wait for those runs, and exit")
	return cmd
}

func runScheduler(ctx context.Context, g *Global, o *SchedulerOptions, projects, domains []string) error {
	plat, err := g.LoadPlatform()
	if err != nil {
		return err
	}
	if plat.Executor.Kind != platform.ExecutorLocal {
		return Usagef("runway scheduler runs the local executor; with executor.kind %q activation keeps CronJobs instead", plat.Executor.Kind)
	}
	p, err := g.project(KubernetesOptions{})
	if err != nil {
		return err
	}
	st := p.Store
	runner, done, err := p.Runner(platform.ExecutorLocal)
	if err != nil {
		return err
	}
	defer done()
	eng, err := p.Engine(runner, 0)
	if err != nil {
		return err
	}
	launch := func(ctx context.Context, id registrar.ID, _ time.Time) (string, error) {
		ex, err := eng.Run(ctx, executor.Request{Target: id}, nil)
		if ex != nil {
			return ex.ID, err
		}
		return "", err
	}
	sc, err := promote.NewScheduler(st, launch, promote.WithScope(projects, domains), promote.WithPoll(o.Poll), promote.WithSchedulerLogger(g.Log()))
	if err != nil {
		return Usagef("%v", err)
	}
	report := func(f promote.Fire) {
		if g.JSON() {
			_ = g.PrintJSON(f)
			return
		}
		what := "ran"
		if f.CatchUp {
			what = fmt.Sprintf("caught up (%d earlier fire times dropped)", f.Missed)
		}
		if f.Error != "" {
			fmt.Fprintf(g.IO.Out, "%s %s@%s for %s: failed: %s\n", f.LaunchPlan.Domain, f.LaunchPlan.Name, shortVersion(f.LaunchPlan.Version), f.Scheduled.Format(time.RFC3339), f.Error)
			return
		}
		fmt.Fprintf(g.IO.Out, "%s %s@%s for %s: %s, execution %s\n", f.LaunchPlan.Domain, f.LaunchPlan.Name, shortVersion(f.LaunchPlan.Version), f.Scheduled.Format(time.RFC3339), what, f.Execution)
	}
	if !o.Once {
		if !g.JSON() {
			fmt.Fprintf(g.IO.Out, "scheduler watching %s (poll %s); Ctrl-C stops it\n", st, o.Poll)
		}
		return sc.Run(ctx, report)
	}
	fires, _, err := sc.Due(ctx, time.Now())
	if err != nil {
		return err
	}
	ran := []promote.Fire{}
	for _, f := range fires {
		id, err := launch(ctx, f.LaunchPlan, f.Scheduled)
		f.Execution = id
		if err != nil {
			f.Error = err.Error()
		}
		if g.JSON() {
			ran = append(ran, f)
		} else {
			report(f)
		}
	}
	if g.JSON() {
		// One document for --once, [] when nothing was due.
		return g.PrintJSON(ran)
	}
	if len(fires) == 0 {
		fmt.Fprintln(g.IO.Out, "nothing due")
	}
	return nil
}
