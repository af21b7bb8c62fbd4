// Command runway-core is runway's full CLI (every command, cobra). Users
// run it as `runway`, whose front binary (cmd/runway) answers the hot
// `plan` path itself and execs runway-core for everything else. It is also
// the binary images embed as /usr/local/bin/runway for `runway exec-task`.
package main

import (
	"os"

	// Mozilla's CA roots, used only where the system has none: the
	// dependency images and the server's image are scratch-based, and
	// runway in them still has to verify registries and api.github.com.
	_ "golang.org/x/crypto/x509roots/fallback"

	"github.com/runway-ci/runway/cmd/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Std()))
}
