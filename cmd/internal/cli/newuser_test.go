package cli

// Tests for the defects a new user hit following the README (issue 17).
// Each one failed before its fix.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Item 1: register --version X packages the code like a commit does.
func TestRegisterExplicitVersionCarriesImageAndBundle(t *testing.T) {
	home, repo := t.TempDir(), sampleRepo(t)
	if r := run(t, home, "register", "--repo", repo, "--version", "x1"); r.code != 0 {
		t.Fatalf("register: exit %d: %s", r.code, r.err)
	}
	r := run(t, home, "get", "task", "fit", "--version", "x1", "--project", "house-prices", "-o", "json")
	if r.code != 0 {
		t.Fatalf("get: exit %d: %s", r.code, r.err)
	}
	if !strings.Contains(r.out, `"image"`) || !strings.Contains(r.out, `"bundle": "sha256:`) {
		t.Fatalf("task fit@x1 has no image or bundle:\n%s", r.out)
	}
}

// Item 3: a strict-decoding error does not hide the semantic ones.
func TestValidateReportsDecodeAndSemanticErrorsTogether(t *testing.T) {
	home, dir := t.TempDir(), t.TempDir()
	b, err := os.ReadFile("../../../registrar/testdata/allatonce/runway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "runway.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, home, "validate", "--repo", dir, "-o", "json")
	var rep struct {
		Valid  bool
		Errors []struct{ Message string }
	}
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatalf("%v: %s %s", err, r.out, r.err)
	}
	if r.code != ExitInvalid || rep.Valid || len(rep.Errors) != 7 {
		t.Fatalf("exit %d, %d errors, want 7 at once: %+v", r.code, len(rep.Errors), rep.Errors)
	}
}

// Item 14: history --help states the exit code --verify really returns.
func TestHistoryHelpStatesTheVerifyExitCode(t *testing.T) {
	r := run(t, t.TempDir(), "history", "--help")
	want := fmt.Sprintf("exits %d", exitCode(ErrVerifyFailed))
	if r.code != 0 || !strings.Contains(strings.Join(strings.Fields(r.out), " "), want) {
		t.Fatalf("history --help does not say %q:\n%s", want, r.out)
	}
}

