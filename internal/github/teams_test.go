package github

import (
	"context"
	"testing"
)

// "@org/team" actors are resolved through GitHub's team membership API
// (issue 17, item 10), against the strict fake built from GitHub's REST
// description.
func TestTeamMember(t *testing.T) {
	f := newFake(t)
	f.SetTeamMember("acme", "ml-platform", "alice")
	c := newClient(t, f)
	ctx := context.Background()
	for _, tc := range []struct {
		team, user string
		want       bool
	}{
		{"@acme/ml-platform", "alice", true},
		{"acme/ml-platform", "Alice", true},
		{"@acme/ml-platform", "mallory", false},
		{"@acme/other", "alice", false},
	} {
		got, err := c.TeamMember(ctx, tc.team, tc.user)
		if err != nil || got != tc.want {
			t.Errorf("TeamMember(%s, %s) = %v, %v; want %v", tc.team, tc.user, got, err, tc.want)
		}
	}
	if _, err := c.TeamMember(ctx, "@acme", "alice"); err == nil {
		t.Error("a team without a slug was accepted")
	}
}
