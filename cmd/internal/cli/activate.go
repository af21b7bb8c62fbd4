package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// launchPlanArg accepts "NAME" or "launchplan/NAME".
func launchPlanArg(arg string) (string, error) {
	if strings.Contains(arg, "/") {
		n, err := promote.ParseEntityName(arg)
		if err != nil {
			return "", Usagef("%v", err)
		}
		if n.Kind != registrar.KindLaunchPlan {
			return "", Usagef("%s is a %s; only launch plans are activated", arg, n.Kind)
		}
		return n.Name, nil
	}
	return arg, nil
}

func newActivate(g *Global) *cobra.Command {
	var version, actor, reason string
	cmd := &cobra.Command{
		Use:   "activate [launchplan/]NAME",
		Short: "Make a version of a launch plan the active one in a domain",
		Long: `Move the launch plan's active tag in --domain to --version (registered
or promoted there) and record it; the version that was active is recorded as
deactivated. Activating an older version is recorded as a rollback. Active
launch plans with a schedule are run by 'runway scheduler' (or, with the
Kubernetes executor, by a CronJob).`,
		Example: `  runway activate launchplan/nightly --version 3f2a...c9 --domain production --actor alice`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := launchPlanArg(args[0])
			if err != nil {
				return err
			}
			if version == "" {
				return Usagef("--version is required")
			}
			p, err := g.promoter()
			if err != nil {
				return err
			}
			project, err := g.ProjectName()
			if err != nil {
				return err
			}
			res, err := p.Activate(cmd.Context(), registrar.ID{Project: project, Domain: g.Domain, Name: name, Version: version}, actor, reason)
			if err != nil {
				return err
			}
			return printActivation(g, res)
		},
	}
	cmd.Flags().StringVar(&version, "version", "", "the version to activate")
	cmd.Flags().StringVar(&actor, "actor", "", "who activates, for the record")
	cmd.Flags().StringVar(&reason, "reason", "", "free text kept in the record")
	return cmd
}

func newDeactivate(g *Global) *cobra.Command {
	var actor, reason string
	cmd := &cobra.Command{
		Use:   "deactivate [launchplan/]NAME",
		Short: "Remove a launch plan's active version in a domain (its schedule stops)",
		Long: `Remove the launch plan's active tag in --domain and record the version that
was active as deactivated. A launch plan that is not active is left alone.`,
		Example: `  runway deactivate nightly --domain production --actor alice --reason "paused during migration"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := launchPlanArg(args[0])
			if err != nil {
				return err
			}
			p, err := g.promoter()
			if err != nil {
				return err
			}
			project, err := g.ProjectName()
			if err != nil {
				return err
			}
			res, err := p.Deactivate(cmd.Context(), project, g.Domain, name, actor, reason)
			if err != nil {
				return err
			}
			return printActivation(g, res)
		},
	}
	cmd.Flags().StringVar(&actor, "actor", "", "who deactivates, for the record")
	cmd.Flags().StringVar(&reason, "reason", "", "free text kept in the record")
	return cmd
}

func printActivation(g *Global, r *promote.ActivationResult) error {
	if g.JSON() {
		return g.PrintJSON(r)
	}
	switch r.Status {
	case promote.ActivationActivated:
		fmt.Fprintf(g.IO.Out, "launch plan %s@%s is active in %s", r.ID.Name, r.ID.Version, r.ID.Domain)
		if r.Previous != "" {
			fmt.Fprintf(g.IO.Out, " (was %s)", r.Previous)
		}
		if r.Rollback {
			fmt.Fprint(g.IO.Out, ", a rollback")
		}
		fmt.Fprintln(g.IO.Out)
	case promote.ActivationDeactivated:
		fmt.Fprintf(g.IO.Out, "launch plan %s is no longer active in %s (was %s)\n", r.ID.Name, r.ID.Domain, r.Previous)
	default:
		fmt.Fprintf(g.IO.Out, "launch plan %s: nothing to change in %s\n", r.ID.Name, r.ID.Domain)
	}
	return nil
}
