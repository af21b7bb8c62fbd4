package github

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/runway-ci/runway/internal/testkit/httprec"
	"github.com/runway-ci/runway/internal/version"
)

// TestUserAgent: every request to GitHub names runway and its version,
// ahead of go-github's own token, reads and writes alike.
func TestUserAgent(t *testing.T) {
	ctx := context.Background()
	f := newFake(t)
	rec := httprec.Proxy(t, f.URL())
	c, err := New(WithBaseURL(rec.URL), WithToken("tok"), WithBackoff(time.Millisecond, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PullRequest(ctx, "octo", "pipelines", 7); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateComment(ctx, "octo", "pipelines", 7, "hello"); err != nil {
		t.Fatal(err)
	}
	reqs := rec.Requests()
	if len(reqs) != 2 {
		t.Fatalf("GitHub saw %d requests, want 2: %+v", len(reqs), reqs)
	}
	want := "runway/" + version.String() + " ("
	for _, r := range reqs {
		if !strings.HasPrefix(r.UserAgent, want) || !strings.Contains(r.UserAgent, "go-github/") {
			t.Errorf("%s %s: User-Agent %q, want %q... go-github/...", r.Method, r.Path, r.UserAgent, want)
		}
	}
}
