package github

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// TeamMember reports whether user is an active member of the team
// "@org/slug" (or "org/slug"), the form promotion policies name teams in.
// Not a member, or a team the token cannot see, is false; a pending
// invitation is not membership.
func (c *Client) TeamMember(ctx context.Context, team, user string) (bool, error) {
	org, slug, ok := strings.Cut(strings.TrimPrefix(team, "@"), "/")
	if !ok || org == "" || slug == "" || strings.Contains(slug, "/") {
		return false, fmt.Errorf("team %q is not @org/team", team)
	}
	what := fmt.Sprintf("reading %s's membership of %s", user, team)
	m, resp, err := c.REST.Teams.GetTeamMembershipBySlug(ctx, org, slug, user)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return false, nil
		}
		return false, wrap(what, resp, err)
	}
	return m.GetState() == "active", nil
}
