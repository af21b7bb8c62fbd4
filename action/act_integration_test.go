//go:build integration

package action

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runway-ci/runway/internal/actionpin"
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

// actPR is the pull request the act tests run the Action for: GitHub's
// example pull_request opened event adapted to a checkout whose head
// changes code, so the Action registers a code bundle.
func actPR(t *testing.T) (w *world, base, head string) {
	t.Helper()
	w, base = newWorld(t)
	runGit(t, w.dir, "checkout", "-q", "-b", "changes")
	appendTo(t, filepath.Join(w.dir, "pipeline", "train.py"), "\n# a code change\n")
	head = commitAll(t, w.dir, "tune the model")
	w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: prNumber, Title: "Update the README with new information.",
		User: exampleSender, HeadSHA: head, HeadRef: "changes", BaseSHA: base, BaseRef: "master"})
	return w, base, head
}

// actRun is one run of testdata/act's workflow under act.
type actRun struct {
	out    []byte // act's log
	outDir string // the workflow's recorded outputs and clock readings
	err    error
}

// runAct runs testdata/act's workflow under act (host mode: there is no
// Docker engine) with actionDir as the action it uses. jobEnv is passed to
// the job with --env; procEnv replaces entries of act's own environment,
// which a host runner passes on to the steps.
func runAct(t *testing.T, w *world, base, head, actionDir string, jobEnv map[string]string, procEnv map[string]string) actRun {
	t.Helper()
	act := actBinary(t)
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
	args := []string{"pull_request",
		"-e", eventPath,
		"-P", "ubuntu-latest=-self-hosted",
		"--action-cache-path", t.TempDir(),
		"--cache-server-path", t.TempDir(),
		"--no-cache-server",
		"--env", "GITHUB_API_URL=" + w.gh.URL(),
		"--env", "GITHUB_REPOSITORY=" + exampleRepo,
		"--env", "RUNWAY_TEST_CHECKOUT=" + w.dir,
		"--env", "RUNWAY_TEST_ACTION=" + actionDir,
		"--env", "RUNWAY_TEST_STORE=file://" + w.storeDir,
		"--env", "RUNWAY_TEST_OUT=" + outDir,
		"-s", "GITHUB_TOKEN=ghs_write",
	}
	for k, v := range jobEnv {
		args = append(args, "--env", k+"="+v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, act, args...)
	cmd.Dir = wfDir
	cmd.Env = actEnv()
	for k, v := range procEnv {
		cmd.Env = append(cmd.Env, k+"="+v) // the last of a key wins
	}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("act ran for %s", time.Since(start).Round(time.Second))
	if os.Getenv("RUNWAY_TEST_ACT_LOG") != "" {
		t.Logf("act:\n%s", out)
	}
	return actRun{out: out, outDir: outDir, err: err}
}

func (r actRun) read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.outDir, name))
	if err != nil {
		t.Fatalf("the workflow recorded no %s: %v\nact:\n%s", name, err, r.out)
	}
	return strings.TrimSpace(string(b))
}

