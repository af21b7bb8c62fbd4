package action

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runway-ci/runway/internal/testkit/githubfake"
)

// TestCommentCommands runs each comment command through the entry point on
// GitHub's issue_comment example and checks the reply and the reactions.
func TestCommentCommands(t *testing.T) {
	policy := `promotion:
  rules:
    - to: staging
      requiredPermission: maintain
    - to: production
      actors: [release-captain]
`
	for _, tc := range []struct {
		name      string
		body      string
		role      string
		headMoved bool
		platform  string
		issue     bool // the number is an issue, not a PR
		want      []string
		reactions string
		staged    int
	}{
		{"help", "/runway help", "read", false, "", false, []string{"/runway promote <domain>", "who may use it"}, "eyes,+1", 0},
		{"unknown command", "/runway deploy now", "admin", false, "", false, []string{"Sorry", `no command &quot;deploy&quot;`, "understands these commands"}, "eyes,confused", 0},
		{"plan by a reader", "/runway plan", "read", false, "", false, []string{"planned", "Decision: bundle", "Requested by"}, "eyes,rocket", 0},
		{"register by a reader", "/runway register", "read", false, "", false, []string{"needs write access", "you have read access", "/runway plan"}, "eyes,confused", 0},
		{"no access at all", "/runway plan", "none", false, "", false, []string{"needs read access", "you have none access"}, "eyes,confused", 0},
		{"head moved", "/runway promote staging", "admin", true, "", false, []string{"head moved", "comment the command again"}, "eyes,confused", 0},
		{"unknown domain", "/runway promote prod", "admin", false, "", false, []string{"not a domain", "development -&gt; staging -&gt; production"}, "eyes,confused", 0},
		{"first domain", "/runway promote development", "admin", false, "", false, []string{"first domain"}, "eyes,confused", 0},
		{"skipping a domain", "/runway promote production", "admin", false, "", false, []string{"has no entities in <code>staging</code>", "Promote it to <code>staging</code> first"}, "eyes,confused", 0},
		{"policy asks more than write", "/runway promote staging", "write", false, policy, false, []string{"requiredPermission", "maintain or higher"}, "eyes,confused", 0},
		{"policy satisfied", "/runway promote staging", "maintain", false, policy, false, []string{"6 promoted"}, "eyes,rocket", 6},
		{"run before register", "/runway run train rows=10", "admin", false, "", false, []string{"is not registered", "/runway register"}, "eyes,confused", 0},
		{"on an issue", "/runway plan", "admin", false, "", true, []string{"is an issue, not a pull request"}, "eyes,confused", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, base := newWorld(t)
			runGit(t, w.dir, "checkout", "-q", "-b", "changes")
			appendTo(t, filepath.Join(w.dir, "pipeline", "train.py"), "\n# change\n")
			head := commitAll(t, w.dir, "change")
			number := prNumber
			if tc.issue {
				number = 77
			}
			w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: prNumber, User: "alice", HeadSHA: head, HeadRef: "changes", BaseSHA: base, BaseRef: "master"})
			// Register the head, as the pull_request run did before anyone
			// commented, where the command needs it.
			if tc.staged > 0 || tc.platform != "" {
				if res := w.run("pull_request", prPayload(t, "opened", prNumber, base, head, ""), "ghs_write", nil); res.err != nil {
					t.Fatal(res.err)
				}
			}
			if tc.headMoved {
				w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: prNumber, User: "alice", HeadSHA: strings.Repeat("e", 40), HeadRef: "changes", BaseSHA: base, BaseRef: "master"})
			}
			extra := map[string]string{}
			if tc.platform != "" {
				p := filepath.Join(t.TempDir(), "platform.yaml")
				if err := os.WriteFile(p, []byte(tc.platform), 0o644); err != nil {
					t.Fatal(err)
				}
				extra["INPUT_PLATFORM-CONFIG"] = p
			}
			w.gh.SetRole(exampleRepo, exampleSender, tc.role)
			cid := w.gh.AddComment(exampleRepo, number, exampleSender, tc.body)
			p := commentPayload(t, number, tc.body)
			set(t, p, "comment.id", cid)
			res := w.run("issue_comment", p, "ghs_write", extra)
			if res.err != nil {
				t.Fatalf("err = %v", res.err)
			}
			cs := w.gh.Comments(exampleRepo, number)
			reply := cs[len(cs)-1].Body
			for _, want := range tc.want {
				if !strings.Contains(reply, want) {
					t.Errorf("reply lacks %q:\n%s", want, reply)
				}
			}
			if got := reactions(w, cid); got != tc.reactions {
				t.Errorf("reactions %q, want %q", got, tc.reactions)
			}
			if n := len(w.entities("staging")); n != tc.staged {
				t.Errorf("%d entities in staging, want %d", n, tc.staged)
			}
		})
	}
}

// TestCommentsRunwayIgnores: comments that are not commands, edits, and
// bots' comments start nothing and touch nothing.
func TestCommentsRunwayIgnores(t *testing.T) {
	w, _ := newWorld(t)
	for _, tc := range []struct {
		name string
		edit func(map[string]any)
	}{
		{"prose", func(p map[string]any) { set(t, p, "comment.body", "LGTM /runway promote production") }},
		{"edited", func(p map[string]any) { set(t, p, "action", "edited") }},
		{"a bot", func(p map[string]any) { set(t, p, "comment.user.type", "Bot") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := commentPayload(t, prNumber, "/runway promote staging")
			tc.edit(p)
			before := len(w.gh.Requests())
			if res := w.run("issue_comment", p, "ghs_write", nil); res.err != nil {
				t.Fatal(res.err)
			}
			if n := len(w.gh.Requests()) - before; n != 0 {
				t.Errorf("%d GitHub calls for a comment runway ignores", n)
			}
		})
	}
}
