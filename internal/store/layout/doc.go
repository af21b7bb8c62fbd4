// Package layout is the embedded-default Store: an OCI image layout directory
// (oci-layout, index.json, blobs/sha256/<hex>) that skopeo, oras and crane
// read as they read any layout.
//
// Decisions:
//
//   - Blobs are shared by every repository of the store. They are content
//     addressed, so HasBlob answers for the whole store and MountBlob only
//     checks that the blob exists.
//   - Repositories live in index.json. A tagged manifest is an entry
//     annotated org.opencontainers.image.ref.name = "<repo>:<tag>" (so
//     `skopeo inspect oci:DIR:<repo>:<tag>` works). Every entry also carries
//     io.runway.repo = <repo>; a manifest that is in a repository under no tag
//     (pushed by digest, or whose tag moved away) keeps an entry without
//     ref.name so it stays readable by digest, as it would in a registry.
//     A manifest with a subject carries io.runway.subject = <digest> and its
//     artifactType on the descriptor, so Referrers reads only index.json.
//   - Every write is atomic: bytes go to DIR/.tmp, blob content is hashed
//     and checked against its digest (and size) before the rename into
//     blobs/, index.json is rewritten whole and renamed over the old one. A
//     crash leaves at most a stray file in DIR/.tmp, never a half-written
//     blob or index. Files are fsynced before the rename unless WithoutFsync.
//   - index.json updates hold an exclusive flock on DIR/.lock, so several
//     runway processes can share a store. Readers take no lock: the index
//     they open is always a complete one.
//   - The parsed index stays in memory and is reused while the file on disk
//     is the same file (same inode, size and mtime; each write renames a new
//     file in), so a write costs one rewrite of index.json and no re-parse.
//     Each entry keeps its rendered JSON, so rendering the index is a copy.
//   - Store.Lock(key) is an in-process KeyedLocker (waits honour ctx) and
//     then an flock on DIR/locks/<sha256(key)>, polled so that ctx can
//     cancel the wait. Lock files are never removed (removing one would
//     race with a waiter that already opened it).
//   - Only sha256 digests are accepted.
//
// Layer: an internal package (see README.md). It imports the standard
// library, third-party modules and other internal packages only: never a
// domain package, never flow, a presentation package (prbot, ui) or an entry
// point (cmd/, action/, server/). Only its tests import test kits
// (internal/testkit/...); internal/archtest checks this.
package layout
