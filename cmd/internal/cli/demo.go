package cli

import (
	"fmt"
	"os"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/spf13/cobra"

	"github.com/runway-ci/runway"
	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/registrar"
)

// DemoOptions are the flags of `runway demo`.
type DemoOptions struct {
	Dir  string
	Keep bool
}

func newDemo(g *Global) *cobra.Command {
	o := &DemoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the sample pipeline end to end on the embedded defaults",
		Long: `Copy the sample pipeline (testdata/sample: synthetic house prices, a
least-squares model and its evaluation, Python standard library only) into a
new git repository, commit it, register it into the development domain and
run its nightly launch plan (the train workflow) with the local executor.
Nothing is needed but python3.

Run it twice: the second registration reports every entity unchanged, and
the second run is served entirely from the cache.`,
		Example: `  runway demo
  runway demo --dir /tmp/house-prices --store file:///tmp/runway-store`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := o.Dir
			if dir == "" {
				d, err := os.MkdirTemp("", "runway-demo-")
				if err != nil {
					return err
				}
				dir = d
			}
			commit, err := MakeSampleRepo(dir)
			if err != nil {
				return err
			}
			if !g.JSON() {
				fmt.Fprintf(g.IO.Out, "sample pipeline committed in %s (commit %s)\n", dir, commit[:12])
			}
			g.Repo = dir
			if err := runDemo(cmd, g); err != nil {
				return err
			}
			if !g.JSON() {
				store := ""
				if g.Store != "" {
					store = " --store " + g.Store
				}
				fmt.Fprintf(g.IO.Out, "\nsee the DAG, the outputs and the promotion history in a browser:\n  runway ui%s   then open http://%s/ui/\n", store, DefaultUIAddr)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Dir, "dir", "", "where to create the sample repository (default: a new temporary directory)")
	return cmd
}

// MakeSampleRepo writes the sample pipeline into dir (created if needed; an
// existing sample repository there is reused) and commits it with go-git.
// It returns the commit SHA.
func MakeSampleRepo(dir string) (string, error) {
	if repo, err := git.PlainOpen(dir); err == nil {
		if head, err := repo.Head(); err == nil {
			return head.Hash().String(), nil
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	err := runway.WriteSample(dir)
	if err != nil {
		return "", fmt.Errorf("copying the sample to %s: %w", dir, err)
	}
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		return "", fmt.Errorf("creating a git repository in %s: %w", dir, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", err
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return "", fmt.Errorf("adding the sample: %w", err)
	}
	// A fixed author and time make the commit, and so the version, the same
	// on every run and machine: a second demo finds everything registered.
	sig := &object.Signature{Name: "runway demo", Email: "demo@runway.invalid", When: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	h, err := wt.Commit("house-prices sample pipeline", &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		return "", fmt.Errorf("committing the sample: %w", err)
	}
	return h.String(), nil
}

// runDemo registers the sample repository at g.Repo and runs its train
// workflow with the nightly launch plan's inputs.
func runDemo(cmd *cobra.Command, g *Global) error {
	if err := runRegister(cmd, g, &RegisterOptions{}); err != nil {
		return err
	}
	p, err := g.project(KubernetesOptions{})
	if err != nil {
		return err
	}
	if !g.JSON() {
		fmt.Fprintln(g.IO.Out, "\nrunning launch plan nightly (workflow train):")
	}
	_, err = g.runEntity(cmd.Context(), p, flow.RunRequest{
		Wait:   true,
		Target: registrar.ID{Project: "house-prices", Domain: g.Domain, Kind: registrar.KindLaunchPlan, Name: "nightly"},
	})
	return err
}
