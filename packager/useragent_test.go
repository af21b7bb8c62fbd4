package packager

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/runway-ci/runway/internal/testkit/httprec"
	"github.com/runway-ci/runway/internal/testkit/storetest"
	"github.com/runway-ci/runway/internal/version"
)

// TestResolveBaseUserAgent: resolving the base image tells the registry
// it is runway, and which version.
func TestResolveBaseUserAgent(t *testing.T) {
	rec := httprec.Serve(t, storetest.NewRegistry(t))
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref := rec.Host + "/base/python:3.12"
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	n := len(rec.Requests())
	if _, err := (RemoteResolver{}).ResolveBase(context.Background(), ref, v1.Platform{OS: "linux", Architecture: "amd64"}); err != nil {
		t.Fatalf("ResolveBase: %v", err)
	}
	reqs := rec.Requests()[n:]
	if len(reqs) == 0 {
		t.Fatal("ResolveBase sent no request")
	}
	want := "runway/" + version.String() + " ("
	for _, r := range reqs {
		if !strings.HasPrefix(r.UserAgent, want) {
			t.Errorf("%s %s: User-Agent %q, want %q...", r.Method, r.Path, r.UserAgent, want)
		}
	}
}
