package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

func storedJSON(st *registrar.Stored) map[string]any {
	var spec any
	raw, _ := st.Entity.Canonical()
	_ = json.Unmarshal(raw, &spec)
	return map[string]any{
		"kind": st.ID.Kind, "name": st.ID.Name, "domain": st.ID.Domain, "project": st.ID.Project,
		"version": st.ID.Version, "digest": st.Digest.String(), "manifest": st.Manifest.Digest.String(),
		"entity": spec,
	}
}

func newGet(g *Global) *cobra.Command {
	var version, outputTo string
	cmd := &cobra.Command{
		Use:   "get KIND NAME",
		Short: "Show one registered entity, or an execution",
		Long: `Show a registered entity (task, workflow or launchplan): its identity,
digest and stored content. Without --version, the newest registered version
in the domain is shown.

"get execution ID" shows an execution as a tree of nodes with status, cache
hit or miss, attempts, duration, inputs and outputs: the lineage view.

"get output ID NODE NAME" prints a node's output value; a file or dir value
is fetched by its digest and verified, into --to PATH (a file without --to
goes to stdout).`,
		Example: `  runway get task prepare --domain development
  runway get workflow train --version 3f2a...c9 -o json
  runway get execution 01JD3X9K2M4Q7A
  runway get output 01JD3X9K2M4Q7A fit model --to model.json`,
		Args: cobra.RangeArgs(2, 4),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] == "output" {
				return g.getOutput(cmd.Context(), args[1:], outputTo) // output.go
			}
			if len(args) != 2 {
				return Usagef("get takes KIND NAME")
			}
			if isExecution(args[0]) {
				return g.getExecution(cmd.Context(), args[1])
			}
			kind, err := registrar.ParseKind(args[0])
			if err != nil {
				return Usagef("%v", err)
			}
			st, project, err := g.projectStore()
			if err != nil {
				return err
			}
			e, err := registrar.Get(cmd.Context(), st, registrar.ID{Project: project, Domain: g.Domain, Kind: kind, Name: args[1], Version: version})
			if err != nil {
				return err
			}
			if g.JSON() {
				return g.PrintJSON(storedJSON(e))
			}
			raw, _ := e.Entity.Canonical()
			var pretty any
			_ = json.Unmarshal(raw, &pretty)
			body, _ := json.MarshalIndent(pretty, "  ", "  ")
			fmt.Fprintf(g.IO.Out, "%s %s in %s/%s\n  version:  %s\n  digest:   %s\n  manifest: %s\n  %s\n",
				e.ID.Kind, e.ID.Name, e.ID.Project, e.ID.Domain, e.ID.Version, e.Digest, e.Manifest.Digest, body)
			return nil
		},
	}
	cmd.Flags().StringVar(&version, "version", "", "the version (default: the newest registered)")
	cmd.Flags().StringVar(&outputTo, "to", "", "get output: where to write a file or dir value (must not exist)")
	return cmd
}

func newList(g *Global) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list [KIND]",
		Short: "List registered entities, or executions, of a domain",
		Long: `List every registered entity of the project in the domain, every version,
optionally of one kind. "list executions" lists executions, newest first.`,
		Example: `  runway list --domain development
  runway list workflows -o json
  runway list executions --domain staging`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var kind registrar.Kind
			if len(args) == 1 && isExecution(args[0]) {
				return g.listExecutions(cmd.Context())
			}
			if len(args) == 1 {
				k, err := registrar.ParseKind(args[0])
				if err != nil {
					return Usagef("%v", err)
				}
				kind = k
			}
			st, project, err := g.projectStore()
			if err != nil {
				return err
			}
			ents, err := registrar.List(cmd.Context(), st, project, g.Domain, kind)
			if err != nil {
				return err
			}
			if g.JSON() {
				out := []map[string]any{}
				for _, e := range ents {
					m := storedJSON(e)
					delete(m, "entity")
					out = append(out, m)
				}
				return g.PrintJSON(out)
			}
			if len(ents) == 0 {
				fmt.Fprintf(g.IO.Out, "nothing registered for %s in %s\n", project, g.Domain)
				return nil
			}
			tw := tabwriter.NewWriter(g.IO.Out, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KIND\tNAME\tVERSION\tDIGEST")
			for _, e := range ents {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.ID.Kind, e.ID.Name, e.ID.Version, store.ShortDigest(e.Digest.String()))
			}
			return tw.Flush()
		},
	}
	return cmd
}

func isExecution(kind string) bool {
	return kind == "execution" || kind == "executions" || kind == "exec"
}

func (g *Global) getExecution(ctx context.Context, id string) error {
	st, project, err := g.projectStore()
	if err != nil {
		return err
	}
	ex, err := executor.Get(ctx, st, project, g.Domain, id)
	if err != nil {
		return err
	}
	if g.JSON() {
		return executor.RenderJSON(g.IO.Out, ex, time.Now())
	}
	return executor.RenderTree(g.IO.Out, ex, time.Now())
}

func (g *Global) listExecutions(ctx context.Context) error {
	st, project, err := g.projectStore()
	if err != nil {
		return err
	}
	list, err := executor.List(ctx, st, project, g.Domain, executor.ListOptions{})
	if err != nil {
		return err
	}
	if g.JSON() {
		return executor.RenderListJSON(g.IO.Out, list, time.Now())
	}
	return executor.RenderList(g.IO.Out, list, time.Now())
}
