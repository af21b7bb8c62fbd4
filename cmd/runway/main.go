// Command runway registers, promotes and runs ML and data pipelines.
package main

import (
	"os"

	"github.com/runway-ci/runway/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Std()))
}
