package store

import "path"

// Repository and tag names, as in DESIGN.md's table. Keep every name in this
// file so the layout is documented in one place.

// ImageRepo is where a project's dependency images live.
func ImageRepo(project string) string { return path.Join(project, "image") }

// ImageTag is the tag of the dependency image with the given hash (hex).
func ImageTag(hash string) string { return "deps-" + hash }

// BundleRepo is where a project's code bundles live.
func BundleRepo(project string) string { return path.Join(project, "bundle") }

// BundleTag is the tag of a bundle whose identity digest hex is hex.
func BundleTag(hex string) string { return "sha256-" + hex }

// EntityRepo is the repository of one entity in one domain.
func EntityRepo(project, domain, kind, name string) string {
	return path.Join(project, domain, kind, name)
}

// DomainPrefix is the prefix shared by every repository of a project's domain.
func DomainPrefix(project, domain string) string { return path.Join(project, domain) + "/" }

// CacheRepo holds cached task results of a domain.
func CacheRepo(project, domain string) string { return path.Join(project, domain, "cache") }

// ExecutionRepo holds execution records of a domain.
func ExecutionRepo(project, domain string) string { return path.Join(project, domain, "execution") }

// ActiveTag marks the active version of a launch plan.
const ActiveTag = "active"
