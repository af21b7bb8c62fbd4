package action

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/testkit/githubfake"
	"github.com/runway-ci/runway/prbot"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

const prNumber = 2 // the number in GitHub's pull_request example

func stickyComments(w *world) []githubfake.Comment {
	var out []githubfake.Comment
	for _, c := range w.gh.Comments(exampleRepo, prNumber) {
		if strings.HasPrefix(c.Body, prbot.StickyMarker) {
			out = append(out, c)
		}
	}
	return out
}

func lastStatus(t *testing.T, w *world, sha string) githubfake.Status {
	t.Helper()
	st := w.gh.Statuses(exampleRepo, sha)
	if len(st) == 0 {
		t.Fatalf("no commit status on %s", sha)
	}
	return st[len(st)-1]
}

// TestActionScenario walks one pull request of the sample through the
// Action, run as the Actions runner runs it: opened, a second push,
// /runway promote staging by a read-only user and by a maintainer.
func TestActionScenario(t *testing.T) {
	w, base := newWorld(t)
	runGit(t, w.dir, "checkout", "-q", "-b", "changes")
	appendTo(t, filepath.Join(w.dir, "pipeline", "train.py"), "\n# a code change\n")
	h1 := commitAll(t, w.dir, "tune the model")
	w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: prNumber, Title: "Update the README with new information.",
		User: exampleSender, HeadSHA: h1, HeadRef: "changes", BaseSHA: base, BaseRef: "master"})

	// 1. pull_request opened.
	res := w.run("pull_request", prPayload(t, "opened", prNumber, base, h1, ""), "ghs_write", nil)
	if res.err != nil {
		t.Fatalf("opened: %v\n%s", res.err, res.commands)
	}
	if res.outputs["decision"] != "bundle" || res.outputs["version"] != h1 ||
		!strings.HasPrefix(res.outputs["bundle"], "sha256:") || !strings.Contains(res.outputs["image"], "@sha256:") {
		t.Errorf("outputs = %v", res.outputs)
	}
	var ents []map[string]string
	if err := json.Unmarshal([]byte(res.outputs["entities"]), &ents); err != nil || len(ents) != 6 {
		t.Fatalf("entities output %q: %v", res.outputs["entities"], err)
	}
	for _, e := range ents {
		if e["status"] != "created" || e["version"] != h1 || e["domain"] != "development" {
			t.Errorf("entity %v", e)
		}
	}
	for _, want := range []string{"Decision: bundle", "pipeline/train.py", "<code>" + h1[:12] + "</code>", "6 created",
		"If merged and promoted to <code>production</code>: 6 added"} { // production has nothing yet (issue 14 §2)
		if !strings.Contains(res.summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, res.summary)
		}
	}
	stick := stickyComments(w)
	if len(stick) != 1 {
		t.Fatalf("%d sticky comments after opened, want 1", len(stick))
	}
	if st := lastStatus(t, w, h1); st.Context != "runway" || st.State != "success" {
		t.Errorf("status on %s = %+v", h1, st)
	}

	// 2. A second push: the same comment is edited.
	appendTo(t, filepath.Join(w.dir, "pipeline", "evaluate.py"), "\n# another change\n")
	h2 := commitAll(t, w.dir, "evaluate more")
	w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: prNumber, User: exampleSender, HeadSHA: h2, HeadRef: "changes", BaseSHA: base, BaseRef: "master"})
	res = w.run("pull_request", prPayload(t, "synchronize", prNumber, base, h2, h1), "ghs_write", nil)
	if res.err != nil {
		t.Fatalf("synchronize: %v", res.err)
	}
	again := stickyComments(w)
	if len(again) != 1 || again[0].ID != stick[0].ID || again[0].Edits != 1 {
		t.Fatalf("after a second push: sticky comments %+v, want comment %d edited once", again, stick[0].ID)
	}
	if !strings.Contains(again[0].Body, h2[:12]) || strings.Contains(again[0].Body, h1[:12]) {
		t.Errorf("the edited comment does not show the new head:\n%s", again[0].Body)
	}
	if len(w.gh.Comments(exampleRepo, prNumber)) != 1 {
		t.Errorf("a second push posted a new comment")
	}
	if st := lastStatus(t, w, h2); st.State != "success" {
		t.Errorf("status on %s = %+v", h2, st)
	}

	// 3. /runway promote staging by a read-only user: refused.
	w.gh.SetRole(exampleRepo, exampleSender, "read")
	cid := w.gh.AddComment(exampleRepo, prNumber, exampleSender, "/runway promote staging")
	p := commentPayload(t, prNumber, "/runway promote staging")
	set(t, p, "comment.id", cid)
	res = w.run("issue_comment", p, "ghs_write", nil)
	if res.err != nil {
		t.Fatalf("read-only promote: %v", res.err)
	}
	reply := lastComment(w)
	if !strings.Contains(reply, "Sorry") || !strings.Contains(reply, "needs write access") || !strings.Contains(reply, "you have read access") {
		t.Errorf("refusal:\n%s", reply)
	}
	if got := reactions(w, cid); got != "eyes,confused" {
		t.Errorf("reactions %q, want eyes,confused", got)
	}
	if n := len(w.entities("staging")); n != 0 {
		t.Fatalf("a refused promotion wrote %d entities into staging", n)
	}
	if res.outputs["promoted"] != "" {
		t.Errorf("promoted output on a refusal: %q", res.outputs["promoted"])
	}

	// 4. The same command by a maintainer: promoted.
	w.gh.SetRole(exampleRepo, exampleSender, "maintain")
	cid = w.gh.AddComment(exampleRepo, prNumber, exampleSender, "/runway promote staging")
	set(t, p, "comment.id", cid)
	res = w.run("issue_comment", p, "ghs_write", nil)
	if res.err != nil {
		t.Fatalf("maintainer promote: %v", res.err)
	}
	if got := reactions(w, cid); got != "eyes,rocket" {
		t.Errorf("reactions %q, want eyes,rocket", got)
	}
	staged := w.entities("staging")
	if len(staged) != 6 {
		t.Fatalf("%d entities in staging, want 6", len(staged))
	}
	for _, s := range staged {
		if s.ID.Version != h2 {
			t.Errorf("staging holds %s", s.ID)
		}
	}
	var promoted struct {
		To       string `json:"to"`
		Version  string `json:"version"`
		Entities []any  `json:"entities"`
	}
	if err := json.Unmarshal([]byte(res.outputs["promoted"]), &promoted); err != nil || promoted.To != "staging" || promoted.Version != h2 || len(promoted.Entities) != 6 {
		t.Errorf("promoted output %q: %v", res.outputs["promoted"], err)
	}
	if reply := lastComment(w); !strings.Contains(reply, "promoted") || !strings.Contains(reply, "6 promoted") {
		t.Errorf("reply:\n%s", reply)
	}
	rec := records(t, w, "staging", "train")
	if len(rec) != 1 || rec[0].Actor != exampleSender || rec[0].PR == nil || rec[0].PR.Number != prNumber {
		t.Errorf("promotion record %+v", rec)
	}
}

