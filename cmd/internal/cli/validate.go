package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/registrar"
)

func newValidate(g *Global) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check runway.yaml without writing anything",
		Long: `Parse runway.yaml strictly and run every compile-time check: names,
references (including pinned cross-project ones, looked up in the store),
an acyclic workflow graph, bindings against task interfaces, resources
against the target domain's ceilings, cron schedules and durations.

Every problem is reported at once, each with its file, line, entity and field.
Exit code 3 means the spec is invalid.`,
		Example: `  runway validate --repo ./my-pipeline
  runway validate --platform platform.yaml --domain production -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.project(KubernetesOptions{})
			if err != nil {
				return err
			}
			plat, st := p.Platform, p.Store
			// Strict-decoding and semantic problems, in one pass.
			s, err := registrar.ValidateRepo(cmd.Context(), g.Repo, registrar.CompileOptions{Platform: plat, Domain: g.Domain, Store: st})
			if g.JSON() {
				out := map[string]any{"valid": err == nil, "errors": []any{}}
				if es := (spec.Errors)(nil); errors.As(err, &es) {
					list := []map[string]any{}
					for _, e := range es {
						list = append(list, map[string]any{"file": e.File, "line": e.Line, "entity": e.Entity, "field": e.Field, "message": e.Msg})
					}
					out["errors"] = list
				} else if err != nil {
					return err
				}
				if perr := g.PrintJSON(out); perr != nil {
					return perr
				}
				if err != nil {
					return silentError{err}
				}
				return nil
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(g.IO.Out, "%s: valid (project %s, %d tasks, %d workflows, %d launch plans, checked against domain %s)\n",
				s.File, s.Project, len(s.Tasks), len(s.Workflows), len(s.LaunchPlans), g.Domain)
			return nil
		},
	}
}
