package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// againstPlatform is production with small ceilings, a quota and a strict
// promotion rule; development and staging as the defaults have them.
const againstPlatform = `
domains:
  - {name: development, ceilings: {cpu: "16", memory: 64Gi}}
  - {name: staging, ceilings: {cpu: "16", memory: 64Gi}}
  - name: production
    ceilings: {cpu: "2", memory: 1Gi}
    quota: {requests.cpu: "4", limits.memory: 2Gi}
promotion:
  rules:
    - {to: production, from: [staging], actors: ["@ml-platform"], requireExecution: true, approvals: 1, requiredChecks: [ci/test]}
`

// TestPlanAgainstProductionGolden: the sample is registered and promoted to
// production (nightly active); a branch then changes the fit task (its
// command, and requests over production's ceiling and quota), bumps
// evaluate's cache version and moves nightly's cron. `runway plan
// --against production` shows each, with the promotion evidence still
// missing, and leaves the store as it was.
func TestPlanAgainstProductionGolden(t *testing.T) {
	home, repo := t.TempDir(), sampleRepo(t)
	prod := gitHead(t, repo)
	for _, args := range [][]string{
		{"register", "--repo", repo, "--domain", "development"},
		{"promote", "--repo", repo, "--to", "staging", "--version", prod},
		{"promote", "--repo", repo, "--to", "production", "--version", prod},
	} {
		if r := run(t, home, args...); r.code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, r.code, r.out, r.err)
		}
	}
	platFile := filepath.Join(t.TempDir(), "platform.yaml")
	if err := os.WriteFile(platFile, []byte(againstPlatform), 0o644); err != nil {
		t.Fatal(err)
	}
	edit(t, filepath.Join(repo, "runway.yaml"),
		`"pipeline.train"]`, `"pipeline.train", "--l2", "0.1"]`,
		"    outputs: {model: file, train_rmse: float}\n    resources: *small",
		"    outputs: {model: file, train_rmse: float}\n    resources: {requests: {cpu: \"3\", memory: 512Mi}, limits: {cpu: \"3\", memory: 3Gi}}",
		"    outputs: {rmse: float, r2: float}\n    resources: *small\n    cache: {version: \"1\"}",
		"    outputs: {rmse: float, r2: float}\n    resources: *small\n    cache: {version: \"2\"}",
		`schedule: "0 3 * * *"`, `schedule: "30 4 * * 1-5"`)
	head := commitAll(t, repo, "regularise fit; nightly after the data lands")

	before := snapshot(t, filepath.Join(home, "store"))
	var out, errb bytes.Buffer
	g := &Global{IO: IO{Out: &out, Err: &errb, Environment: func(k string) string { return map[string]string{"RUNWAY_HOME": home}[k] }},
		Repo: repo, Domain: "development", Platform: platFile, Output: "text"}
	o := &PlanAgainstOptions{Domain: "production", Base: prod, Head: "HEAD", Now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		Evidence: &PromoteOptions{PRAuthor: "alice", Approvals: []string{"alice"}, Checks: []string{"ci/test=failure"}}}
	if err := runPlanAgainst(context.Background(), g, o); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if after := snapshot(t, filepath.Join(home, "store")); after != before {
		t.Error("plan --against wrote to the store")
	}
	got := normalize(out.String(), map[string]string{prod: "<production>", head: "<head>", home: "<home>"})
	goldenFile(t, "plan-against-production.txt", got)

	// The command line reaches the same run (runway-core answers --against).
	r := run(t, home, "plan", "--repo", repo, "--platform", platFile, "--base", prod, "--against", "production", "-o", "json")
	if r.code != 0 || !strings.Contains(r.out, `"against": "production"`) || !strings.Contains(r.out, `"change": "changed"`) {
		t.Fatalf("plan --against -o json: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if after := snapshot(t, filepath.Join(home, "store")); after != before {
		t.Error("runway plan --against wrote to the store")
	}
}

func gitHead(t *testing.T, dir string) string {
	t.Helper()
	r, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	h, err := r.Head()
	if err != nil {
		t.Fatal(err)
	}
	return h.Hash().String()
}

// commitAll commits every change with a fixed author and time, so the SHA
// is the same on every run.
func commitAll(t *testing.T, dir, msg string) string {
	t.Helper()
	r, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := r.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "t", Email: "t@runway.invalid", When: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// edit replaces each old with its new, once each, failing when one is absent.
func edit(t *testing.T, path string, pairs ...string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("%s holds no %q", path, pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// snapshot hashes every file's path and content under dir.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		lines = append(lines, fmt.Sprintf("%s %x", p, sha256.Sum256(b)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

var digestRE = regexp.MustCompile(`sha256:[0-9a-f]{12,64}`)

// normalize replaces known values (longest first, and their 12-character
// forms) and numbers each distinct digest, which differ between builds of
// the runway binary in the image.
func normalize(s string, known map[string]string) string {
	keys := make([]string, 0, len(known))
	for k := range known {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		s = strings.ReplaceAll(s, k, known[k])
		if len(k) == 40 {
			s = strings.ReplaceAll(s, k[:12], known[k])
		}
	}
	seen := map[string]string{}
	return digestRE.ReplaceAllStringFunc(s, func(d string) string {
		full := d
		for k, v := range seen { // a 12-hex short form names the same digest
			if strings.HasPrefix(k, d) || strings.HasPrefix(d, k) {
				return v
			}
		}
		seen[full] = fmt.Sprintf("<digest-%d>", len(seen)+1)
		return seen[full]
	})
}

func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (go test ./cmd/internal/cli -run %s -update writes it)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s differs (go test ./cmd/internal/cli -run %s -update to accept):\n%s", p, t.Name(), got)
	}
}
