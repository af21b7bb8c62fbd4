//go:build integration

package action

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runway-ci/runway/internal/testkit/githubfake"
	"github.com/runway-ci/runway/internal/testkit/testenv"
)

// TestBinaryAsTheRunnerRunsIt runs the real runway binary as the composite
// action's last step does (`runway action`), in a process whose whole
// environment is what the Actions runner provides.
func TestBinaryAsTheRunnerRunsIt(t *testing.T) {
	bin := testenv.BuildStatic(t, "..", "./cmd/runway-core")
	w, base := newWorld(t)
	runGit(t, w.dir, "checkout", "-q", "-b", "changes")
	appendTo(t, filepath.Join(w.dir, "pipeline", "train.py"), "\n# a code change\n")
	head := commitAll(t, w.dir, "tune the model")
	w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: prNumber, User: exampleSender, HeadSHA: head, HeadRef: "changes", BaseSHA: base, BaseRef: "master"})
	res := w.runWith("pull_request", prPayload(t, "opened", prNumber, base, head, ""), "ghs_write", nil,
		func(env map[string]string, stdout *bytes.Buffer) error {
			return runBinary(t, bin, w.dir, env, stdout, "action")
		})
	if res.err != nil {
		t.Fatalf("runway action: %v\n%s", res.err, res.commands)
	}
	if res.outputs["decision"] != "bundle" || res.outputs["version"] != head {
		t.Errorf("outputs %v", res.outputs)
	}
	if n := len(stickyComments(w)); n != 1 {
		t.Errorf("%d sticky comments, want 1", n)
	}
	if st := lastStatus(t, w, head); st.State != "success" {
		t.Errorf("status %+v", st)
	}
	if !strings.Contains(res.summary, "Decision: bundle") {
		t.Errorf("summary:\n%s", res.summary)
	}
	// The token is registered as a secret (::add-mask::) and appears
	// nowhere else.
	if !strings.Contains(res.commands, "::add-mask::ghs_write") || strings.Count(res.commands, "ghs_write") != 1 {
		t.Errorf("the token is not masked, or appears outside ::add-mask:::\n%s", res.commands)
	}
}
