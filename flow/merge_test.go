package flow_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

const mergeSpec = `project: merging
tasks:
  - name: hello
    command: ["sh", "-c", "cat msg.txt > \"$RUNWAY_OUTPUTS/msg\""]
    outputs: {msg: string}
workflows:
  - name: greet
    nodes:
      - {id: say, task: hello}
`

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@runway.invalid", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestOnMerge covers both paths with a real git repository: a merge whose
// tree equals the PR head's promotes the head's entities; a merge after the
// base moved registers the merge commit first, then promotes it.
func TestOnMerge(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	git(t, dir, "init")
	write(t, dir, "runway.yaml", mergeSpec)
	write(t, dir, "msg.txt", "v1\n")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-m", "base")
	s, err := layout.New(t.TempDir(), layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	plat := platform.Default()
	proj := flow.NewProject(s, plat, nil)
	pr := func(branch, body string) string {
		git(t, dir, "checkout", "-q", "-b", branch, "main")
		write(t, dir, "msg.txt", body)
		git(t, dir, "commit", "-q", "-am", branch)
		head := git(t, dir, "rev-parse", "HEAD")
		// The PR pipeline registers the head into development.
		if _, err := flow.PR(ctx, proj, flow.PRRequest{Repo: dir, Domain: "development"}); err != nil {
			t.Fatal(err)
		}
		git(t, dir, "checkout", "-q", "main")
		return head
	}
	run := func(head string) *flow.MergeReport {
		t.Helper()
		merge := git(t, dir, "rev-parse", "HEAD")
		rep, err := flow.Merge(ctx, proj, flow.MergeRequest{Repo: dir, MergeSHA: merge, PRHead: head,
			Promote: promote.Request{Project: "merging", Actor: promote.Actor{Login: "merger"}, PR: &promote.PR{Number: 1}}})
		if err != nil {
			t.Fatalf("on merge of %s: %v", head[:8], err)
		}
		if rep.Promotion.To != "staging" || rep.Promotion.From != "development" {
			t.Fatalf("promotion %s -> %s", rep.Promotion.From, rep.Promotion.To)
		}
		t.Logf("%s: %s", rep.Path, rep.Reason)
		return rep
	}

	// 1. A merge commit with the PR head's tree (no-ff merge onto an unmoved base).
	h1 := pr("pr1", "v2\n")
	git(t, dir, "merge", "-q", "--no-ff", "-m", "merge pr1", "pr1")
	rep := run(h1)
	if rep.Path != flow.MergePromoteHead || rep.Version != h1 || rep.Registration != nil || rep.MergeTree != rep.HeadTree {
		t.Fatalf("first merge: %+v", rep)
	}

	// 2. The base moves after the PR branched: the merged tree differs.
	h2 := pr("pr2", "v3\n")
	write(t, dir, "other.txt", "moved\n")
	git(t, dir, "add", "other.txt")
	git(t, dir, "commit", "-q", "-m", "base moves")
	git(t, dir, "merge", "-q", "--no-ff", "-m", "merge pr2", "pr2")
	merge := git(t, dir, "rev-parse", "HEAD")
	rep = run(h2)
	if rep.Path != flow.MergeRegisterMerge || rep.Version != merge || rep.Registration == nil || rep.Registration.Register.Version != merge {
		t.Fatalf("second merge: %+v", rep)
	}
	st, err := registrar.Get(ctx, s, registrar.ID{Project: "merging", Domain: "staging", Kind: registrar.KindWorkflow, Name: "greet", Version: merge})
	if err != nil {
		t.Fatalf("merge commit not promoted: %v", err)
	}
	if r, err := promote.ReadRecords(ctx, s, st.ID.Repo(), st.Manifest.Digest); err != nil || len(r) != 1 || r[0].PR.MergeSHA != merge || r[0].PR.HeadSHA != h2 {
		t.Fatalf("record: %+v %v", r, err)
	}

	// Bad input: an unknown PR head, and a checkout not at the merge commit.
	if _, err := flow.Merge(ctx, proj, flow.MergeRequest{Repo: dir, MergeSHA: merge, PRHead: strings.Repeat("0", 40)}); err == nil || !strings.Contains(err.Error(), "fetch it first") {
		t.Fatalf("unknown head: %v", err)
	}
	git(t, dir, "checkout", "-q", h1)
	if rep, err := flow.Merge(ctx, proj, flow.MergeRequest{Repo: dir, MergeSHA: merge, PRHead: h2, Promote: promote.Request{Project: "merging"}}); err == nil || !strings.Contains(err.Error(), "check out the merge commit") || rep.Path != flow.MergeRegisterMerge {
		t.Fatalf("wrong checkout: %v", err)
	}
}
