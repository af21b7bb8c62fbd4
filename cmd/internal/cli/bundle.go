package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runway-ci/runway/fastreg"
	"github.com/runway-ci/runway/flow"
)

func newBundle(g *Global) *cobra.Command {
	var out, rev, maxSize string
	var push bool
	cmd := &cobra.Command{
		Use:   "bundle",
		Short: "Build the reproducible code bundle of a commit",
		Long: `Build the code bundle runway ships on top of the dependency image: the
files git tracks at the commit, minus bundle.exclude, .runwayignore and the
documentation runway ignores (*.md, docs/**, .github/**, LICENSE*). Never
.git, build outputs or ignored files.

The bytes are reproducible: sorted entries, normalised headers, fixed
compression. Two runs on the same commit give the same digest on any
machine. The bundle's identity is the sha256 of the uncompressed tar.
Over the size budget (platform bundle.maxSize, default 100Mi) it is refused
with the largest files listed.`,
		Example: `  runway bundle --repo . --out code.tar.gz
  runway bundle --repo . --push -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.project(KubernetesOptions{})
			if err != nil {
				return err
			}
			b, s, err := flow.BuildBundle(cmd.Context(), p, g.Repo, rev, maxSize)
			if err != nil {
				return err
			}
			defer b.Close()
			sum := b.Summary()
			if out != "" {
				if err := b.WriteFile(out); err != nil {
					return err
				}
				sum.Path = out
			}
			uploaded := false
			if push {
				res, err := fastreg.Push(cmd.Context(), p.Store, s.Project, b)
				if err != nil {
					return err
				}
				uploaded = res.Uploaded
			}
			if g.JSON() {
				return g.PrintJSON(map[string]any{"bundle": sum, "pushed": push, "uploaded": uploaded})
			}
			fmt.Fprintf(g.IO.Out, "bundle %s\n  %d files, %d bytes (%d compressed, %s)\n", sum.Digest, sum.Files, sum.Size, sum.CompressedSize, sum.CompressedDigest)
			if out != "" {
				fmt.Fprintf(g.IO.Out, "  written to %s\n", out)
			}
			if push {
				if uploaded {
					fmt.Fprintln(g.IO.Out, "  pushed")
				} else {
					fmt.Fprintln(g.IO.Out, "  already in the store: nothing uploaded")
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write the compressed tarball to FILE")
	cmd.Flags().StringVar(&rev, "revision", "HEAD", "the commit to bundle")
	cmd.Flags().StringVar(&maxSize, "max-size", "", "raise the size budget (where the platform allows it)")
	cmd.Flags().BoolVar(&push, "push", false, "upload the bundle to the store")
	return cmd
}