func lastComment(w *world) string {
	cs := w.gh.Comments(exampleRepo, prNumber)
	if len(cs) == 0 {
		return ""
	}
	return cs[len(cs)-1].Body
}

func reactions(w *world, id int64) string {
	var s []string
	for _, r := range w.gh.Reactions(exampleRepo, id) {
		s = append(s, r.Content)
	}
	return strings.Join(s, ",")
}

// records reads the promotion records of workflow name in domain.
func records(t *testing.T, w *world, domain, name string) []*promote.Record {
	t.Helper()
	ctx := context.Background()
	st, err := registrar.Get(ctx, w.store(), registrar.ID{Project: project, Domain: domain, Kind: registrar.KindWorkflow, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := promote.ReadRecords(ctx, w.store(), st.ID.Repo(), st.Manifest.Digest)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestActionMergePromotes: a push of the PR's merge to the default branch
// promotes to staging, with the record naming the PR. When the base moved
// (the merge tree is not the tested tree), the merge commit is registered
// first.
func TestActionMergePromotes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		baseMoves  bool
		wantPath   string
		wantVerson func(head, merge string) string
	}{
		{"merge tree equals the head tree", false, flow.MergePromoteHead, func(h, m string) string { return h }},
		{"base moved", true, flow.MergeRegisterMerge, func(h, m string) string { return m }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, base := newWorld(t)
			runGit(t, w.dir, "checkout", "-q", "-b", "changes")
			appendTo(t, filepath.Join(w.dir, "pipeline", "train.py"), "\n# a code change\n")
			head := commitAll(t, w.dir, "tune the model")
			w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: prNumber, User: "alice", HeadSHA: head, HeadRef: "changes", BaseSHA: base, BaseRef: "master"})
			if res := w.run("pull_request", prPayload(t, "opened", prNumber, base, head, ""), "ghs_write", nil); res.err != nil {
				t.Fatalf("opened: %v", res.err)
			}
			runGit(t, w.dir, "checkout", "-q", "master")
			if tc.baseMoves {
				appendTo(t, filepath.Join(w.dir, "pipeline", "profile.py"), "\n# meanwhile on master\n")
				commitAll(t, w.dir, "meanwhile")
			}
			before := runGit(t, w.dir, "rev-parse", "HEAD")
			runGit(t, w.dir, "merge", "-q", "--no-ff", "-m", "Merge pull request #2 from Codertocat/changes", "changes")
			merge := runGit(t, w.dir, "rev-parse", "HEAD")
			w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: prNumber, User: "alice", HeadSHA: head, HeadRef: "changes",
				BaseSHA: base, BaseRef: "master", State: "closed", Merged: true, MergeCommitSHA: merge, MergedBy: exampleSender})
			w.gh.SetRole(exampleRepo, exampleSender, "write")

			res := w.run("push", pushPayload(t, before, merge), "ghs_write", nil)
			if res.err != nil {
				t.Fatalf("push: %v\n%s", res.err, res.commands)
			}
			want := tc.wantVerson(head, merge)
			if res.outputs["version"] != want {
				t.Errorf("version output %q, want %q", res.outputs["version"], want)
			}
			staged := w.entities("staging")
			if len(staged) != 6 {
				t.Fatalf("%d entities in staging, want 6", len(staged))
			}
			rec := records(t, w, "staging", "train")
			if len(rec) != 1 || rec[0].PR == nil || rec[0].PR.Number != prNumber || rec[0].PR.MergeSHA != merge || rec[0].Version != want {
				t.Fatalf("record %+v, want one naming PR #%d", rec, prNumber)
			}
			body := lastComment(w)
			if !strings.Contains(body, tc.wantPath) || !strings.Contains(body, "staging") {
				t.Errorf("merge comment:\n%s", body)
			}
			if st := lastStatus(t, w, merge); st.State != "success" || !strings.Contains(st.Description, tc.wantPath) {
				t.Errorf("status on the merge: %+v", st)
			}
		})
	}
}

