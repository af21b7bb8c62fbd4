//go:build adversarial

package action

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runway-ci/runway/internal/testkit/githubfake"
)

// TestAdversarialTokenExpiresMidRun (issue 16, item 9): GITHUB_TOKEN stops
// working between runway's reads and its writes (an expired installation
// token: 401 Bad credentials). The registration already made stands (it is
// idempotent; the next run finds it unchanged), a 401 is not retried as if
// it were transient, and the log warns that the comment and statuses could
// not be written.
// (Secondary rate limits and 502s: internal/github TestRateLimits and
// TestRetries; an App's token refreshed before it expires:
// TestAppInstallationTokens.)
func TestAdversarialTokenExpiresMidRun(t *testing.T) {
	w, base := newWorld(t)
	runGit(t, w.dir, "checkout", "-q", "-b", "changes")
	appendTo(t, filepath.Join(w.dir, "pipeline", "train.py"), "\n# change\n")
	head := commitAll(t, w.dir, "change")
	w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: prNumber, User: "alice", HeadSHA: head, HeadRef: "changes", BaseSHA: base, BaseRef: "master"})
	for _, m := range []string{http.MethodPost, http.MethodPatch} {
		w.gh.AddFault(githubfake.Fault{Method: m, Path: "/repos/" + exampleRepo, Times: 100, Status: http.StatusUnauthorized, Message: "Bad credentials"})
	}
	res := w.run("pull_request", prPayload(t, "opened", prNumber, base, head, ""), "ghs_write", nil)
	writes := 0
	for _, r := range w.gh.Requests() {
		if r.Method != http.MethodGet {
			writes++
			if r.Status != http.StatusUnauthorized {
				t.Errorf("%s %s answered %d with the token expired", r.Method, r.Path, r.Status)
			}
		}
	}
	// One status (pending), the comment, one status (success): each tried
	// once. A 401 retried would show here.
	if writes > 4 {
		t.Errorf("%d writes with an expired token: 401 is being retried", writes)
	}
	if n := len(w.entities("development")); n != 6 {
		t.Errorf("%d entities registered, want the 6 registered before the token expired", n)
	}
	t.Logf("err %v; %d writes refused; log:\n%s", res.err, writes, res.commands)
	// Reporting is not the step's purpose: the registration stands, so the
	// step succeeds, and says on its log what it could not tell GitHub.
	if res.err != nil {
		t.Errorf("the run failed on reporting alone: %v", res.err)
	}
	if !strings.Contains(res.commands, "::warning::updating the runway PR comment") || !strings.Contains(res.commands, "401 Bad credentials") {
		t.Errorf("the log does not say the comment could not be posted:\n%s", res.commands)
	}
}
