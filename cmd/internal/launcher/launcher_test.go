package launcher

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runway-ci/runway/cmd/internal/cli"
	"github.com/runway-ci/runway/internal/testkit/gittest"
)

func repoWithChange(t *testing.T) string {
	t.Helper()
	r := gittest.New(t)
	r.Write("runway.yaml", "project: demo\nimage: {dependencies: [requirements.txt]}\ntasks: [{name: a, command: [echo]}]\n")
	r.Write("requirements.txt", "x==1\n")
	r.Write("src/a.py", "A = 1\n")
	r.Commit("base")
	r.Git("tag", "base")
	r.Write("src/a.py", "A = 2\n")
	r.Write("README.md", "docs\n")
	r.Commit("change")
	return r.Dir
}

// TestFastPlanPrintsWhatCorePrints: the fast path and the full CLI render
// the same plan, byte for byte, as text and as JSON.
func TestFastPlanPrintsWhatCorePrints(t *testing.T) {
	repo := repoWithChange(t)
	home := t.TempDir()
	env := func(k string) string { return map[string]string{"RUNWAY_HOME": home, "HOME": home}[k] }
	for _, output := range []string{"text", "json"} {
		args := []string{"--repo", repo, "--base", "base", "--head", "HEAD", "-o", output}
		var fast, fastErr bytes.Buffer
		code, handled := FastPlan(context.Background(), args, &fast, &fastErr, env)
		if !handled || code != 0 {
			t.Fatalf("%s: handled=%v code=%d %s", output, handled, code, fastErr.String())
		}
		var core, coreErr bytes.Buffer
		if c := cli.Main(append([]string{"plan"}, args...), cli.IO{Out: &core, Err: &coreErr, Environment: env}); c != 0 {
			t.Fatalf("core: %d %s", c, coreErr.String())
		}
		if fast.String() != core.String() {
			t.Errorf("%s output differs:\n--- fast\n%s--- core\n%s", output, fast.String(), core.String())
		}
		if !strings.Contains(fast.String(), "bundle") {
			t.Errorf("%s: no decision in %s", output, fast.String())
		}
	}
}

func TestFastPlanLeavesTheRestToCore(t *testing.T) {
	env := func(string) string { return "" }
	for _, args := range [][]string{
		{"--base", "main", "--help"},
		{"--base", "main", "--store", "localhost:5000/runway"},
		{"--base", "main", "--unknown"},
		{"--head", "HEAD"}, // no base: core explains
		{"--base", "main", "-o", "yaml"},
		{"--base"},
		{"stray", "--base", "main"},
		// The diff against a domain needs the flow (policy, executor's cache
		// keys): runway-core answers it.
		{"--base", "main", "--against", "production"},
		{"--against=production", "--base", "main"},
		{"--against", "production"},
	} {
		var out, errb bytes.Buffer
		if _, handled := FastPlan(context.Background(), args, &out, &errb, env); handled {
			t.Errorf("%v: handled by the fast path", args)
		}
	}
}

func TestFastPlanErrors(t *testing.T) {
	repo := repoWithChange(t)
	home := t.TempDir()
	env := func(k string) string { return map[string]string{"HOME": home}[k] }
	var out, errb bytes.Buffer
	code, handled := FastPlan(context.Background(), []string{"--repo", repo, "--base", "nope"}, &out, &errb, env)
	if !handled || code != 1 || !strings.Contains(errb.String(), "nope") {
		t.Errorf("bad revision: %v %d %s", handled, code, errb.String())
	}
	if err := os.WriteFile(filepath.Join(repo, "runway.yaml"), []byte("project: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitCommitAll(t, repo, "break the spec")
	errb.Reset()
	code, _ = FastPlan(context.Background(), []string{"--repo", repo, "--base", "base", "-o", "json"}, &out, &errb, env)
	if code != 3 || !strings.Contains(errb.String(), `"exitCode":3`) {
		t.Errorf("bad spec: %d %s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(home, ".runway")); !os.IsNotExist(err) {
		t.Errorf("the fast path created a store just to look: %v", err)
	}
}

// TestFrontBinaryStaysLight: the front binary links nothing heavy.
func TestFrontBinaryStaysLight(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../../../cmd/runway").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	heavy := []string{"k8s.io/", "github.com/google/go-github", "github.com/spf13/cobra", "github.com/ProtonMail/",
		"github.com/go-git/gcfg", "net/http", "github.com/google/go-containerregistry/pkg/v1/remote", "github.com/runway-ci/runway/cmd/internal/cli"}
	for _, dep := range strings.Fields(string(out)) {
		for _, h := range heavy {
			if strings.HasPrefix(dep, h) {
				t.Errorf("cmd/runway links %s", dep)
			}
		}
	}
}

// TestDispatch builds both binaries and runs them as a user would: plan
// in the front binary, everything else in runway-core next to it.
func TestDispatch(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", dir+"/", "../../../cmd/runway", "../../../cmd/runway-core")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	repo := repoWithChange(t)
	home := t.TempDir()
	run := func(bin string, args ...string) (string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		code := 0
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		return string(out), code
	}
	front := filepath.Join(dir, "runway")
	if out, code := run(front, "version"); code != 0 || !strings.Contains(out, "runway dev") {
		t.Errorf("version through runway-core: %d %s", code, out)
	}
	if out, code := run(front, "plan", "--repo", repo, "--base", "base"); code != 0 || !strings.Contains(out, "decision: bundle") {
		t.Errorf("plan: %d %s", code, out)
	}
	if out, code := run(front, "plan", "--help"); code != 0 || !strings.Contains(out, "three-dot") {
		t.Errorf("plan --help through runway-core: %d %s", code, out)
	}
	if out, code := run(front, "validate", "--repo", repo); code != 0 || !strings.Contains(out, "valid") {
		t.Errorf("validate through runway-core: %d %s", code, out)
	}
	if err := os.Remove(filepath.Join(dir, "runway-core")); err != nil {
		t.Fatal(err)
	}
	if out, code := run(front, "version"); code != 1 || !strings.Contains(out, "runway-core is not installed next to") {
		t.Errorf("without runway-core: %d %s", code, out)
	}
}

func gitCommitAll(t *testing.T, dir, msg string) {
	t.Helper()
	cmd := exec.Command("git", "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qam", msg)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git commit: %v\n%s", err, out)
	}
}
