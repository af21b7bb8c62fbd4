//go:build integration

package githubfake

import (
	"bytes"
	"context"
	"os"
	"testing"
)

// TestRoutesMatchOpenAPI re-derives routes_gen.go from GitHub's REST API
// description, fetched with npm, and fails when the checked-in table is
// stale (run `go generate ./internal/github/githubfake`).
func TestRoutesMatchOpenAPI(t *testing.T) {
	want, err := DeriveRouteSource(context.Background())
	if err != nil {
		t.Fatalf("deriving the routes from %s@%s: %v", OpenAPIPackage, OpenAPIVersion, err)
	}
	got, err := os.ReadFile("routes_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("routes_gen.go differs from what %s@%s gives; run go generate ./internal/github/githubfake", OpenAPIPackage, OpenAPIVersion)
	}
}
