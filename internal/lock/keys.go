package lock

import (
	"strconv"

	"github.com/runway-ci/runway/internal/store"
)

// Lock keys: every lock runway takes is named here, so that two writers of
// one thing always meet on the same key.

// EntityKey serialises every write to one entity repository in one domain:
// registering any version (the version tag and its registration record),
// promoting into it (the tag and the promotion record) and activating or
// deactivating a launch plan (the active tag and its records). One key per
// repository, not per version, because records of different operations
// share the repository's referrers index, which a registry without the
// referrers API keeps as a read-modify-write tag.
func EntityKey(project, domain, kind, name string) string {
	return "entity/" + store.EntityRepo(project, domain, kind, name)
}

// VersionKey serialises registrations of one version of a project into a
// domain, so that one writer's content wins the whole version: two writers
// of different content under one version (a SHA registered twice with
// other bytes) never leave it half A's and half B's. Taken before, and
// released after, the entity keys of the version's entities.
func VersionKey(project, domain, version string) string {
	return "version/" + project + "/" + domain + "/" + version
}

// CacheKey serialises runs of one cache key: the first run computes, the
// others find its entry once they hold the lock.
func CacheKey(project, domain, key string) string {
	return "cache/" + project + "/" + domain + "/" + key
}

// ScheduleKey serialises claims of one launch plan's next fire time, so a
// restarted or second scheduler never starts a run twice.
func ScheduleKey(repo, name string) string { return "schedule/" + repo + "/" + name }

// PRKey serialises the commands run for one pull request (the webhook
// server's per-PR queue).
func PRKey(repository string, number int) string {
	return "pr/" + repository + "/" + strconv.Itoa(number)
}

// BranchKey serialises the merges into one branch of one repository (the
// webhook server's merge promotion, in the order the pushes arrived).
func BranchKey(repository, ref string) string { return "branch/" + repository + "/" + ref }

// ImageKey serialises builds of one dependency image tag, so that a second
// build of the same hash (two PRs with the same lockfile) finds the first
// one's tag instead of building and retagging.
func ImageKey(repo, tag string) string { return "image/" + repo + ":" + tag }

// LeaderKey names the lock held by the one active replica of a service
// (for example "webhook-server").
func LeaderKey(service string) string { return "leader/" + service }