// checkRegistered checks what a user sees after a successful run: the step
// outputs say a code bundle of the head was registered with the sample's
// six entities, and GitHub (the strict fake) got one sticky comment and
// the `runway` status.
func checkRegistered(t *testing.T, w *world, r actRun, head string) {
	t.Helper()
	if got := r.read(t, "decision"); got != "bundle" {
		t.Errorf("decision output = %q, want bundle", got)
	}
	if got := r.read(t, "version"); got != head {
		t.Errorf("version output = %q, want the head %s", got, head)
	}
	if got := r.read(t, "bundle"); !strings.HasPrefix(got, "sha256:") {
		t.Errorf("bundle output = %q, want a digest", got)
	}
	var ents []map[string]string
	if err := json.Unmarshal([]byte(r.read(t, "entities")), &ents); err != nil || len(ents) != 6 {
		t.Errorf("entities output: %d entities (%v), want 6:\n%s", len(ents), err, r.read(t, "entities"))
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
	if bytes.Contains(r.out, []byte("ghs_write")) {
		t.Errorf("the token appears in act's log:\n%s", r.out)
	}
}

// TestActUnderRealRunner runs action.yml, unchanged, under a real Actions
// runner for a pull request. The repository's action.yml pins no release
// (only a tagged release commit does), so this is the untagged path: the
// Action builds runway from its own source.
func TestActUnderRealRunner(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	w, base, head := actPR(t)
	r := runAct(t, w, base, head, root, nil, nil)
	if r.err != nil {
		t.Fatalf("act pull_request: %v\n%s", r.err, r.out)
	}
	if !bytes.Contains(r.out, []byte("built from the action's source")) {
		t.Errorf("the untagged Action did not say it built runway from source:\n%s", r.out)
	}
	checkRegistered(t, w, r, head)
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

// actReleaseVersion is the release the tagged-path tests pin and serve.
const actReleaseVersion = "v9.9.9-act"

// buildRelease builds runway-core as a release would for this host
// (static, trimmed, version stamped) and returns its path.
func buildRelease(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "runway-core")
	const pkg = "github.com/runway-ci/runway/internal/version"
	ldflags := "-s -w -X " + pkg + ".version=" + actReleaseVersion + " -X " + pkg + ".commit=ac7ac7ac7ac7ac7ac7ac7ac7ac7ac7ac7ac7ac7a"
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", bin, "./cmd/runway-core")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the release binary: %v\n%s", err, out)
	}
	return bin
}

