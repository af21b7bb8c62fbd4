// Package plan decides what a pull request needs: a new dependency image, a
// new code bundle over the existing image, or nothing but a registration.
//
// Plan diffs merge-base(base, head)..head (GitHub's three-dot diff, read by
// gitdiff), reads runway.yaml and .runwayignore at head from git objects
// (never from the work tree), and classifies every changed path:
//
//   - image: it matches an image.dependencies glob (pathmatch.Match), or it
//     is runway.yaml and its image section differs from the merge base's;
//   - bundle: it reaches the code bundle, that is, it is not excluded by
//     DefaultExcludes, bundle.exclude (pathmatch.MatchPrefix) or the root
//     .runwayignore; runway.yaml always counts, since it defines the entities;
//   - none: anything else.
//
// The decision is the strongest effect, image > bundle > none, and Reasons
// list every changed path with the rule that gave its effect, so that the
// decision explains itself ("README.md: default exclude: **/*.md: none").
//
// # A path reaches an entity iff it is in the bundle
//
// Entities carry the image digest and the bundle digest, so a change that
// moves neither cannot change what runs. DefaultExcludes (documentation and
// repository metadata) are therefore excluded from the bundle AND from the
// plan: fastreg must apply the same list, or a README-only change would plan
// `none` yet produce a different bundle. .runwayignore is read at the root
// only, as fastreg does; a change to it is a bundle change, because it
// changes which files the bundle holds.
//
// # The dependency hash
//
// DependencyHash names the image (store.ImageTag): sha256 over a fixed JSON
// serialisation of image.base as written, image.install, image.env sorted by
// name, and each dependency file's path and git blob SHA at head, sorted by
// path. The base is hashed as written, not resolved to a digest: resolving
// needs the registry, and the plan must stay fast and work offline. The
// packager records the resolved base digest in the image's annotations; a
// team that wants the hash to follow the base's content pins it
// (name@sha256:...). If an image with the hash already exists in the store
// (a second branch with the same lockfile), nothing is rebuilt: the decision
// falls back to bundle (or none) and a Reason says so.
//
// # The bundle is not built here
//
// Building a bundle means reading every file of the head tree (100,000 in
// the benchmark): that is fastreg's job in the package step and cannot fit
// the plan's budget. Plan reports a bundle only when one was already built
// for the head tree: it looks up the alias tag store.BundleTreeTag(headTree)
// in store.BundleRepo(project), which flow writes next to the digest tag,
// and reads digest, size and file count from the manifest's annotations
// (store.AnnotationBundle*, the keys fastreg writes). Otherwise the bundle fields are empty and built is
// false.
//
// # Speed
//
// The plan path must take at most twice `git diff --name-only base...head`
// on a 100,000-file repository (bench/plan.sh measures it). gitdiff reads
// only the trees that differ; classification caches exclusion per directory
// and rejects globs by their first and last segments before asking
// pathmatch; dependency globs without wildcards are direct lookups, the
// others walk only the directories they can reach; WriteJSON encodes the
// result without reflection. The package imports no Kubernetes, GitHub or
// CLI code (go list -deps ./internal/plan).
//
// Layer: an internal package (see README.md). It imports the standard
// library, third-party modules and other internal packages only: never a
// domain package, never flow, a presentation package (prbot, ui) or an entry
// point (cmd/, action/, server/). Only its tests import test kits
// (internal/testkit/...); internal/archtest checks this.
package plan
