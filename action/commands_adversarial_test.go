//go:build adversarial

package action

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/runway-ci/runway/internal/testkit/githubfake"
)

// TestAdversarialCommentCommands (issue 16, item 2): commands that write
// (register, run, promote) from readers, from people with no access, from
// bots and GitHub Apps, in edited comments, and on a head that moved since
// the checkout. Each is refused or ignored, and nothing reaches the store:
// no entity in any domain and no execution.
func TestAdversarialCommentCommands(t *testing.T) {
	for _, tc := range []struct {
		name      string
		body      string
		role      string
		edit      func(t *testing.T, p map[string]any)
		headMoved bool
		says      string // in runway's reply; "" = runway must not answer at all
	}{
		{"reader registers", "/runway register", "read", nil, false, "needs write access"},
		{"reader runs", "/runway run train rows=10", "read", nil, false, "needs write access"},
		{"reader promotes", "/runway promote staging", "read", nil, false, "needs write access"},
		{"triager promotes", "/runway promote staging", "triage", nil, false, "needs write access"},
		{"no access registers", "/runway register", "none", nil, false, "needs write access"},
		{"bot registers", "/runway register", "admin", func(t *testing.T, p map[string]any) {
			set(t, p, "comment.user.type", "Bot")
			set(t, p, "comment.user.login", "dependabot[bot]")
		}, false, ""},
		{"app promotes", "/runway promote staging", "admin", func(t *testing.T, p map[string]any) {
			set(t, p, "comment.user.type", "Bot")
			set(t, p, "comment.user.login", "evil-app[bot]")
		}, false, ""},
		{"edited into a command", "/runway register", "admin", func(t *testing.T, p map[string]any) { set(t, p, "action", "edited") }, false, ""},
		{"deleted command", "/runway register", "admin", func(t *testing.T, p map[string]any) { set(t, p, "action", "deleted") }, false, ""},
		{"stale head register", "/runway register", "admin", nil, true, "head moved"},
		{"stale head run", "/runway run train rows=10", "admin", nil, true, "head moved"},
		{"stale head promote", "/runway promote staging", "admin", nil, true, "head moved"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, base := newWorld(t)
			runGit(t, w.dir, "checkout", "-q", "-b", "changes")
			appendTo(t, filepath.Join(w.dir, "pipeline", "train.py"), "\n# change\n")
			head := commitAll(t, w.dir, "change")
			prHead := head
			if tc.headMoved {
				prHead = strings.Repeat("e", 40) // pushed after the workflow checked out head
			}
			w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: prNumber, User: "alice", HeadSHA: prHead, HeadRef: "changes", BaseSHA: base, BaseRef: "master"})
			w.gh.SetRole(exampleRepo, exampleSender, tc.role)
			cid := w.gh.AddComment(exampleRepo, prNumber, exampleSender, tc.body)
			p := commentPayload(t, prNumber, tc.body)
			set(t, p, "comment.id", cid)
			if tc.edit != nil {
				tc.edit(t, p)
			}
			before := len(w.gh.Comments(exampleRepo, prNumber))
			res := w.run("issue_comment", p, "ghs_write", nil)
			for _, d := range []string{"development", "staging", "production"} {
				if n := len(w.entities(d)); n != 0 {
					t.Errorf("%d entities in %s after a command that must not write (err %v)", n, d, res.err)
				}
			}
			if res.outputs["execution"] != "" || res.outputs["promoted"] != "" {
				t.Errorf("outputs %v", res.outputs)
			}
			cs := w.gh.Comments(exampleRepo, prNumber)
			if tc.says == "" {
				if len(cs) != before {
					t.Errorf("runway answered a comment it must ignore: %q", cs[len(cs)-1].Body)
				}
				return
			}
			if len(cs) == before || !strings.Contains(cs[len(cs)-1].Body, tc.says) {
				t.Errorf("reply does not say %q: %+v", tc.says, cs[before:])
			}
		})
	}
}
