package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runway-ci/runway/flow"
)

// GCOptions are `runway gc`'s.
type GCOptions struct {
	DryRun bool
	// Remove names a PR domain to remove now (as closing its PR does).
	Remove string
}

func newGC(g *Global) *cobra.Command {
	o := &GCOptions{}
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Remove expired pull-request domains and the code only they used",
		Long: `With per-PR domains (platform prDomains), every pull request registers
into its own domain, pr-<number>. Closing the PR removes it; 'runway gc'
removes the ones whose last registration is older than prDomains.ttl
(default 7 days), then the image and bundle tags that only removed domains
used. Removal takes tags away (entities, executions, cached results,
schedules) and deactivates launch plans; anything another domain or
production uses is kept. Each removal leaves a record in <project>/removal,
tagged with the domain, that also lists what the registry refused to delete.

--remove DOMAIN removes one PR domain now. --dry-run says what would go and
writes nothing.`,
		Example: `  runway gc --dry-run
  runway gc --remove pr-12
  runway gc -o json | jq .codeRemoved`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			proj, err := g.project(KubernetesOptions{})
			if err != nil {
				return err
			}
			name, err := g.ProjectName()
			if err != nil {
				return err
			}
			if o.Remove != "" {
				rep, err := flow.RemoveDomain(cmd.Context(), proj, flow.RemoveRequest{Project: name, Domain: o.Remove, Reason: "runway gc --remove", DryRun: o.DryRun})
				if err != nil {
					return usageIfNotPR(err)
				}
				if g.JSON() {
					return g.PrintJSON(rep)
				}
				writeRemoval(g, rep)
				return nil
			}
			rep, err := flow.GC(cmd.Context(), proj, flow.GCRequest{Project: name, DryRun: o.DryRun})
			if err != nil {
				return err
			}
			if g.JSON() {
				return g.PrintJSON(rep)
			}
			for _, r := range rep.Removed {
				writeRemoval(g, r)
			}
			for _, k := range rep.Kept {
				fmt.Fprintf(g.IO.Out, "kept    %s (last registration %s, expires %s)\n", k.Domain, k.LastRegistry.Format("2006-01-02 15:04"), k.Expires.Format("2006-01-02 15:04"))
			}
			verb := "removed"
			if o.DryRun {
				verb = "would remove"
			}
			for _, c := range rep.CodeRemoved {
				fmt.Fprintf(g.IO.Out, "%s %s\n", verb, c)
			}
			for _, c := range rep.CodeKept {
				fmt.Fprintf(g.IO.Out, "kept    %s (another domain uses it)\n", c)
			}
			for _, f := range rep.Refused {
				fmt.Fprintf(g.IO.Out, "refused %s: %s\n", f.Ref, f.Error)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "say what would be removed; write nothing")
	cmd.Flags().StringVar(&o.Remove, "remove", "", "remove this pull-request domain now (pr-<number>)")
	return cmd
}

func writeRemoval(g *Global, r *flow.RemovalReport) {
	verb := "removed"
	if r.DryRun {
		verb = "would remove"
	}
	fmt.Fprintf(g.IO.Out, "%s domain %s (%s): %d tag(s)", verb, r.Domain, r.Reason, len(r.Removed))
	if len(r.Deactivated) > 0 {
		fmt.Fprintf(g.IO.Out, ", deactivated %v", r.Deactivated)
	}
	fmt.Fprintln(g.IO.Out)
	for _, f := range r.Refused {
		fmt.Fprintf(g.IO.Out, "  refused %s: %s (kept in the removal record)\n", f.Ref, f.Error)
	}
}

func usageIfNotPR(err error) error {
	if errors.Is(err, flow.ErrNotPRDomain) {
		return usageError{err}
	}
	return err
}
