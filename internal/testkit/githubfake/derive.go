package githubfake

//go:generate go run ../../../tools/githubfake-gen routes_gen.go

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/runway-ci/runway/internal/testkit/githubfake/routegen"
)

// DeriveRouteSource fetches GitHub's REST API description and renders the
// route table the fake serves (routes_gen.go).
func DeriveRouteSource(ctx context.Context) ([]byte, error) {
	dir, err := NPMPackage(ctx, OpenAPIPackage, OpenAPIVersion, "generated/api.github.com.json")
	if err != nil {
		return nil, err
	}
	doc, err := os.ReadFile(filepath.Join(dir, "generated", "api.github.com.json"))
	if err != nil {
		return nil, fmt.Errorf("reading the REST API description: %w", err)
	}
	routes, err := routegen.Derive(doc, routegen.Wanted())
	if err != nil {
		return nil, err
	}
	return routegen.Source("githubfake", OpenAPIPackage+"@"+OpenAPIVersion+" generated/api.github.com.json", routes)
}
