package action

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runway-ci/runway/executor/exectask"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/storeopen"
	"github.com/runway-ci/runway/internal/testkit/githubfake"
	"github.com/runway-ci/runway/internal/testkit/testenv"
)

// TestMain lets the local executor run this test binary as `runway
// exec-task`: it starts os.Executable(), as the real binary does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "exec-task" {
		open := func(ctx context.Context, ref string) (store.Store, error) { return storeopen.Open(ref) }
		os.Exit(exectask.Main(context.Background(), os.Args[2:], os.Stdout, os.Stderr, exectask.WithOpener(open)))
	}
	done, err := testenv.UseStaticRunwayBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, "building a static runway stand-in:", err)
		os.Exit(1)
	}
	code := m.Run()
	done()
	os.Exit(code)
}

// TestActionRuns: the run input executes a launch plan after registering
// the PR head, and /runway run by a writer runs a workflow with inputs;
// both report the execution with its outputs.
func TestActionRuns(t *testing.T) {
	w, base := newWorld(t)
	runGit(t, w.dir, "checkout", "-q", "-b", "changes")
	appendTo(t, filepath.Join(w.dir, "pipeline", "train.py"), "\n# a code change\n")
	h1 := commitAll(t, w.dir, "tune the model")
	w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: prNumber, Title: "Tune",
		User: exampleSender, HeadSHA: h1, HeadRef: "changes", BaseSHA: base, BaseRef: "master"})

	res := w.run("pull_request", prPayload(t, "opened", prNumber, base, h1, ""), "ghs_write", map[string]string{"INPUT_RUN": "launchplan/nightly"})
	if res.err != nil {
		t.Fatalf("opened with run: %v\n%s", res.err, res.commands)
	}
	if len(res.outputs["execution"]) != 14 {
		t.Errorf("execution output %q", res.outputs["execution"])
	}
	for _, want := range []string{"Execution", "succeeded", "r2", "rmse", res.outputs["execution"]} {
		if !strings.Contains(res.summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, res.summary)
		}
	}
	if st := lastStatus(t, w, h1); st.State != "success" {
		t.Errorf("status %+v", st)
	}

	// /runway run with inputs, by a writer.
	w.gh.SetRole(exampleRepo, exampleSender, "write")
	cid := w.gh.AddComment(exampleRepo, prNumber, exampleSender, "/runway run train rows=2000 seed=3")
	p := commentPayload(t, prNumber, "/runway run train rows=2000 seed=3")
	set(t, p, "comment.id", cid)
	res = w.run("issue_comment", p, "ghs_write", nil)
	if res.err != nil {
		t.Fatalf("/runway run: %v", res.err)
	}
	reply := lastComment(w)
	for _, want := range []string{"runway run", "train", "succeeded", "r2"} {
		if !strings.Contains(reply, want) {
			t.Errorf("reply lacks %q:\n%s", want, reply)
		}
	}
	if got := reactions(w, cid); got != "eyes,rocket" {
		t.Errorf("reactions %q", got)
	}

	// A wrong input is reported, not run.
	cid = w.gh.AddComment(exampleRepo, prNumber, exampleSender, "/runway run train rows=many seed=3")
	p = commentPayload(t, prNumber, "/runway run train rows=many seed=3")
	set(t, p, "comment.id", cid)
	res = w.run("issue_comment", p, "ghs_write", nil)
	if reply := lastComment(w); !strings.Contains(reply, "rows") || !strings.Contains(reply, "❌") {
		t.Errorf("bad input reply:\n%s", reply)
	}
	if got := reactions(w, cid); got != "eyes,confused" {
		t.Errorf("reactions %q", got)
	}
}
