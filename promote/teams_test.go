package promote_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/runway-ci/runway/promote"
)

// An "@org/team" actor rule is satisfied by a team membership the caller
// resolves (the Action and the server ask GitHub), and the record names
// the team (issue 17, item 10).
func TestTeamActorsResolvedThroughMemberOf(t *testing.T) {
	ctx := context.Background()
	s := layoutStore(t)
	dir, _ := sampleRepo(t)
	reg := register(t, s, dir, "development")
	plat := parsePlatform(t, "promotion:\n  rules:\n    - {to: staging, from: [development], actors: ['@acme/ml-platform']}\n")
	p := newPromoter(t, s, plat)
	var asked []string
	member := func(who string) func(context.Context, string) (bool, error) {
		return func(_ context.Context, team string) (bool, error) {
			asked = append(asked, who+" in "+team)
			return who == "alice" && team == "@acme/ml-platform", nil
		}
	}
	req := promote.Request{Project: project, From: "development", To: "staging", Version: reg.Version}
	req.Actor = promote.Actor{Login: "mallory", MemberOf: member("mallory")}
	if _, err := p.Promote(ctx, req); !errors.Is(err, promote.ErrNotAllowed) {
		t.Fatalf("mallory: %v, want refused", err)
	}
	req.Actor = promote.Actor{Login: "alice", MemberOf: member("alice")}
	rep, err := p.Promote(ctx, req)
	if err != nil {
		t.Fatalf("alice, a member of @acme/ml-platform: %v", err)
	}
	if strings.Join(asked, ";") != "mallory in @acme/ml-platform;alice in @acme/ml-platform" {
		t.Errorf("asked %q", asked)
	}
	if rep.Evidence == nil || !strings.Contains(strings.Join(rep.Evidence.Rules, ","), "actors") {
		t.Errorf("evidence %+v", rep.Evidence)
	}
	// A failing lookup is an error, not a silent refusal or approval.
	req.Actor = promote.Actor{Login: "bob", MemberOf: func(context.Context, string) (bool, error) { return false, errors.New("GitHub said 502") }}
	req.From, req.To = "staging", "production"
	p2 := newPromoter(t, s, parsePlatform(t, "promotion:\n  rules:\n    - {to: production, from: [staging], actors: ['@acme/ml-platform']}\n"))
	if _, err := p2.Promote(ctx, req); err == nil || errors.Is(err, promote.ErrNotAllowed) || !strings.Contains(err.Error(), "502") {
		t.Fatalf("lookup failure: %v", err)
	}
}
