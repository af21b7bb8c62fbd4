// Package fastreg is fast registration: it ships a pipeline's code as a
// small, reproducible tarball ("bundle") on top of an existing image, so a
// code-only change never rebuilds an image.
//
// # What goes in a bundle
//
// Build bundles the files git tracks at a commit (WithRevision, default
// HEAD), read from git objects, never from the worktree, minus the
// runway.yaml bundle.exclude globs (WithExclude; pathmatch.MatchPrefix, so
// "data" and "data/**" both drop everything under data/) and the rules of
// the commit's root .runwayignore (gitignore syntax, pathmatch.ParseIgnore).
// .gitignore plays no part for a commit: git does not track what it
// ignores, and a file force-added despite it is tracked, so it is bundled.
// Nothing under a .git segment is ever bundled.
//
// BuildWorktree is the variant for a dirty CLI checkout: tracked files as
// they are in the worktree plus untracked files that .gitignore (root and
// nested), .git/info/exclude do not ignore, with the same filters (the
// worktree's .runwayignore). Global excludes (core.excludesFile) are not
// read, so the result does not depend on the developer's git config.
// Bundle.Dirty compares the result with HEAD by path, kind and git blob
// id; a clean worktree gives byte-identical output to Build at HEAD, and
// Bundle.Version gives "<sha>-dirty-<first 12 hex of the digest>" when
// dirty (DESIGN.md).
//
// Symlinks are kept as symlinks when their target stays inside the tree
// and refused with a *SymlinkError otherwise. "Inside" is decided by a rule
// that does not trust lexical cleaning (which is wrong once a component is
// itself a link): the target is relative, may start with ".." components
// that do not climb above the root, and has no ".." after a named
// component. Extract applies the same rule, so whatever Build accepts
// extracts. Submodules (gitlinks) and nested repositories are skipped and
// listed in Bundle.Skipped.
//
// # Reproducible bytes
//
//   - Entries are sorted by path (byte order) and are files and symlinks
//     only: never directory entries, since git does not track directories
//     and extraction creates parents as needed (mode 0755).
//   - Headers: tar.FormatGNU for every entry (GNU long-name records for
//     paths over 100 bytes, never PAX, so no PAX timestamps), uid/gid 0, no
//     user or group names, mtime Unix 0, no atime/ctime, mode 0644 or 0755
//     from the git mode (symlinks 0777, as tar writes them).
//   - Compression: klauspost/pgzip at level 6 with a fixed 1 MiB block
//     size; the gzip header has no name, mtime 0 and OS 255. pgzip
//     compresses each block with the previous block's tail as dictionary,
//     so the bytes depend on the block size and the pinned klauspost/compress
//     version, never on concurrency (TestBuildIsReproducible builds with 1
//     and 4 goroutines; TestBuildGoldenDigest pins the bytes across machines).
//
// Bundle.Digest (sha256 of the uncompressed tar) is the bundle identity:
// the tag store.BundleTag(hex) and what entities carry. CompressedDigest is
// the OCI layer digest. The tarball is written to a temporary file (never
// held in memory); the caller removes it with Bundle.Close. Identify gives
// the same identity without compressing or writing anything (about a
// third of Build's CPU), for `runway plan` to report the bundle and look it
// up in the store before deciding to build.
//
// # Size budget
//
// WithMaxSize (default 100 MiB) bounds the uncompressed tar, computed
// exactly from object sizes before anything is compressed; over it, Build
// returns a *TooLargeError listing the ten largest files.
//
// # Speed
//
// Reading blobs through go-git's storage was most of the time: it re-opens
// the packfile for every object, hashes every object it caches (sha1cd) and
// inflates through a byte-at-a-time reader. objectDB reads packfiles
// (offset and ref deltas, via go-git's idxfile and PatchDelta) and loose
// objects directly with klauspost's zlib, reading exactly each object's
// extent of the pack, from several goroutines ahead of the tar writer
// (bounded to 32 MiB in flight); blobs over 8 MiB are streamed. go-git is
// still used for refs, commits, trees and the index, and as the fallback
// for anything objectDB cannot find (alternates).
//
// bench/bundle.sh compares whole processes with `git ls-files -z | tar
// --sort=name ... | pigz -6` on gentree.py's tree (20,000 files, 206 MB).
// Measured on the shared 2-core machine (2026-11-28): at load ~2, Build
// took 2.3-3.1 s against the reference's 14.9 s; at load 10-14, 7.8-8.5 s
// against 30-36 s (0.25x). Output 75.05 MB against pigz's 72.73 MB
// (+3.2%), byte-identical across runs; peak RSS 78 MB. CPU per build is
// about 4.6 s (pigz alone: 25 s): deflate ~55%, inflate ~30%, sha256 ~5%.
//
// # Upload and extraction
//
// Push writes an OCI 1.1 artifact (artifactType ArtifactType, empty config,
// one tar+gzip layer streamed from the file, annotations with the
// uncompressed digest, size and file count) under store.BundleRepo; an
// existing tag uploads nothing. The manifest depends only on the bundle
// bytes, so two commits with the same tree share one bundle.
//
// Extract and Fetch verify before they write: the stream is decompressed
// into a temporary file while it is hashed and every header is checked,
// counting decompressed bytes against Limits (decompression bombs); only a
// matching digest and acceptable members go on to the second pass, which
// unpacks through os.Root into a temporary directory next to the root and
// renames it into place. Refused members (absolute, "..", escaping or
// written-through symlinks, hardlinks, devices, FIFOs, duplicates, limits)
// give a *MemberError naming the member. testdata/hostile holds a generated
// corpus of such tarballs (go test -run TestGenerateHostileCorpus -update).
//
// Layer: a domain package (see README.md). It imports internal packages
// only, no other domain package and nothing above: never flow, a
// presentation package (prbot, ui) or an entry point (cmd/, action/,
// server/). Only its tests import test kits (internal/testkit/...);
// internal/archtest checks this.
package fastreg
