package cli

import (
	"github.com/spf13/cobra"

	"github.com/runway-ci/runway/cmd/internal/planview"
	"github.com/runway-ci/runway/internal/plan"
	"github.com/runway-ci/runway/internal/spec"
)

func newPlan(g *Global) *cobra.Command {
	var base, head string
	against := &PlanAgainstOptions{Evidence: &PromoteOptions{}}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Decide what a change needs: a new image, a new code bundle, or nothing",
		Long: `Diff merge-base(base, head)..head (GitHub's three-dot PR diff) and
classify every changed path:

  image   a file matching image.dependencies changed and no image with the
          new dependency hash exists: the image is rebuilt
  bundle  code that reaches the bundle changed: the existing image is reused
          and the code ships as a small bundle ("fast registration")
  none    nothing that reaches an entity changed (docs, CI files, excluded
          paths): the new SHA still registers, reusing image and bundle

The reasons name each triggering path and the glob or rule it matched. The
dependency hash covers image.base as written, image.install, image.env and
the dependency files' contents; if an image with that hash already exists
(another branch with the same lockfile), nothing is rebuilt.

plan builds nothing and writes nothing; the bundle fields are filled when
the head tree's bundle was already pushed.

--against DOMAIN (production) shows instead what that domain would get if
the head were merged and promoted, entity by entity, against the domain's
active versions (a launch plan's active tag; the workflow and tasks an
active launch plan runs; else the newest version): tasks, workflows and
launch plans added, changed (field by field) and removed; tasks whose cache
keys change; schedule changes with the next three fire times; requests and
limits over the domain's ceilings and quota; and the promotion policy that
applies, with the evidence still missing (--pr-author, --approved-by,
--check and --actor add what you know). It writes nothing either.`,
		Example: `  runway plan --repo . --base origin/main --head HEAD
  runway plan --base main --head feature -o json | jq .decision
  runway plan --against production --base origin/main --pr-author alice --approved-by bob`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if against.Domain != "" {
				against.Base, against.Head = base, head
				return runPlanAgainst(cmd.Context(), g, against)
			}
			if base == "" {
				return Usagef("--base is required (the PR's target branch or commit)")
			}
			opts := []plan.Option{plan.WithParser(func(b []byte) (*spec.Spec, error) { return spec.Parse(spec.FileName, b) })}
			proj, err := g.project(KubernetesOptions{})
			if err != nil {
				return err
			}
			opts = append(opts, plan.WithStore(proj.Store))
			p, err := plan.Plan(cmd.Context(), g.Repo, base, head, opts...)
			if err != nil {
				return err
			}
			return planview.Write(g.IO.Out, p, g.JSON())
		},
	}
	cmd.Flags().StringVar(&base, "base", "", "the PR's base revision (branch, tag or SHA)")
	cmd.Flags().StringVar(&head, "head", "HEAD", "the PR's head revision")
	f := cmd.Flags()
	f.StringVar(&against.Domain, "against", "", "show what this domain (production) would get if the head were merged and promoted")
	f.StringVar(&against.Evidence.Actor, "actor", "", "with --against: who would promote")
	f.StringVar(&against.Evidence.PRAuthor, "pr-author", "", "with --against: the pull request author (approvals by the author do not count)")
	f.StringSliceVar(&against.Evidence.Approvals, "approved-by", nil, "with --against: logins that approved the PR (repeatable)")
	f.StringSliceVar(&against.Evidence.Checks, "check", nil, "with --against: a check result NAME=CONCLUSION (repeatable)")
	return cmd
}
