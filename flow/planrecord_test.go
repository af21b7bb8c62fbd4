package flow

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/runway-ci/runway/internal/plan"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/storetest"
)

// A registration keeps its plan decision for the version's trail, once:
// registering the same version again against another base keeps the first.
func TestPRKeepsThePlanDecision(t *testing.T) {
	ctx := context.Background()
	reg := storetest.NewRegistry(t)
	s, err := remote.New(reg.Host+"/runway", remote.WithRetryWait(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	dir := gitRepo(t)
	first := runGit(t, dir, "rev-parse", "HEAD")
	appendFile(t, filepath.Join(dir, "requirements.txt"), "\n# pinned\n")
	second := commit(t, dir, "dependencies")
	proj := NewProject(s, nil, nil)

	if _, err := PR(ctx, proj, PRRequest{Repo: dir, Domain: "development", Base: first, Head: first, DryRun: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPlanRecord(ctx, s, "house-prices", first); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a dry run wrote a plan record: %v", err)
	}
	if _, err := PR(ctx, proj, PRRequest{Repo: dir, Domain: "development", Base: first, Head: second}); err != nil {
		t.Fatal(err)
	}
	rec, err := ReadPlanRecord(ctx, s, "house-prices", second)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Decision != plan.Image || rec.Base != first || rec.Head != second || rec.Changed != 1 || len(rec.Reasons) == 0 || rec.Reasons[0].Path != "requirements.txt" {
		t.Errorf("plan record %+v", rec)
	}
	// Again against itself (decision "none"): the first record stays.
	if _, err := PR(ctx, proj, PRRequest{Repo: dir, Domain: "staging", Base: second, Head: second}); err != nil {
		t.Fatal(err)
	}
	again, err := ReadPlanRecord(ctx, s, "house-prices", second)
	if err != nil || again.Decision != plan.Image || again.Base != first {
		t.Errorf("the second registration replaced the plan record: %+v %v", again, err)
	}
}
