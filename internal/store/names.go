package store

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

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

// BundleTreeTag is the alias tag, in BundleRepo, of the bundle built from
// the git tree treeSHA, so plan finds a tree's bundle without building it.
func BundleTreeTag(treeSHA string) string { return "tree-" + treeSHA }

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

// PlanRepo holds the plan decision of each registered version of a
// project, tagged with the version (flow's plan records).
func PlanRepo(project string) string { return path.Join(project, "plan") }

// ScheduleRepo holds the scheduler's state of a domain: one tag per launch
// plan, whose manifest annotations hold the last fire time. It is not an
// entity repository (registrar skips it).
func ScheduleRepo(project, domain string) string { return path.Join(project, domain, "schedule") }

// RemovalRepo holds one record per removed domain of a project (a pull
// request's, tagged with the domain's name): what was removed, and what
// the registry refused to delete.
func RemovalRepo(project string) string { return path.Join(project, "removal") }

// ActiveTag marks the active version of a launch plan.
const ActiveTag = "active"

// referrersTagPrefix starts the tags a registry without the referrers API
// keeps a manifest's referrers index under ("sha256-<hex>", the OCI
// referrers tag schema).
const referrersTagPrefix = "sha256-"

// IsVersionTag reports whether a tag in an entity repository names a
// version, rather than ActiveTag or a referrers index.
func IsVersionTag(tag string) bool {
	return tag != ActiveTag && !strings.HasPrefix(tag, referrersTagPrefix)
}

// LockRepo holds the claims of one lock of the registry claim protocol
// (package lock): "runway-locks/<first 32 hex of sha256(key)>".
func LockRepo(key string) string {
	sum := sha256.Sum256([]byte(key))
	return path.Join("runway-locks", hex.EncodeToString(sum[:16]))
}

// LockClaimTagPrefix starts every claim tag in a LockRepo.
const LockClaimTagPrefix = "claim-"

// PlatformRepo holds the platform config the platform team published into
// the store (`runway platform apply`); every runway that opens the store
// enforces its promotion policy, whatever flags it was given.
const PlatformRepo = "runway-platform/config"

// PlatformTag points at the published platform config in PlatformRepo.
const PlatformTag = "current"

// AttestationTag is the tag, in its subject's repository, of the newest
// provenance attestation of the manifest d: "sha256-<hex>.att", the tag
// cosign looks attestations up by. The attestation is also a referrer of
// d (see Store.Referrers); the tag is for tools that predate referrers.
func AttestationTag(d v1.Hash) string { return d.Algorithm + "-" + d.Hex + ".att" }
