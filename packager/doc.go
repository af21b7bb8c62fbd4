// Package packager builds and pushes a project's dependency image without a
// container daemon: the "package" step of the flow when a pull request
// changes dependency files (see fastreg for the code-only path).
//
// # What Build makes
//
// Build takes the image recipe from runway.yaml (spec.Image), the
// dependency hash computed by the plan step, and the checked-out
// repository, and makes sure store.ImageRepo(project) holds an image tagged
// store.ImageTag(hash) ("deps-<hash>"). The image is the base plus up to two
// layers:
//
//  1. the base image, resolved to a digest by a BaseResolver (by default
//     from its registry through go-containerregistry, with the default
//     keychain; for an index, the linux/GOARCH child is used);
//  2. the dependency layer: image.install runs on the build host, in the
//     repository directory, with RUNWAY_LAYER pointing at an empty staging
//     directory; what it leaves there becomes the layer, rooted at "/"
//     (so "$RUNWAY_LAYER/opt/deps/x" is "/opt/deps/x" in the image);
//  3. the runway layer: the runway binary at /usr/local/bin/runway, mode
//     0755, so every image can run `runway exec-task`.
//
// Layers runway adds carry the annotation dev.runway.layer
// ("dependencies" or "runway") on their descriptors, so tools and tests
// can find them without counting.
//
// If the tag exists, Build returns at once (Result.Existed): no install,
// no layer, no upload. The dependency hash is the image's identity; the
// digest under it need not be recomputed to know it is there.
//
// # Decisions
//
// No dependency layer when there is nothing in it. With no install command,
// or when the command leaves $RUNWAY_LAYER empty, the image is base +
// runway layer. An empty layer would add a blob, a diff id and a history
// entry that carry nothing; the layer annotation tells the layers apart.
//
// The install command is argv, run without a shell unless the user wrote
// one (["sh", "-c", "..."]). It gets the host environment, then image.env,
// then RUNWAY_LAYER; image.env values may use $VAR from the host
// environment there ("PATH=/opt/venv/bin:$PATH"), and from the base
// image's env in the image config ("PYTHONPATH=/opt/deps:$PYTHONPATH");
// "$$" is a literal "$". image.env values never expand each other, so the
// result does not depend on map order. On failure, InstallError carries the
// command, the exit code and the last 40 lines (at most 4 KiB) of output;
// the staging directory and layer files are always removed (read-only
// directories included), also when ctx is cancelled.
//
// Config: the base config with image.env merged into its Env (base order
// kept, keys replaced in place, new keys appended sorted), PATH always
// containing /usr/local/bin (the base's PATH, or Docker's default when the
// base sets none), Entrypoint ["/usr/local/bin/runway"] and Cmd cleared, so
// `IMAGE version` and `IMAGE exec-task ...` run runway and the base's Cmd
// (a shell, an interpreter) never becomes runway's arguments. Working
// directory, user and labels come from the base.
//
// Manifest: always OCI (the manifest, the config media type, and the layer
// descriptors; a Docker base's layers are re-described as OCI gzip layers,
// the blobs being the same gzip tars). Docker schema 2 manifests have no
// annotations, and these annotations are part of the contract:
// org.opencontainers.image.revision and .source (from the request, omitted
// when empty), .base.name (the base reference fully qualified) and
// .base.digest (what that reference resolved to, index or manifest: the
// digest a user would pin). The revision annotation makes the manifest
// digest differ per commit while the layers and config stay identical, so
// a second hash with the same layers uploads one manifest and no blob.
//
// Why go-containerregistry's mutate: the base is a remote image whose
// layers are never downloaded unless the target store lacks them; mutate
// adds layers and rewrites config and manifest lazily on top of it, and the
// store's WriteImage (concurrent uploads, existing blobs skipped, retries
// from the store's transport) streams only what is missing. Base layers in
// the same registry are mounted rather than copied. runway's own layers are
// written once to files (tar and gzip in one pass, hashing both the
// compressed and uncompressed streams), so the push never recompresses.
//
// # Reproducibility
//
// The same inputs give the same image digest, on any machine with the same
// runway version:
//   - entries sorted by full path (not per directory), parents before
//     children;
//   - uid and gid 0, no user or group names, mtime 1970-01-01, no access
//     or change times, so no PAX time records (PAX only for paths over 100
//     bytes);
//   - modes normalised: directories 0755, files 0755 if any execute bit is
//     set else 0644 (an installer's 0600 would break non-root tasks),
//     symlinks kept as written; setuid, setgid and sticky bits dropped;
//   - files that share an inode become hardlinks to the first of their paths
//     in sorted order (pip and conda hardlink); FIFOs, sockets and devices
//     are refused (ErrUnsupportedFile);
//   - gzip through klauspost/pgzip at level 6 with 1 MiB blocks: its output
//     depends on the level and block size, not on scheduling, and it uses
//     both cores on large dependency layers;
//   - the config's created time and runway's history entries are 1970-01-01.
//
// A new pgzip version may compress differently; that changes digests, not
// tags, and the hash-named tag is what the flow keys on.
//
// Speed (BenchmarkWriteLayer, 64 MiB in 2,000 files, half incompressible,
// on 2 shared cores): about 1.1 s per layer, where `tar --sort=name | gzip
// -6` takes 4.9 s and `| pigz -6` 2.7 s for the same compressed size.
//
// # The hash: base as written, base as resolved
//
// The plan step (internal/plan) owns the dependency hash and passes it in;
// Build neither recomputes nor checks it. Build records the resolved base
// digest in the manifest, whatever the hash covered, so an image always
// says exactly which base bytes it was built on. If the hash covers only the
// base as written (a tag), a moved tag is not noticed until the hash
// changes; if it covers the resolved digest, a moved tag rebuilds. That
// choice is the plan step's.
//
// # Platform
//
// The install command and the runway binary both run natively on the build
// host, so images are built for linux/GOARCH only. A base whose config
// names another platform is refused, a runway binary that is not an ELF
// executable for that architecture is refused (ErrBadBinary), and so is a
// dynamically linked one: it would start only on a base that carries its
// ELF interpreter and a matching C library, never on scratch. `go build`
// links runway dynamically when cgo is on (net and os/user use libc), so
// the binary to embed is built with CGO_ENABLED=0.
//
// # Concurrency
//
// Two builds of one hash through one store take the store's lock for the
// tag, so the second finds the first one's image instead of rebuilding and
// retagging. Across processes on a Remote store (the lock is in-process
// there) both may build; the tag ends on one of two images with the same
// layers, and both digests stay valid.
//
// Layer: a domain package (see README.md). It imports internal packages
// only, no other domain package and nothing above: never flow, a
// presentation package (prbot, ui) or an entry point (cmd/, action/,
// server/). Only its tests import test kits (internal/testkit/...);
// internal/archtest checks this.
package packager
