// Command runway registers, promotes and runs ML and data pipelines.
//
// This is the front binary: `runway plan` runs here on a small dependency
// set, and every other command runs in runway-core (cmd/runway-core), the
// full CLI, installed next to it. See internal/launcher for why.
package main

import (
	"os"

	"github.com/runway-ci/runway/cmd/internal/launcher"
)

func main() {
	os.Exit(launcher.Main(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}
