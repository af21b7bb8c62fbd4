package cli

import (
	"github.com/spf13/cobra"

	"github.com/runway-ci/runway/action"
)

func newAction(g *Global) *cobra.Command {
	return &cobra.Command{
		Use:   "action",
		Short: "Run as a GitHub Actions step (the entry point of runway's action.yml)",
		Long: `Handle the GitHub event that started the workflow, the way runway's
action.yml runs it. Everything is read from the environment the Actions
runner provides: the inputs (INPUT_PLATFORM-CONFIG, INPUT_STORE,
INPUT_DOMAIN, INPUT_RUN, INPUT_GITHUB-TOKEN, INPUT_WORKING-DIRECTORY), the
event (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH), GITHUB_REPOSITORY,
GITHUB_API_URL, GITHUB_WORKSPACE, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY.

  pull_request (opened, synchronize, reopened)
      plan, package and register the PR head into the domain; one sticky PR
      comment edited in place; the commit status "runway". PRs from forks
      are validated and planned only.
  issue_comment
      /runway plan | register | run <workflow> [k=v ...] | promote <domain> | help
  push to the default branch
      promote the merged PR's entities to the platform's on-merge domain.

Outputs: decision, version, image, bundle, entities (JSON), execution,
promoted. Validation errors become file annotations.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			getenv := g.IO.Environment
			opts := []action.Option{action.WithStdout(g.IO.Out), action.WithLogger(g.Log())}
			if getenv != nil {
				opts = append(opts, action.WithGetenv(getenv))
			}
			return action.Run(cmd.Context(), opts...)
		},
	}
}
