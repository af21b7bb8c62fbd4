package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/registrar"
)

// TestPromoteActivateHistory drives the commands end to end on the
// embedded default store: register, promote twice, promote again
// (unchanged), history (text and JSON), deactivate and activate, a refused
// skip, and history --verify after tampering.
func TestPromoteActivateHistory(t *testing.T) {
	home := t.TempDir()
	repo := sampleRepo(t)
	r, err := git.PlainOpen(repo)
	if err != nil {
		t.Fatal(err)
	}
	head, err := r.Head()
	if err != nil {
		t.Fatal(err)
	}
	sha := head.Hash().String()
	if res := run(t, home, "register", "--repo", repo); res.code != 0 {
		t.Fatalf("register: %d %s", res.code, res.err)
	}
	res := run(t, home, "promote", "--repo", repo, "--from", "development", "--to", "production", "--version", sha)
	if res.code != ExitRefused || !strings.Contains(res.err, "production may only be reached from staging") {
		t.Fatalf("skipping staging: %d %s", res.code, res.err)
	}
	res = run(t, home, "promote", "--repo", repo, "--from", "development", "--version", sha, "--actor", "alice", "--pr", "4", "--pr-url", "https://github.example/o/r/pull/4")
	if res.code != 0 || !strings.Contains(res.out, "6 promoted, 0 unchanged") || !strings.Contains(res.out, "nightly is now active in staging") {
		t.Fatalf("promote to staging: %d\n%s%s", res.code, res.out, res.err)
	}
	res = run(t, home, "promote", "--repo", repo, "--to", "production", "--version", sha, "--actor", "alice", "-o", "json")
	var rep struct {
		From     string `json:"from"`
		Entities []struct {
			Status   string `json:"status"`
			Manifest string `json:"manifest"`
		} `json:"entities"`
	}
	if err := json.Unmarshal([]byte(res.out), &rep); err != nil || res.code != 0 || rep.From != "staging" || len(rep.Entities) != 6 {
		t.Fatalf("promote to production -o json: %d %v\n%s%s", res.code, err, res.out, res.err)
	}
	res = run(t, home, "promote", "--repo", repo, "--to", "production", "--version", sha)
	if res.code != 0 || !strings.Contains(res.out, "0 promoted, 6 unchanged") {
		t.Fatalf("promote again: %d\n%s", res.code, res.out)
	}
	res = run(t, home, "history", "launchplan/nightly", "--repo", repo, "--verify")
	for _, want := range []string{"commit:  " + sha, "PR:      #4", "registered into development", "promoted from development to staging by alice", "activated in production", "all match"} {
		if !strings.Contains(res.out, want) {
			t.Errorf("history lacks %q:\n%s", want, res.out)
		}
	}
	res = run(t, home, "deactivate", "nightly", "--repo", repo, "-d", "production", "--actor", "ops")
	if res.code != 0 || !strings.Contains(res.out, "no longer active in production") {
		t.Fatalf("deactivate: %d %s%s", res.code, res.out, res.err)
	}
	res = run(t, home, "activate", "launchplan/nightly", "--repo", repo, "-d", "production", "--version", sha, "-o", "json")
	if res.code != 0 || !strings.Contains(res.out, `"status": "activated"`) {
		t.Fatalf("activate: %d %s%s", res.code, res.out, res.err)
	}

	// Tamper with production's fit task behind runway's back.
	s, err := layout.New(filepath.Join(home, "store"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := registrar.ID{Project: "house-prices", Domain: "production", Kind: registrar.KindTask, Name: "fit", Version: sha}
	st, err := registrar.Get(ctx, s, id)
	if err != nil {
		t.Fatal(err)
	}
	st.Entity.Task.Retries = 9
	raw, _ := st.Entity.Canonical()
	if _, err := store.PutArtifact(ctx, s, id.Repo(), sha, store.Artifact{ArtifactType: registrar.MediaTypeEntity, Layers: []store.Blob{{MediaType: registrar.MediaTypeEntity, Data: raw}}}); err != nil {
		t.Fatal(err)
	}
	res = run(t, home, "history", "task/fit", "--repo", repo, "--verify", "-o", "json")
	var h struct {
		Verify struct {
			Findings []struct{ Domain, Problem string } `json:"findings"`
		} `json:"verify"`
	}
	if err := json.Unmarshal([]byte(res.out), &h); err != nil || res.code != ExitRefused || len(h.Verify.Findings) == 0 || h.Verify.Findings[0].Domain != "production" {
		t.Fatalf("history --verify after tampering: %d %v\n%s%s", res.code, err, res.out, res.err)
	}
}

func TestPromoteUsageErrors(t *testing.T) {
	home := t.TempDir()
	for _, args := range [][]string{
		{"promote", "--project", "p", "--to", "staging"},
		{"promote", "--project", "p", "--version", "abc"},
		{"promote", "--project", "p", "--on-merge", "--merge-sha", "m"},
		{"promote", "--project", "p", "--version", "abc", "--to", "staging", "--entity", "widget/x"},
		{"promote", "--project", "p", "--version", "abc", "--to", "staging", "--check", "nope"},
		{"history", "train", "--project", "p"},
		{"activate", "task/fit", "--project", "p", "--version", "abc"},
		{"activate", "nightly", "--project", "p"},
		{"scheduler", "--poll", "0s", "--once"},
	} {
		if res := run(t, home, args...); res.code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, res.code, ExitUsage, res.err)
		}
	}
}

func TestSchedulerOnceNothingDue(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "store"), 0o755); err != nil {
		t.Fatal(err)
	}
	res := run(t, home, "scheduler", "--once")
	if res.code != 0 || !strings.Contains(res.out, "nothing due") {
		t.Fatalf("scheduler --once: %d %s%s", res.code, res.out, res.err)
	}
}
