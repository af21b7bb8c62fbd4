package github

import "slices"

// Repository permissions, least first: the roles GitHub reports for a
// collaborator (RepositoryPermission) and the values the platform's
// promotion rules require (requiredPermission). This is runway's one
// ranking of them; the PR commands and promote's policy both use it.
var permissions = []string{"read", "triage", "write", "maintain", "admin"}

// PermissionRank orders repository roles: none < read < triage < write <
// maintain < admin. Unknown roles (custom repository roles, which GitHub
// always builds on one of the five) rank as read, the least any role
// grants.
func PermissionRank(role string) int {
	if role == "none" || role == "" {
		return 0
	}
	if i := slices.Index(permissions, role); i >= 0 {
		return i + 1
	}
	return 1
}

// KnownPermission reports whether p is one of GitHub's five repository
// permissions, as a platform rule must name one.
func KnownPermission(p string) bool { return slices.Contains(permissions, p) }
