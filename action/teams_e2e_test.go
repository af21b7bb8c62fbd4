package action

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runway-ci/runway/internal/testkit/githubfake"
)

// "@org/team" actors in the promotion policy are resolved through GitHub's
// team membership API: a member's /runway promote goes through, anyone
// else's is refused (issue 17, item 10). Before, every team rule refused
// everyone from GitHub, because nothing filled in the actor's teams.
func TestCommentPromoteByTeam(t *testing.T) {
	policy := "promotion:\n  rules:\n    - {to: staging, actors: ['@acme/ml-platform']}\n"
	for _, tc := range []struct {
		name   string
		member bool
		want   string
		staged int
	}{
		{"team member", true, "6 promoted", 6},
		{"not a member", false, "is not allowed to promote to staging", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, base := newWorld(t)
			runGit(t, w.dir, "checkout", "-q", "-b", "changes")
			appendTo(t, filepath.Join(w.dir, "pipeline", "train.py"), "\n# change\n")
			head := commitAll(t, w.dir, "change")
			w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: prNumber, User: "alice", HeadSHA: head, HeadRef: "changes", BaseSHA: base, BaseRef: "master"})
			if res := w.run("pull_request", prPayload(t, "opened", prNumber, base, head, ""), "ghs_write", nil); res.err != nil {
				t.Fatal(res.err)
			}
			p := filepath.Join(t.TempDir(), "platform.yaml")
			if err := os.WriteFile(p, []byte(policy), 0o644); err != nil {
				t.Fatal(err)
			}
			w.gh.SetRole(exampleRepo, exampleSender, "write")
			if tc.member {
				w.gh.SetTeamMember("acme", "ml-platform", exampleSender)
			}
			body := "/runway promote staging"
			cid := w.gh.AddComment(exampleRepo, prNumber, exampleSender, body)
			pl := commentPayload(t, prNumber, body)
			set(t, pl, "comment.id", cid)
			if res := w.run("issue_comment", pl, "ghs_write", map[string]string{"INPUT_PLATFORM-CONFIG": p}); res.err != nil {
				t.Fatalf("err = %v", res.err)
			}
			cs := w.gh.Comments(exampleRepo, prNumber)
			if reply := cs[len(cs)-1].Body; !strings.Contains(reply, tc.want) {
				t.Errorf("reply lacks %q:\n%s", tc.want, reply)
			}
			if n := len(w.entities("staging")); n != tc.staged {
				t.Errorf("%d entities in staging, want %d", n, tc.staged)
			}
		})
	}
}
