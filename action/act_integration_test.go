//go:build integration

package action

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runway-ci/runway/internal/testkit/githubfake"
)

// actVersion is the act (github.com/nektos/act) release the test runs the
// composite action under; it is built from the module proxy when missing.
const actVersion = "v0.2.89"

// actBinary returns an act of actVersion: one in the user cache dir
// (runway-act/VERSION/act), installed there with `go install` the first
// time (about a minute). An act on PATH is not used, since its version
// would decide what the test means.
func actBinary(t *testing.T) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("act %s is installed under the user cache dir, which is unknown: %v", actVersion, err)
	}
	gobin := filepath.Join(cache, "runway-act", actVersion)
	bin := filepath.Join(gobin, "act")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("act %s is missing and cannot be built: no go on PATH: %v", actVersion, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "install", "github.com/nektos/act@"+actVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=")
	cmd.Dir = t.TempDir() // outside runway's module, so its go.mod plays no part
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("installing act: go install github.com/nektos/act@%s (GOBIN=%s): %v\n%s", actVersion, gobin, err, out)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("go install github.com/nektos/act@%s left no %s: %v", actVersion, bin, err)
	}
	return bin
}

// TestActUnderRealRunner runs action.yml, unchanged, under a real Actions
// runner (act, on the host: there is no Docker engine) for GitHub's example
// pull_request opened event adapted to a checkout with a code change, and
// checks what a user sees: the job succeeds, the step outputs say a code
// bundle of the head was registered with the sample's six entities, and
// GitHub (the strict fake) got one sticky comment and the `runway` status.
func TestActUnderRealRunner(t *testing.T) {
	act := actBinary(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}

	w, base := newWorld(t)
	runGit(t, w.dir, "checkout", "-q", "-b", "changes")
	appendTo(t, filepath.Join(w.dir, "pipeline", "train.py"), "\n# a code change\n")
	head := commitAll(t, w.dir, "tune the model")
	w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: prNumber, Title: "Update the README with new information.",
		User: exampleSender, HeadSHA: head, HeadRef: "changes", BaseSHA: base, BaseRef: "master"})

	// act runs the workflows of its working directory: a git repository
	// (act reads its revision) holding a copy of testdata/act.
	wfDir := t.TempDir()
	wf, err := os.ReadFile(filepath.Join("testdata", "act", ".github", "workflows", "runway.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(wfDir, ".github", "workflows"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(wfDir, ".github", "workflows", "runway.yml"), wf, 0o644); err != nil {
		t.Fatal(err)
	}
	runGit(t, wfDir, "init", "-q", "-b", "master")
	commitAll(t, wfDir, "the workflow act runs")
	b, err := json.Marshal(prPayload(t, "opened", prNumber, base, head, ""))
	if err != nil {
		t.Fatal(err)
	}
	eventPath := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(eventPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, act, "pull_request",
		"-e", eventPath,
		"-P", "ubuntu-latest=-self-hosted",
		"--action-cache-path", t.TempDir(),
		"--cache-server-path", t.TempDir(),
		"--no-cache-server",
		"--env", "GITHUB_API_URL="+w.gh.URL(),
		"--env", "GITHUB_REPOSITORY="+exampleRepo,
		"--env", "RUNWAY_TEST_CHECKOUT="+w.dir,
		"--env", "RUNWAY_TEST_ACTION="+root,
		"--env", "RUNWAY_TEST_STORE=file://"+w.storeDir,
		"--env", "RUNWAY_TEST_OUT="+outDir,
		"-s", "GITHUB_TOKEN=ghs_write",
	)
	cmd.Dir = wfDir
	cmd.Env = actEnv()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("act ran for %s", time.Since(start).Round(time.Second))
	if os.Getenv("RUNWAY_TEST_ACT_LOG") != "" {
		t.Logf("act:\n%s", out)
	}
	if err != nil {
		t.Fatalf("act pull_request: %v\n%s", err, out)
	}

	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(outDir, name))
		if err != nil {
			t.Fatalf("the workflow recorded no %s output: %v\nact:\n%s", name, err, out)
		}
		return string(b)
	}
	if got := read("decision"); got != "bundle" {
		t.Errorf("decision output = %q, want bundle", got)
	}
	if got := read("version"); got != head {
		t.Errorf("version output = %q, want the head %s", got, head)
	}
	if got := read("bundle"); !strings.HasPrefix(got, "sha256:") {
		t.Errorf("bundle output = %q, want a digest", got)
	}
	var ents []map[string]string
	if err := json.Unmarshal([]byte(read("entities")), &ents); err != nil || len(ents) != 6 {
		t.Errorf("entities output: %d entities (%v), want 6:\n%s", len(ents), err, read("entities"))
	}
	for _, e := range ents {
		if e["version"] != head || e["domain"] != "development" {
			t.Errorf("entity %v is not the head in development", e)
		}
	}

	if n := len(stickyComments(w)); n != 1 {
		t.Errorf("%d sticky comments, want 1", n)
	}
	var runway []githubfake.Status
	for _, st := range w.gh.Statuses(exampleRepo, head) {
		if st.Context == "runway" {
			runway = append(runway, st)
		}
	}
	if len(runway) == 0 || runway[len(runway)-1].State != "success" {
		t.Errorf("statuses on the head %s: %+v, want a runway status ending in success", head, w.gh.Statuses(exampleRepo, head))
	}
	if n := len(w.entities("development")); n != 6 {
		t.Errorf("the store holds %d entities in development, want 6", n)
	}
	// act masks secrets in its log as the hosted runner does.
	if bytes.Contains(out, []byte("ghs_write")) {
		t.Errorf("the token appears in act's log:\n%s", out)
	}
}

// actEnv is the test's environment for act, which a host runner passes on
// to the job's steps, without variables that would steer the action's go
// build (GOFLAGS from the test binary's caller) or runway itself.
func actEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "GOFLAGS" || strings.HasPrefix(k, "RUNWAY_") || strings.HasPrefix(k, "GITHUB_") || strings.HasPrefix(k, "INPUT_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}
