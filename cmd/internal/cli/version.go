package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runway-ci/runway/internal/version"
)

func newVersion(g *Global) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print runway's version and the commit it was built from",
		Long: `Print runway's version and the commit it was built from.

The version is the release tag (v1.2.3) for release binaries and for
` + "`go install github.com/runway-ci/runway/cmd/...@v1.2.3`" + `; a build from a git
checkout reports a Go pseudo-version (v0.0.0-YYYYMMDDHHMMSS-<12 hex>, with
+dirty for uncommitted changes); a build with no version information says
"devel". The same version is sent as runway's User-Agent to registries and
GitHub, labels the images runway builds and is recorded on every entity it
registers. ` + "`runway --version`" + ` prints the same line.`,
		Example: `  runway version
  runway version -o json   # {"version": "v1.2.3", "commit": "<40 hex>", "go": ..., "os": ..., "arch": ...}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := version.Get()
			if g.JSON() {
				return g.PrintJSON(v)
			}
			_, err := fmt.Fprintln(g.IO.Out, v.String())
			return err
		},
	}
}
