// Package lock is runway's one Locker: named exclusive locks that hold
// across operating-system processes, for the writes a registry cannot make
// safe by itself (a version tag, the active tag of a launch plan, a
// promotion record, a cache key, a schedule's next fire time, a pull
// request's command queue). Content-addressed writes need no lock: two
// writers of one digest write the same bytes.
//
// Every lock key is named in keys.go. Three implementations:
//
//   - kubelease.Locker (package kubelease): a coordination.k8s.io Lease per
//     key, with compare-and-swap on resourceVersion, expiry and renewal.
//     Used wherever runway has a cluster: the webhook server, the
//     Kubernetes executor, or --lock kubernetes.
//   - Registry: the claim protocol below, for teams with a registry and no
//     cluster (--lock registry).
//   - Process and ForStore: in-process locks (tests, one process), and the
//     store's own lock, which for the on-disk store is a file lock that
//     every process sharing the directory respects (--lock file).
//
// A Held's Context is cancelled with cause ErrLost when the lock is lost
// while held (renewals failed for too long, or another holder took over);
// work under a lock uses that context, so it stops rather than write
// unprotected. Do wraps acquire, work and release.
//
// # The registry claim protocol
//
// A registry has no compare-and-swap, but it has a consistent tag list on
// the registries named below. Each lock key owns one repository,
// store.LockRepo(key). A contender names its claim once,
// "claim-<16 hex of its start time>-<random>", and writes it as tags
// "<claim>-<seq>": each write is a new tag with the next sequence number,
// written before the previous tag is deleted, so the claim stays listed
// from its first write to its release and a tag list alone (no manifest
// reads) shows whether its holder is alive. A contender loops:
//
//  1. list the tags. A claim whose highest sequence number this contender
//     has seen unchanged for longer than the lease time is dead, measured
//     on its own monotonic clock (never by comparing another machine's
//     clock); its tags are deleted and it does not count;
//  2. with no claim of its own: if another live claim is listed, wait
//     (jittered, doubling backoff) and go to 1; else write its claim;
//  3. with a claim: list again; win when its claim is listed and no other
//     live claim is. Otherwise, if a live claim with an older name is
//     listed, withdraw (delete its tag); if its own is the oldest, keep it
//     (rewritten, so it stays alive) until the others withdraw or the
//     holder releases. Wait and go to 1.
//
// Looking before writing keeps collisions rare; when two claims meet, the
// older stays, so the protocol does not livelock; safety never depends on
// either rule.
//
// The holder rewrites its claim every quarter lease. It relies on the lock
// only for three quarters of a lease after the start of its last
// successful write; past that it stops renewing and its context ends with
// ErrLost. Release deletes the claim.
//
// Safety. Suppose A and B both win. A's claim a was written before A's
// winning list L_A and stays until A releases; the same for b and L_B. L_A
// does not show b, so b's last write before L_B came after L_A (b was not
// deleted and rewritten in between, or L_B would not show it); likewise a's
// last write came after L_B. Then write(a) < L_A < write(b) < L_B <
// write(a), a contradiction. The one exception is removal as dead: a
// contender deletes a claim only after seeing it unchanged for a whole
// lease on its own clock, starting no earlier than that write began, and
// the holder has stopped relying on that write a quarter lease earlier. So
// two holders never overlap, given that (1) the tag list reflects every
// completed tag write and delete (read-after-write consistency of the
// listing), (2) clocks on both machines run at about the same rate (skew
// of the absolute time does not matter), and (3) a holder is never paused
// (stopped, swapped out) for more than a quarter lease between checking its
// deadline and finishing a write. (3) is the limit of every lease without
// fencing tokens, client-go's leader election included.
//
// Where it is safe. (1) holds for CNCF distribution (Debian's
// docker-registry, the test tier here) on filesystem storage and on S3
// (strongly consistent since 2020), for zot on local disk, and for any
// single registry that serves tag lists from its primary store. It does
// not hold behind a caching proxy or CDN that caches /tags/list, across
// geo-replicated registries (replication is asynchronous), or on
// registries that cannot delete a tag (the claim protocol needs DELETE of
// a tag; such a registry makes Acquire fail with an error that says so)
// or that make tags immutable (renewal rewrites the claim's tag). There,
// use the Lease, or run writers one at a time (one CI concurrency group).
//
// A holder that dies (kill -9, a lost machine) holding a claim blocks
// others for one lease time, counted from when each waiter first looks:
// its sequence number stops growing, every waiter deletes it after a lease, and the
// work the dead holder did is either complete (runway writes the tag last,
// after the content it names) or invisible (blobs without a tag, which the
// next holder rewrites identically). The claim repository then holds no
// tags; its manifests are untagged and harmless.
//
// Cost: an uncontended acquisition is two tag lists and one small manifest
// PUT (its blob exists after the first); release is one DELETE, a renewal
// a PUT and a DELETE; a waiter lists the tags once per backoff step.
//
// Layer: an internal package (see README.md). It imports the standard
// library, third-party modules and other internal packages only: never a
// domain package, never flow, a presentation package (prbot, ui) or an entry
// point (cmd/, action/, server/). Only its tests import test kits
// (internal/testkit/...); internal/archtest checks this.
package lock
