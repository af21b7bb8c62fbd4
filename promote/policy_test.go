package promote_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

const strictPlatform = `
promotion:
  rules:
    - to: staging
      actors: ["*"]
      requireExecution: true
    - to: production
      actors: [alice, "@acme/release"]
      requiredPermission: maintain
      requiredChecks: [ci/test]
      approvals: 2
`

// TestPolicy runs the promotion policy over requests that each break or
// satisfy one rule. Executions come from the execution lister seam so that
// each case decides what ran.
func TestPolicy(t *testing.T) {
	ctx := context.Background()
	s := layoutStore(t)
	dir, sha := sampleRepo(t)
	register(t, s, dir, "development")
	plat := parsePlatform(t, strictPlatform)
	succeeded := func(status executor.Status) promote.ExecutionLister {
		return func(ctx context.Context, _ store.Store, project, domain string) ([]*executor.Execution, error) {
			if domain != "development" {
				return nil, nil
			}
			fin := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
			return []*executor.Execution{{ID: "0001", Project: project, Domain: domain, Status: status, Finished: &fin,
				Target:   registrar.ID{Project: project, Domain: domain, Kind: registrar.KindLaunchPlan, Name: "nightly", Version: sha},
				Workflow: &registrar.Ref{Project: project, Name: "train", Version: sha},
				Nodes: []*executor.NodeRecord{
					{ID: "prep", Task: registrar.Ref{Project: project, Name: "prepare", Version: sha}, Status: status},
					{ID: "stats", Task: registrar.Ref{Project: project, Name: "profile", Version: sha}, Status: status},
					{ID: "fit", Task: registrar.Ref{Project: project, Name: "fit", Version: sha}, Status: status},
					{ID: "eval", Task: registrar.Ref{Project: project, Name: "evaluate", Version: sha}, Status: status},
				}}}, nil
		}
	}
	good := promote.Request{Project: project, From: "staging", To: "production", Version: sha,
		Actor:  promote.Actor{Login: "carol", Teams: []string{"@acme/release"}, Permission: "admin"},
		PR:     &promote.PR{Number: 3, Author: "dave"},
		Checks: []promote.Check{{Name: "ci/test", Conclusion: "success"}}, Approvals: []string{"erin", "frank", "dave"}}
	with := func(f func(r *promote.Request)) promote.Request {
		r := good
		f(&r)
		return r
	}
	cases := []struct {
		name      string
		req       promote.Request
		execs     executor.Status
		wantRules []string // violated rules; none = allowed
	}{
		{"staging with a succeeded run", promote.Request{Project: project, From: "development", To: "staging", Version: sha}, executor.StatusSucceeded, nil},
		{"staging without a succeeded run", promote.Request{Project: project, From: "development", To: "staging", Version: sha}, executor.StatusFailed, []string{"requireExecution"}},
		{"skipping staging", promote.Request{Project: project, From: "development", To: "production", Version: sha}, executor.StatusSucceeded, []string{"domains"}},
		{"production, everything satisfied", good, executor.StatusSucceeded, nil},
		{"actor by login", with(func(r *promote.Request) { r.Actor = promote.Actor{Login: "Alice", Permission: "maintain"} }), executor.StatusSucceeded, nil},
		{"actor not allowed", with(func(r *promote.Request) { r.Actor = promote.Actor{Login: "mallory", Permission: "admin"} }), executor.StatusSucceeded, []string{"actors"}},
		{"no actor", with(func(r *promote.Request) { r.Actor = promote.Actor{} }), executor.StatusSucceeded, []string{"actors", "requiredPermission"}},
		{"permission too low", with(func(r *promote.Request) { r.Actor.Permission = "write" }), executor.StatusSucceeded, []string{"requiredPermission"}},
		// A custom repository role ranks as read, as the PR commands rank it.
		{"custom role ranks as read", with(func(r *promote.Request) { r.Actor.Permission = "release-bot" }), executor.StatusSucceeded, []string{"requiredPermission"}},
		{"check failed", with(func(r *promote.Request) { r.Checks = []promote.Check{{Name: "ci/test", Conclusion: "failure"}} }), executor.StatusSucceeded, []string{"requiredChecks"}},
		{"check missing", with(func(r *promote.Request) { r.Checks = nil }), executor.StatusSucceeded, []string{"requiredChecks"}},
		{"author's approval does not count", with(func(r *promote.Request) { r.Approvals = []string{"erin", "dave", "DAVE"} }), executor.StatusSucceeded, []string{"approvals"}},
		{"duplicate approvals count once", with(func(r *promote.Request) { r.Approvals = []string{"erin", "Erin"} }), executor.StatusSucceeded, []string{"approvals"}},
		{"author unknown", with(func(r *promote.Request) { r.PR = nil }), executor.StatusSucceeded, []string{"approvals"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newPromoter(t, s, plat, promote.WithExecutions(succeeded(c.execs)))
			if c.req.From == "staging" {
				// Production promotions start from staging: put the version there first.
				sp := newPromoter(t, s, plat, promote.WithExecutions(succeeded(executor.StatusSucceeded)))
				if _, err := sp.Promote(ctx, promote.Request{Project: project, From: "development", To: "staging", Version: sha}); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := p.Promote(ctx, c.req)
			if len(c.wantRules) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if rep.Evidence == nil || len(rep.Evidence.Rules) == 0 {
					t.Fatalf("no evidence recorded: %+v", rep.Evidence)
				}
				return
			}
			var pe *promote.PolicyError
			if !errors.Is(err, promote.ErrNotAllowed) || !errors.As(err, &pe) {
				t.Fatalf("want ErrNotAllowed, got %v", err)
			}
			var got []string
			for _, v := range pe.Violations {
				if v.Satisfy == "" || v.Reason == "" {
					t.Errorf("violation without reason or remedy: %+v", v)
				}
				got = append(got, v.Rule)
			}
			for _, w := range c.wantRules {
				if !strings.Contains(strings.Join(got, " "), w) {
					t.Errorf("violations %v do not name %q", got, w)
				}
			}
			if len(got) != len(c.wantRules) {
				t.Errorf("violations %v, want only %v", got, c.wantRules)
			}
			t.Logf("%v", err)
		})
	}
	// A refused promotion wrote nothing.
	ents, err := registrar.List(ctx, s, project, "production", "")
	if err != nil || len(ents) != 1*6 {
		// the two allowed production cases promoted the 6 entities once
		t.Fatalf("production holds %d entities (err %v), want the 6 of the allowed promotions", len(ents), err)
	}
}

