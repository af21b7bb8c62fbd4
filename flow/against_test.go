package flow

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/promote"
)

// TestAgainstBaseMovedOn: production runs a commit of main made after the
// branch was cut (a new cron). The report names that version, says the
// branch does not contain it, and shows the branch's cron as a change.
func TestAgainstBaseMovedOn(t *testing.T) {
	ctx := context.Background()
	s, err := layout.New(t.TempDir(), layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	proj := NewProject(s, nil, nil)
	dir := gitRepo(t)
	cut := runGit(t, dir, "rev-parse", "HEAD")
	yaml := filepath.Join(dir, "runway.yaml")
	b, err := os.ReadFile(yaml)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(yaml, []byte(strings.Replace(string(b), `"0 3 * * *"`, `"0 5 * * *"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	moved := commit(t, dir, "main moves on: nightly at five")
	if _, err := PR(ctx, proj, PRRequest{Repo: dir, Domain: "development", Head: moved}); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"staging", "production"} {
		if _, err := Promote(ctx, proj, promote.Request{Project: "house-prices", To: to, Version: moved}); err != nil {
			t.Fatal(err)
		}
	}
	runGit(t, dir, "checkout", "-q", "-b", "branch", cut)
	appendFile(t, filepath.Join(dir, "pipeline", "train.py"), "\n# the branch's change\n")
	head := commit(t, dir, "branch")

	rep, err := Against(ctx, proj, AgainstRequest{PR: PRRequest{Repo: dir, Base: cut, Head: head}, Against: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Compared) != 1 || rep.Compared[0] != moved || rep.MergeBase != cut {
		t.Fatalf("compared %v, merge-base %s; want [%s], %s", rep.Compared, rep.MergeBase, moved, cut)
	}
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "which this branch does not contain") || !strings.Contains(rep.Notes[0], moved[:12]) {
		t.Errorf("notes %q", rep.Notes)
	}
	for _, e := range rep.Entities {
		if e.Name == "nightly" && (e.Schedule == nil || e.Schedule.Before != "0 5 * * *" || e.Schedule.After != "0 3 * * *" || len(e.Schedule.AfterFires) != 3) {
			t.Errorf("nightly: %+v", e.Schedule)
		}
	}
}