// pinnedAction writes a release commit's action.yml, pinning sum for this
// host's runway-core, alone into a new directory: no Go source, so the
// Action cannot build runway and must run the binary it fetched.
func pinnedAction(t *testing.T, sum string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	pinned, err := actionpin.Write(src, actionpin.Pins{Version: actReleaseVersion,
		SHA256: map[string]string{runtime.GOOS + "_" + runtime.GOARCH: sum}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "action.yml"), pinned, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// pinnedSource is a copy of runway's source (the files git tracks, 3 MB)
// with the pinned action.yml in pinnedDir in place of its own: a release
// commit as the Action sees it. A copy, not links: go:embed and act's
// lstat of action.yml do not follow them.
func pinnedSource(t *testing.T, pinnedDir string) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range strings.Split(strings.TrimRight(runGit(t, root, "ls-files"), "\n"), "\n") {
		src := filepath.Join(root, f)
		if f == "action.yml" {
			src = filepath.Join(pinnedDir, "action.yml")
		}
		b, err := os.ReadFile(src)
		if os.IsNotExist(err) {
			continue // deleted in the working tree
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// serveRelease serves body as this host's runway-core of
// actReleaseVersion, laid out as GitHub's release downloads are
// (BASE/TAG/ASSET), from a loopback HTTP server.
func serveRelease(t *testing.T, body []byte) string {
	t.Helper()
	dir := t.TempDir()
	asset := filepath.Join(dir, actReleaseVersion, actionpin.Binary(runtime.GOOS+"_"+runtime.GOARCH))
	if err := os.MkdirAll(filepath.Dir(asset), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(asset, body, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	return srv.URL
}

// noGoEnv is a process environment with an empty Go build and module
// cache and no go on PATH: a run that needed to compile runway would fail.
func noGoEnv(t *testing.T) map[string]string {
	var path []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(d, "go")); err == nil {
			continue
		}
		path = append(path, d)
	}
	return map[string]string{"PATH": strings.Join(path, string(os.PathListSeparator)),
		"GOCACHE": t.TempDir(), "GOMODCACHE": t.TempDir()}
}

// stepTime returns how long act reports the composite's named step took.
func stepTime(t *testing.T, log []byte, step string) time.Duration {
	t.Helper()
	m := regexp.MustCompile(`Success - Main ` + regexp.QuoteMeta(step) + ` \[([^\]]+)\]`).FindSubmatch(log)
	if m == nil {
		t.Fatalf("act's log has no duration for the step %q:\n%s", step, log)
	}
	d, err := time.ParseDuration(string(m[1]))
	if err != nil {
		t.Fatalf("act's duration %q for %q: %v", m[1], step, err)
	}
	return d
}

// TestActTaggedRelease runs a release commit's action.yml (pins filled in)
// under act, with the "release" served from a loopback HTTP server and no
// Go toolchain or cache on the runner: runway is fetched, verified against
// the pinned sha256 and running within seconds. A binary whose checksum
// does not match is refused, and nothing runs.
func TestActTaggedRelease(t *testing.T) {
	bin := buildRelease(t)
	body, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	pinned := hex.EncodeToString(sum[:])

	t.Run("verified", func(t *testing.T) {
		w, base, head := actPR(t)
		r := runAct(t, w, base, head, pinnedAction(t, pinned),
			map[string]string{"RUNWAY_RELEASE_URL": serveRelease(t, body)}, noGoEnv(t))
		if r.err != nil {
			t.Fatalf("act pull_request: %v\n%s", r.err, r.out)
		}
		if !bytes.Contains(r.out, []byte("runway "+actReleaseVersion+" (commit ac7ac7ac7ac7)")) ||
			!bytes.Contains(r.out, []byte("release binary, sha256 verified")) {
			t.Errorf("the Action did not say it runs the verified release binary %s:\n%s", actReleaseVersion, r.out)
		}
		install := stepTime(t, r.out, "Install runway")
		t0, _ := strconv.ParseInt(r.read(t, "t0"), 10, 64)
		t1, _ := strconv.ParseInt(r.read(t, "t1"), 10, 64)
		whole := time.Duration(t1 - t0)
		t.Logf("install step %s; whole Action step (install + registering the sample) %s", install, whole)
		if install >= 5*time.Second {
			t.Errorf("installing runway took %s, want under 5s", install)
		}
		checkRegistered(t, w, r, head)
	})

	t.Run("download fails: built from source", func(t *testing.T) {
		// The release server is down: the step retries with backoff, then
		// builds runway from the action's source (the pinned commit's).
		var hits atomic.Int32
		down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
		}))
		t.Cleanup(down.Close)
		w, base, head := actPR(t)
		r := runAct(t, w, base, head, pinnedSource(t, pinnedAction(t, pinned)),
			map[string]string{"RUNWAY_RELEASE_URL": down.URL}, nil)
		if r.err != nil {
			t.Fatalf("act pull_request: %v\n%s", r.err, r.out)
		}
		if n := hits.Load(); n != 5 {
			t.Errorf("the release server saw %d requests, want 5 (one try and 4 retries)", n)
		}
		if !bytes.Contains(r.out, []byte("building it from the action's source")) || !bytes.Contains(r.out, []byte("built from the action's source")) {
			t.Errorf("the Action did not fall back to a source build:\n%s", r.out)
		}
		checkRegistered(t, w, r, head)
	})

	t.Run("checksum mismatch", func(t *testing.T) {
		w, base, head := actPR(t)
		tampered := append(bytes.Clone(body), 0)
		r := runAct(t, w, base, head, pinnedAction(t, pinned),
			map[string]string{"RUNWAY_RELEASE_URL": serveRelease(t, tampered)}, noGoEnv(t))
		if r.err == nil {
			t.Fatalf("act succeeded with a binary whose checksum is not the pinned one:\n%s", r.out)
		}
		other := sha256.Sum256(tampered)
		if !bytes.Contains(r.out, []byte("its sha256 is "+hex.EncodeToString(other[:]))) || !bytes.Contains(r.out, []byte("pins "+pinned)) {
			t.Errorf("the refusal does not name both checksums:\n%s", r.out)
		}
		if bytes.Contains(r.out, []byte("building it from the action's source")) {
			t.Errorf("a checksum mismatch fell back to a source build:\n%s", r.out)
		}
		if n := len(stickyComments(w)); n != 0 {
			t.Errorf("runway ran: %d sticky comments", n)
		}
		if n := len(w.entities("development")); n != 0 {
			t.Errorf("runway ran: %d entities registered", n)
		}
	})
}
