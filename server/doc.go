// Package server is `runway serve`: the standalone webhook server, an
// entry point beside the CLI and the Action. It receives GitHub's
// webhooks, makes each one durable, and hands it to the same PR pipeline,
// comment commands and merge promotion the Action runs (through prbot);
// it writes no step of that work itself.
//
// # The path of a delivery
//
// POST /webhook is a straight line: verify -> parse -> filter -> journal
// (fsync) -> queue -> 202. The answer never waits for the work.
//
//   - Signature: only X-Hub-Signature-256 (HMAC-SHA256 of the raw body),
//     compared in constant time. New refuses to build a server without a
//     secret; a request with no signature, a wrong one, or only the SHA-1
//     X-Hub-Signature is refused with 401 and the reason.
//   - Limits: 25 MiB body (GitHub's own cap; 413), a body that does not
//     arrive within the body timeout (10s, GitHub's delivery deadline) is
//     cut off (408), ReadHeaderTimeout 5s.
//   - JSON and form-encoded (payload=...) bodies are both accepted.
//   - Filter: pull_request opened/synchronize/reopened/closed,
//     issue_comment created whose first line starts with /runway (not by a
//     bot) and push to the repository's default branch are journaled for
//     work; ping, installation and installation_repositories are journaled
//     as done ("recorded": their whole effect).
//     Every other delivery is answered 202 "ignored" and counted, without
//     a write.
//   - Durable before the answer: the delivery is written to a bbolt file
//     and fsynced before the 202. Deliveries that arrive while a commit is
//     on the disk share the next transaction and its fsync (group commit,
//     Journal), which keeps the acknowledgement in milliseconds under load.
//   - Deduplication on X-GitHub-Delivery, which GitHub keeps for a
//     redelivery: a delivery id the journal holds is answered 200
//     "duplicate" and neither journaled nor handled again. (200, not 4xx:
//     GitHub's delivery log must not show a delivery runway has as failed,
//     or the reconciler and people would redeliver it again.)
//   - Bounded queue: the deliveries journaled and not finished are at most
//     the queue size; beyond it the answer is 503 with Retry-After and
//     nothing is journaled.
//
// # Work
//
// Workers (a bound) take deliveries from lanes: one lane per pull request
// (lock.PRKey: its pull_request events and its comments) and one per
// default branch (merges), first in first out and one at a time per lane;
// different lanes run in parallel. A comment is filed with the PR head
// runway last saw from a pull_request event before the comment arrived
// (Delivery.Head, written in the same transaction), so a command acts on
// the head that was current when it was received, and is refused when
// the head has moved by the time a worker takes it.
//
// Every start of the work is journaled (Attempts) before the handler runs;
// a failed attempt is retried with backoff, up to a bound, then marked
// failed; a handler's panic fails that delivery, not the server. On start
// the server replays every delivery the journal holds unfinished, in the
// order received; handlers are idempotent (sticky comment edited in place,
// content-addressed registration, promotion that says "already promoted"),
// so a delivery that was in flight at a crash has its effect once.
//
// # Replicas
//
// Each replica journals locally (a StatefulSet with a volume per pod).
// With a Locker (a Kubernetes Lease), a worker takes the lane's key before
// working on it, so one pull request, or one default branch, is worked on
// by one replica at a time; when a replica dies its Leases expire and its
// journal is replayed when it returns. The reconciler runs under
// lock.LeaderKey("webhook-reconciler"), so one replica sweeps at a time.
//
// # Missed deliveries
//
// GitHub never retries a failed delivery. With a GitHub App, Reconciler
// lists the App's deliveries (GET /app/hook/deliveries) and asks for one
// redelivery (POST .../attempts) of each GUID none of whose attempts got a
// 2xx and which the journal does not hold.
//
// # Observability
//
// /healthz (the process answers), /readyz (the journal reads and the store
// answers; 503 while draining), /metrics (Prometheus: deliveries by event
// and outcome, rejections by reason, dedupes, queue depth, age of the
// oldest unfinished delivery, ack and handling latency, busy workers,
// reconciler results), and slog lines that carry the delivery id. On
// SIGTERM the server answers 503 to new deliveries, finishes the work in
// flight within the drain timeout, and leaves the rest in the journal.
package server
