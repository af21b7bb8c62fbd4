package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/runway-ci/runway/cmd/internal/cli.Version=v1.2.3".
var Version = "dev"

func init() { commands = append(commands, newVersion) }

// VersionInfo describes this binary.
type VersionInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

// BinaryVersion returns the version of the running binary.
func BinaryVersion() VersionInfo {
	v := VersionInfo{Version: Version, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				v.Commit = s.Value
			}
		}
	}
	return v
}

func newVersion(g *Global) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print runway's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := BinaryVersion()
			if g.JSON() {
				return g.PrintJSON(v)
			}
			fmt.Fprintf(g.IO.Out, "runway %s (%s, %s/%s)\n", v.Version, v.Go, v.OS, v.Arch)
			return nil
		},
	}
}
