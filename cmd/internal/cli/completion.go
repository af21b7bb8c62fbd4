package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/registrar"
)

// addCompletions teaches shell completion (runway completion bash|zsh|fish)
// the names in the store: entity names after `get KIND`, KIND/NAME for
// history, execution IDs for `get execution`, get output, logs and
// recover. Completion reads the store the command would (--store,
// --platform, --repo, --domain given so far) and stays silent when it
// cannot.
func addCompletions(g *Global, root *cobra.Command) {
	for _, c := range root.Commands() {
		switch c.Name() {
		case "get":
			c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
				switch {
				case len(args) == 0:
					return []string{"task", "workflow", "launchplan", "execution", "output"}, cobra.ShellCompDirectiveNoFileComp
				case len(args) == 1 && (isExecution(args[0]) || args[0] == "output"):
					return g.executionIDs(cmd, toComplete), cobra.ShellCompDirectiveNoFileComp
				case len(args) == 1:
					kind, err := registrar.ParseKind(args[0])
					if err != nil {
						return nil, cobra.ShellCompDirectiveNoFileComp
					}
					return g.entityNames(cmd, kind, ""), cobra.ShellCompDirectiveNoFileComp
				case len(args) == 2 && args[0] == "output":
					return g.nodeIDs(cmd, args[1]), cobra.ShellCompDirectiveNoFileComp
				}
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
		case "logs":
			c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
				switch len(args) {
				case 0:
					return g.executionIDs(cmd, toComplete), cobra.ShellCompDirectiveNoFileComp
				case 1:
					return g.nodeIDs(cmd, args[0]), cobra.ShellCompDirectiveNoFileComp
				}
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
		case "recover":
			c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
				if len(args) == 0 {
					return g.executionIDs(cmd, toComplete), cobra.ShellCompDirectiveNoFileComp
				}
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
		case "history", "run":
			name := c.Name()
			c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
				if name == "run" {
					if len(args) == 0 {
						return []string{"task", "workflow", "launchplan"}, cobra.ShellCompDirectiveNoFileComp
					}
					if kind, err := registrar.ParseKind(args[0]); err == nil && len(args) == 1 {
						return g.entityNames(cmd, kind, ""), cobra.ShellCompDirectiveNoFileComp
					}
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				var out []string
				for _, k := range []registrar.Kind{registrar.KindTask, registrar.KindWorkflow, registrar.KindLaunchPlan} {
					out = append(out, g.entityNames(cmd, k, string(k)+"/")...)
				}
				return out, cobra.ShellCompDirectiveNoFileComp
			}
		}
	}
}

// entityNames lists the names of kind registered in the domain, each
// prefixed with prefix, once.
func (g *Global) entityNames(cmd *cobra.Command, kind registrar.Kind, prefix string) []string {
	st, project, err := g.projectStore()
	if err != nil {
		return nil
	}
	ents, err := registrar.List(cmd.Context(), st, project, g.Domain, kind)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, e := range ents {
		if !seen[e.ID.Name] {
			seen[e.ID.Name] = true
			out = append(out, prefix+e.ID.Name)
		}
	}
	return out
}

// executionIDs lists the domain's execution IDs starting with prefix, with
// what each ran as the description.
func (g *Global) executionIDs(cmd *cobra.Command, prefix string) []string {
	st, project, err := g.projectStore()
	if err != nil {
		return nil
	}
	list, err := executor.List(cmd.Context(), st, project, g.Domain, executor.ListOptions{})
	if err != nil {
		return nil
	}
	var out []string
	for _, ex := range list {
		if strings.HasPrefix(ex.ID, prefix) {
			out = append(out, ex.ID+"\t"+string(ex.Status)+" "+string(ex.Target.Kind)+"/"+ex.Target.Name)
		}
	}
	return out
}

// nodeIDs lists the nodes of an execution.
func (g *Global) nodeIDs(cmd *cobra.Command, id string) []string {
	st, project, err := g.projectStore()
	if err != nil {
		return nil
	}
	ex, err := executor.Get(cmd.Context(), st, project, g.Domain, id)
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range ex.Nodes {
		out = append(out, n.ID)
	}
	return out
}
