// Package registrar turns a runway.yaml into immutable, versioned entities
// and writes them into a store.
//
// Loading and validation: spec.Parse reads runway.yaml strictly (unknown
// fields are errors; every error has the file and line, also through
// anchors and aliases; top-level keys starting with "x-" may hold anchors).
// Compile then runs every compile-time check before anything is written
// and reports all problems at once, each naming the file, line, entity and
// field: DNS-1123 names, references (local and pinned cross-project
// "project/name@sha", looked up in the store), an acyclic workflow DAG,
// bindings type-checked against task interfaces, resources as Kubernetes
// quantities with requests <= limits <= the target domain's ceilings,
// cron schedules and durations.
//
// Entities: an entity's stored form is canonical JSON (sorted keys, no
// insignificant whitespace, no HTML escaping) holding everything that
// decides its behaviour — image digest, bundle digest, command, resources,
// interface, cache and retry settings — and nothing that depends on the
// domain it is stored in. Its sha256 is the entity digest. Decisions:
//
//   - Per-domain resource defaults are applied by the executor at run time,
//     not written into the entity; otherwise promotion could not copy an
//     entity by digest.
//   - The version is the HEAD commit SHA (go-git). A dirty working tree gets
//     "<sha>-dirty-<first 12 hex of the bundle digest>". A directory that is
//     not a git repository is refused unless --version is given.
//   - Each entity is an OCI 1.1 artifact: artifactType and the single layer
//     are application/vnd.runway.entity.v1+json, the config is the empty
//     descriptor, and the manifest carries the registration time.
//
// Registration is idempotent and never overwrites: an identity that exists
// with the same digest is a no-op, with a different digest it is a
// *ConflictError (errors.Is ErrConflict) naming both digests and the fields
// that differ. Writes to one identity are serialised with Store.Lock and
// read back after writing, because registries have no compare-and-swap.
// Kinds are written in dependency order with bounded parallelism inside a
// kind; a failure returns a *RegisterError listing exactly what was
// written, and running the registration again completes it.
//
// Layer: a domain package (see README.md). It imports internal packages
// only, no other domain package and nothing above: never flow, a
// presentation package (prbot, ui) or an entry point (cmd/, action/,
// server/). Only its tests import test kits (internal/testkit/...);
// internal/archtest checks this.
package registrar
