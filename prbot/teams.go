package prbot

import "context"

// teamMembers is the optional capability of a GitHub that resolves team
// membership (*github.Client has it): "@org/team" actors in the promotion
// policy are checked against GitHub, not taken from the caller.
type teamMembers interface {
	TeamMember(ctx context.Context, team, user string) (bool, error)
}

// memberOf returns promote.Actor.MemberOf for user, or nil when the
// GitHub in use cannot say.
func (r *run) memberOf(user string) func(context.Context, string) (bool, error) {
	tm, ok := r.GitHub.(teamMembers)
	if !ok || user == "" {
		return nil
	}
	return func(ctx context.Context, team string) (bool, error) { return tm.TeamMember(ctx, team, user) }
}