// TestActionForkPR: a PR from a fork runs with a read-only token: runway
// validates and plans, writes nothing anywhere, and says how to register.
func TestActionForkPR(t *testing.T) {
	w, base := newWorld(t)
	runGit(t, w.dir, "checkout", "-q", "-b", "changes")
	appendTo(t, filepath.Join(w.dir, "pipeline", "train.py"), "\n# from a fork\n")
	head := commitAll(t, w.dir, "fork change")
	p := prPayload(t, "opened", prNumber, base, head, "")
	set(t, p, "pull_request.head.repo.full_name", "mallory/Hello-World")
	res := w.run("pull_request", p, "ghs_read", nil)
	if res.err != nil {
		t.Fatalf("fork PR: %v", res.err)
	}
	if w.gh.Writes() != 0 {
		t.Errorf("%d writes to GitHub with a fork's read-only token", w.gh.Writes())
	}
	if n := len(w.entities("development")); n != 0 {
		t.Errorf("a fork PR registered %d entities", n)
	}
	if res.outputs["decision"] != "bundle" {
		t.Errorf("decision %q, want the plan's bundle", res.outputs["decision"])
	}
	if !strings.Contains(res.summary, "comes from a fork") || !strings.Contains(res.summary, "/runway register") || !strings.Contains(res.summary, "4 task(s), 1 workflow(s), 1 launch plan(s) would be registered") {
		t.Errorf("summary:\n%s", res.summary)
	}
}

// TestActionInvalidSpec: validation errors become file annotations, the
// status fails and the step fails with spec.Errors.
func TestActionInvalidSpec(t *testing.T) {
	w, base := newWorld(t)
	runGit(t, w.dir, "checkout", "-q", "-b", "changes")
	y := filepath.Join(w.dir, "runway.yaml")
	b, err := os.ReadFile(y)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(b), "limits: {cpu: \"1\", memory: 256Mi}", "limits: {cpu: \"1\", memory: 256Mi, gpu: lots}", 1)
	bad = strings.Replace(bad, "task: fit,", "task: fitt,", 1)
	if err := os.WriteFile(y, []byte(strings.Replace(bad, "  - name: fit\n", "  - name: fit\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	head := commitAll(t, w.dir, "break it")
	w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: prNumber, User: "alice", HeadSHA: head, HeadRef: "changes", BaseSHA: base, BaseRef: "master"})
	res := w.run("pull_request", prPayload(t, "opened", prNumber, base, head, ""), "ghs_write", nil)
	var se spec.Errors
	if !errors.As(res.err, &se) {
		t.Fatalf("err = %v, want spec.Errors", res.err)
	}
	if !strings.Contains(res.commands, "::error file=runway.yaml,") {
		t.Errorf("no file annotation in:\n%s", res.commands)
	}
	for _, fe := range se {
		if fe.Line > 0 && !strings.Contains(res.commands, "line="+itoa(fe.Line)) {
			t.Errorf("no annotation for line %d (%s)", fe.Line, fe.Msg)
		}
	}
	if st := lastStatus(t, w, head); st.State != "failure" {
		t.Errorf("status %+v, want failure", st)
	}
	if s := stickyComments(w); len(s) != 1 || !strings.Contains(s[0].Body, "failed") {
		t.Errorf("sticky comment %+v", s)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