// TestPromotionRecordsEvidence: the execution that satisfied the policy is
// named in the entity's promotion record.
func TestPromotionRecordsEvidence(t *testing.T) {
	ctx := context.Background()
	s := layoutStore(t)
	dir, sha := sampleRepo(t)
	register(t, s, dir, "development")
	plat := parsePlatform(t, strictPlatform)
	p := newPromoter(t, s, plat, promote.WithExecutions(func(ctx context.Context, _ store.Store, project, domain string) ([]*executor.Execution, error) {
		return []*executor.Execution{{ID: "run1", Project: project, Status: executor.StatusSucceeded,
			Target: registrar.ID{Project: project, Domain: domain, Kind: registrar.KindWorkflow, Name: "train", Version: sha}, Workflow: &registrar.Ref{Project: project, Name: "train", Version: sha},
			Nodes: []*executor.NodeRecord{{Task: registrar.Ref{Project: project, Name: "prepare", Version: sha}, Status: executor.StatusSucceeded},
				{Task: registrar.Ref{Project: project, Name: "fit", Version: sha}, Status: executor.StatusSucceeded},
				{Task: registrar.Ref{Project: project, Name: "profile", Version: sha}, Status: executor.StatusSucceeded},
				{Task: registrar.Ref{Project: project, Name: "evaluate", Version: sha}, Status: executor.StatusSucceeded}}}}, nil
	}))
	if _, err := p.Promote(ctx, promote.Request{Project: project, From: "development", To: "staging", Version: sha, Actor: promote.Actor{Login: "ci"}}); err != nil {
		t.Fatal(err)
	}
	st, err := registrar.Get(ctx, s, registrar.ID{Project: project, Domain: "staging", Kind: registrar.KindLaunchPlan, Name: "nightly", Version: sha})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := promote.ReadRecords(ctx, s, st.ID.Repo(), st.Manifest.Digest)
	if err != nil {
		t.Fatal(err)
	}
	r := recs[0]
	if r.Type != promote.RecordPromotion || r.Actor != "ci" || r.From != "development" || r.Commit != sha || r.RunwayVersion != "test" ||
		r.Evidence == nil || len(r.Evidence.Executions) != 1 || r.Evidence.Executions[0].ID != "run1" || r.Manifest != st.Manifest.Digest.String() {
		t.Fatalf("record: %+v evidence %+v", r, r.Evidence)
	}
}
