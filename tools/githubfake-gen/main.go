// Command githubfake-gen writes internal/testkit/githubfake/routes_gen.go: the routes githubfake serves,
// derived from GitHub's REST API description (@octokit/openapi, fetched
// with npm). Run it with `go generate ./internal/testkit/githubfake`.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/runway-ci/runway/internal/testkit/githubfake"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run() error {
	src, err := githubfake.DeriveRouteSource(context.Background())
	if err != nil {
		return err
	}
	out := "routes_gen.go"
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	return os.WriteFile(filepath.Clean(out), src, 0o644)
}