// Item 2: the policy published into the store holds without --platform.
func TestPublishedPolicyHoldsWithoutPlatformFlag(t *testing.T) {
	home, repo := t.TempDir(), sampleRepo(t)
	plat := filepath.Join(t.TempDir(), "platform.yaml")
	if err := os.WriteFile(plat, []byte("promotion:\n  rules:\n    - {to: production, from: [staging], actors: [alice]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, home, "register", "--repo", repo, "-o", "json")
	var reg struct{ Version string }
	if err := json.Unmarshal([]byte(r.out), &reg); r.code != 0 || err != nil {
		t.Fatalf("register: exit %d %v: %s", r.code, err, r.err)
	}
	if r := run(t, home, "platform", "apply", plat); r.code != 0 || !strings.Contains(r.out, "published") {
		t.Fatalf("platform apply: exit %d: %s%s", r.code, r.out, r.err)
	}
	if r := run(t, home, "promote", "--repo", repo, "--from", "development", "--version", reg.Version, "--actor", "mallory"); r.code != 0 {
		t.Fatalf("to staging: exit %d: %s", r.code, r.err)
	}
	r = run(t, home, "promote", "--repo", repo, "--to", "production", "--version", reg.Version, "--actor", "mallory")
	if r.code != ExitRefused || !strings.Contains(r.err, "mallory is not allowed") {
		t.Fatalf("mallory to production without --platform: exit %d, want %d: %s", r.code, ExitRefused, r.err)
	}
	if r := run(t, home, "platform", "apply", filepath.Join(t.TempDir(), "missing.yaml")); r.code == 0 {
		t.Fatal("applying a missing file succeeded")
	}
}

// Item 6: an unknown domain gets one answer from every command.
func TestUnknownDomainOneAnswer(t *testing.T) {
	home, repo := t.TempDir(), sampleRepo(t)
	r := run(t, home, "register", "--repo", repo, "-o", "json")
	var reg struct{ Version string }
	if err := json.Unmarshal([]byte(r.out), &reg); r.code != 0 || err != nil {
		t.Fatalf("register: exit %d %v: %s", r.code, err, r.err)
	}
	const want = `unknown domain "prod": the platform has development, staging, production`
	for _, args := range [][]string{
		{"validate", "--repo", repo, "--domain", "prod"},
		{"list", "--repo", repo, "--domain", "prod"},
		{"get", "task", "fit", "--repo", repo, "--domain", "prod"},
		{"run", "workflow", "train", "--repo", repo, "--domain", "prod", "-i", "rows=10", "-i", "seed=1"},
		{"promote", "--repo", repo, "--to", "prod", "--version", reg.Version, "--actor", "alice"},
		{"promote", "--repo", repo, "--from", "prod", "--version", reg.Version, "--actor", "alice"},
	} {
		r := run(t, home, args...)
		if r.code != ExitUsage || !strings.Contains(r.err, want) {
			t.Errorf("%v: exit %d, want %d and %q:\n%s%s", args, r.code, ExitUsage, want, r.out, r.err)
		}
	}
}

// Item 5: run --wait=false returns at once, and a separate process runs
// the execution to the end after the command has returned.
func TestRunWithoutWaitRunsToTheEnd(t *testing.T) {
	home, repo := t.TempDir(), sampleRepo(t)
	if r := run(t, home, "register", "--repo", repo); r.code != 0 {
		t.Fatalf("register: exit %d: %s", r.code, r.err)
	}
	r := run(t, home, "run", "workflow", "train", "--repo", repo, "-i", "rows=200", "-i", "seed=3", "--wait=false", "-o", "json")
	var ex struct{ ID, Status string }
	if err := json.Unmarshal([]byte(r.out), &ex); r.code != 0 || err != nil || ex.ID == "" {
		t.Fatalf("run --wait=false: exit %d %v: %s%s", r.code, err, r.out, r.err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		r = run(t, home, "get", "execution", ex.ID, "--repo", repo, "-o", "json")
		if err := json.Unmarshal([]byte(r.out), &ex); err != nil {
			t.Fatalf("get execution: %v: %s%s", err, r.out, r.err)
		}
		if ex.Status == "succeeded" {
			return
		}
		if ex.Status == "failed" || ex.Status == "aborted" || time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(home, "detached", ex.ID+".log"))
			t.Fatalf("execution %s is %s, want succeeded; detached log:\n%s", ex.ID, ex.Status, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Item 14: a refused register does not print "registered ... into".
func TestRefusedRegisterDoesNotSayRegistered(t *testing.T) {
	home, repo := t.TempDir(), sampleRepo(t)
	if r := run(t, home, "register", "--repo", repo, "--version", "v1"); r.code != 0 {
		t.Fatalf("register: exit %d: %s", r.code, r.err)
	}
	yaml := filepath.Join(repo, "runway.yaml")
	b, err := os.ReadFile(yaml)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(yaml, []byte(strings.Replace(string(b), "retries: 1", "retries: 2", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, home, "register", "--repo", repo, "--version", "v1")
	if r.code != ExitConflict {
		t.Fatalf("exit %d, want %d: %s%s", r.code, ExitConflict, r.out, r.err)
	}
	if strings.Contains(r.out, "registered house-prices@v1") || !strings.Contains(r.out, "did not register house-prices@v1") {
		t.Fatalf("a refused register says:\n%s", r.out)
	}
}

// Item 14: scheduler --once -o json prints one JSON document, [] when
// nothing is due.
func TestSchedulerOnceJSON(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "store"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := run(t, home, "scheduler", "--once", "-o", "json")
	var fires []map[string]any
	if err := json.Unmarshal([]byte(r.out), &fires); r.code != 0 || err != nil || fires == nil || len(fires) != 0 {
		t.Fatalf("exit %d, %v, %q: want []", r.code, err, r.out)
	}
}

// Item 7: every attempt's log is kept under RUNWAY_HOME and runway logs
// prints it; get output fetches a file output by its digest.
func TestLogsAndGetOutput(t *testing.T) {
	home, repo := t.TempDir(), sampleRepo(t)
	if r := run(t, home, "register", "--repo", repo); r.code != 0 {
		t.Fatalf("register: exit %d: %s", r.code, r.err)
	}
	r := run(t, home, "run", "workflow", "train", "--repo", repo, "-i", "rows=200", "-i", "seed=3", "-o", "json")
	var ex struct{ ID, Status string }
	if err := json.Unmarshal([]byte(r.out), &ex); r.code != 0 || err != nil || ex.Status != "succeeded" {
		t.Fatalf("run: exit %d %v: %s%s", r.code, err, r.out, r.err)
	}
	// A succeeded attempt's log is kept too.
	r = run(t, home, "logs", ex.ID, "fit", "--repo", repo)
	if r.code != 0 || !strings.Contains(r.out, "fit: 160 rows") {
		t.Fatalf("logs fit: exit %d:\n%s%s", r.code, r.out, r.err)
	}
	if _, err := os.Stat(filepath.Join(home, "logs", ex.ID, "fit", "attempt-1.log")); err != nil {
		t.Errorf("the log is not under RUNWAY_HOME: %v", err)
	}
	r = run(t, home, "logs", ex.ID, "--repo", repo)
	if r.code != 0 || !strings.Contains(r.out, "==> prep attempt 1") || !strings.Contains(r.out, "==> eval attempt 1") {
		t.Fatalf("logs: exit %d:\n%s%s", r.code, r.out, r.err)
	}
	if r := run(t, home, "logs", ex.ID, "fit", "--attempt", "7", "--repo", repo); r.code == 0 {
		t.Error("a missing attempt printed nothing and exited 0")
	}
	if r := run(t, home, "logs", ex.ID, "nosuchnode", "--repo", repo); r.code != ExitUsage {
		t.Errorf("unknown node: exit %d, want %d", r.code, ExitUsage)
	}

	to := filepath.Join(t.TempDir(), "model.json")
	r = run(t, home, "get", "output", ex.ID, "fit", "model", "--to", to, "--repo", repo)
	if r.code != 0 {
		t.Fatalf("get output: exit %d: %s", r.code, r.err)
	}
	if b, err := os.ReadFile(to); err != nil || !strings.Contains(string(b), `"weights"`) {
		t.Fatalf("model.json: %v %q", err, b)
	}
	if r := run(t, home, "get", "output", ex.ID, "fit", "model", "--to", to, "--repo", repo); r.code == 0 || !strings.Contains(r.err, "exists") {
		t.Errorf("overwrote %s: exit %d %s", to, r.code, r.err)
	}
	r = run(t, home, "get", "output", ex.ID, "eval", "r2", "--repo", repo)
	if r.code != 0 || strings.TrimSpace(r.out) == "" {
		t.Errorf("scalar output: exit %d %q %s", r.code, r.out, r.err)
	}
	if r := run(t, home, "get", "output", ex.ID, "fit", "nosuch", "--repo", repo); r.code != ExitUsage || !strings.Contains(r.err, "model, train_rmse") {
		t.Errorf("unknown output: exit %d %s", r.code, r.err)
	}
}

// Item 14: shell completion completes entity names and execution IDs.
func TestCompletionOfNamesAndExecutions(t *testing.T) {
	home, repo := t.TempDir(), sampleRepo(t)
	if r := run(t, home, "register", "--repo", repo); r.code != 0 {
		t.Fatalf("register: exit %d: %s", r.code, r.err)
	}
	r := run(t, home, "run", "task", "prepare", "--repo", repo, "-i", "rows=50", "-i", "seed=1", "-o", "json")
	var ex struct{ ID string }
	if err := json.Unmarshal([]byte(r.out), &ex); r.code != 0 || err != nil {
		t.Fatalf("run: exit %d %v: %s", r.code, err, r.err)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "get", "task", "--repo", repo, ""}, []string{"prepare", "fit", "evaluate", "profile"}},
		{[]string{"__complete", "get", "execution", "--repo", repo, ""}, []string{ex.ID}},
		{[]string{"__complete", "logs", "--repo", repo, ex.ID[:4]}, []string{ex.ID}},
		{[]string{"__complete", "logs", ex.ID, "--repo", repo, ""}, []string{"prepare"}},
		{[]string{"__complete", "history", "--repo", repo, ""}, []string{"workflow/train", "launchplan/nightly", "task/fit"}},
	} {
		r := run(t, home, tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(r.out, w) {
				t.Errorf("%v: %q missing from:\n%s%s", tc.args, w, r.out, r.err)
			}
		}
	}
}
