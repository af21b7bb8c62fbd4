package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type result struct {
	code     int
	out, err string
}

func run(t *testing.T, home string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	env := map[string]string{"RUNWAY_HOME": home}
	code := Main(args, IO{In: strings.NewReader(""), Out: &out, Err: &errb, Environment: func(k string) string { return env[k] }})
	return result{code, out.String(), errb.String()}
}

func sampleRepo(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	if _, err := MakeSampleRepo(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRegisterTwiceThenUnchanged(t *testing.T) {
	home, repo := t.TempDir(), sampleRepo(t)
	r := run(t, home, "register", "--repo", repo, "--domain", "development", "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	var rep struct {
		Version  string
		Bundle   string
		Entities []map[string]string
	}
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatalf("%v: %s", err, r.out)
	}
	if len(rep.Version) != 40 || !strings.HasPrefix(rep.Bundle, "sha256:") || len(rep.Entities) != 6 {
		t.Fatalf("report: %+v", rep)
	}
	for _, e := range rep.Entities {
		for _, k := range []string{"kind", "name", "domain", "version", "digest", "status"} {
			if e[k] == "" {
				t.Errorf("entity lacks %s: %v", k, e)
			}
		}
		if e["status"] != "created" {
			t.Errorf("first run: %v", e)
		}
	}
	r = run(t, home, "register", "--repo", repo)
	if r.code != 0 || strings.Count(r.out, "unchanged  sha256") != 6 || !strings.Contains(r.out, "0 created, 6 unchanged") {
		t.Fatalf("second run, exit %d:\n%s%s", r.code, r.out, r.err)
	}

	// list and get expose the stable fields.
	r = run(t, home, "list", "tasks", "--repo", repo, "-o", "json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.out), &list); err != nil || len(list) != 4 {
		t.Fatalf("list: %v %s %s", err, r.out, r.err)
	}
	for _, e := range list {
		for _, k := range []string{"kind", "name", "domain", "version", "digest"} {
			if e[k] == "" || e[k] == nil {
				t.Errorf("list entry lacks %s: %v", k, e)
			}
		}
	}
	r = run(t, home, "get", "workflow", "train", "--project", "house-prices", "-o", "json")
	var got map[string]any
	if err := json.Unmarshal([]byte(r.out), &got); err != nil || got["kind"] != "workflow" || got["version"] != rep.Version {
		t.Fatalf("get: %v %s %s", err, r.out, r.err)
	}
	r = run(t, home, "get", "task", "nope", "--project", "house-prices")
	if r.code != 1 || !strings.Contains(r.err, "no versions") {
		t.Errorf("get of a missing task: exit %d %s", r.code, r.err)
	}
}

func TestChangedTaskUnderSameVersionIsRefused(t *testing.T) {
	home, repo := t.TempDir(), sampleRepo(t)
	if r := run(t, home, "register", "--repo", repo, "--version", "v1"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	p := filepath.Join(repo, "runway.yaml")
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, bytes.Replace(b, []byte("retries: 1\n    timeout: 5m"), []byte("retries: 3\n    timeout: 5m"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, home, "register", "--repo", repo, "--version", "v1")
	if r.code != ExitConflict {
		t.Fatalf("exit %d, want %d: %s", r.code, ExitConflict, r.err)
	}
	for _, want := range []string{"task/fit", "task.retries: 1 -> 3", "immutable"} {
		if !strings.Contains(r.err, want) {
			t.Errorf("error lacks %q:\n%s", want, r.err)
		}
	}
}

func TestDirtyTreeVersion(t *testing.T) {
	home, repo := t.TempDir(), sampleRepo(t)
	if err := os.WriteFile(filepath.Join(repo, "pipeline", "extra.py"), []byte("X = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, home, "register", "--repo", repo, "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	var rep struct {
		Version, Commit, Bundle string
		Dirty                   bool
	}
	_ = json.Unmarshal([]byte(r.out), &rep)
	want := rep.Commit + "-dirty-" + strings.TrimPrefix(rep.Bundle, "sha256:")[:12]
	if !rep.Dirty || rep.Version != want {
		t.Errorf("version %q, want %q (%s)", rep.Version, want, r.out)
	}
}

func TestNotAGitRepository(t *testing.T) {
	home, dir := t.TempDir(), t.TempDir()
	b, _ := os.ReadFile("../../../testdata/sample/runway.yaml")
	if err := os.WriteFile(filepath.Join(dir, "runway.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, home, "register", "--repo", dir)
	if r.code != ExitError || !strings.Contains(r.err, "not a git repository") || !strings.Contains(r.err, "--version") {
		t.Errorf("exit %d: %s", r.code, r.err)
	}
	r = run(t, home, "register", "--repo", dir, "--version", "manual-1")
	if r.code != 0 {
		t.Errorf("with --version: exit %d: %s", r.code, r.err)
	}
	r = run(t, home, "register", "--repo", dir, "--version", "bad/version")
	if r.code == 0 || !strings.Contains(r.err, "not a valid version") {
		t.Errorf("bad --version: exit %d: %s", r.code, r.err)
	}
}

func TestValidate(t *testing.T) {
	home, dir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "runway.yaml"), []byte("project: demo\ntasks:\n  - name: a\n    command: [x]\n    timeout: soon\n    resources: {limits: {memory: 1Ti}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, home, "validate", "--repo", dir)
	if r.code != ExitInvalid || !strings.Contains(r.err, "runway.yaml:5: task \"a\": timeout:") || !strings.Contains(r.err, "runway.yaml:6:") {
		t.Errorf("exit %d: %s", r.code, r.err)
	}
	r = run(t, home, "validate", "--repo", dir, "-o", "json")
	var rep struct {
		Valid  bool
		Errors []struct {
			File, Entity, Field, Message string
			Line                         int
		}
	}
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil || rep.Valid || len(rep.Errors) != 2 || rep.Errors[0].Line != 5 || rep.Errors[0].Field != "timeout" {
		t.Errorf("json: %v %+v %s", err, rep, r.out)
	}
	if r.code != ExitInvalid || r.err != "" {
		t.Errorf("json mode: exit %d, stderr %q", r.code, r.err)
	}
	r = run(t, home, "validate", "--repo", "../../../testdata/sample")
	if r.code != 0 || !strings.Contains(r.out, "valid") {
		t.Errorf("sample: exit %d %s %s", r.code, r.out, r.err)
	}
}

func TestUsageErrors(t *testing.T) {
	home := t.TempDir()
	for _, args := range [][]string{{"get", "task"}, {"get", "cronjob", "x"}, {"list", "--output", "yaml"}, {"register", "--no-such-flag"}, {"list", "--lock", "bad"}, {"verify", "nokind", "--project", "x"}, {"keygen"}, {"keygen", "--out", "k.pem", "--algorithm", "rsa"}} {
		if r := run(t, home, args...); r.code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, r.code, ExitUsage, r.err)
		}
	}
}

func TestHelpTeaches(t *testing.T) {
	home := t.TempDir()
	for _, c := range []string{"register", "validate", "get", "list", "demo"} {
		r := run(t, home, c, "--help")
		if r.code != 0 || !strings.Contains(r.out, "Examples:") || !strings.Contains(r.out, "--output") {
			t.Errorf("%s --help: exit %d\n%s", c, r.code, r.out)
		}
	}
	r := run(t, home, "version", "-o", "json")
	if r.code != 0 || !strings.Contains(r.out, `"version"`) {
		t.Errorf("version: %d %s", r.code, r.out)
	}
}
