package remote_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/httprec"
	"github.com/runway-ci/runway/internal/testkit/storetest"
	"github.com/runway-ci/runway/internal/version"
)

// TestUserAgent: every request the registry store sends names runway and
// its version, ahead of go-containerregistry's own token.
func TestUserAgent(t *testing.T) {
	rec := httprec.Serve(t, storetest.NewRegistry(t))
	s, err := remote.New(rec.Host+"/runway", remote.WithRetryMax(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	img, err := random.Image(256, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteImage(ctx, "p/image", "t1", img); err != nil {
		t.Fatalf("WriteImage: %v", err)
	}
	if _, _, err := s.GetManifest(ctx, "p/image", "t1"); err != nil {
		t.Fatalf("GetManifest: %v", err)
	}
	if _, err := s.Tags(ctx, "p/image"); err != nil {
		t.Fatalf("Tags: %v", err)
	}
	reqs := rec.Requests()
	if len(reqs) < 3 {
		t.Fatalf("the registry saw %d requests, want several: %+v", len(reqs), reqs)
	}
	want := "runway/" + version.String() + " ("
	for _, r := range reqs {
		if !strings.HasPrefix(r.UserAgent, want) || !strings.Contains(r.UserAgent, "go-containerregistry") {
			t.Errorf("%s %s: User-Agent %q, want %q... go-containerregistry/...", r.Method, r.Path, r.UserAgent, want)
		}
	}
}
