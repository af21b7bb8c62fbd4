// Package executor runs registered tasks, workflows and launch plans: a DAG
// engine shared by every runner, with caching, retries, execution records
// and recovery. executor/local runs attempts as host processes (the
// embedded default); every runner wraps tasks in `runway exec-task`
// (executor/exectask), which implements the task I/O contract.
//
// Decisions:
//
//   - Launch resolves the target (an empty version means the newest
//     registered), types every input against the interface and uploads
//     local file/dir inputs, all before an execution record is written or
//     a process started; a wrong input wraps ErrInvalidInput. Inputs given
//     at launch override a launch plan's inputs, which act as defaults.
//   - Running a task directly is a one-node workflow whose node id is the
//     task name.
//   - Node order is topological and ready nodes start in declaration order,
//     up to the parallelism (default: the platform's, else the CPUs).
//     failFast: the first failed node cancels the running ones (recorded
//     aborted) and the rest are skipped. Cancelling ctx aborts the
//     execution; the final record is written with a context that outlives
//     ctx, so an aborted execution is recorded as aborted.
//   - Each node: cache lookup (no lock: an entry that exists is complete),
//     on a miss take Store.Lock(cache/<project>/<domain>/<key>) and look up
//     again, so two executions with the same key run the task once and the
//     second reuses the first's result; then run, then write the entry.
//     Entries are written blobs first (file/dir outputs are mounted from the
//     execution repository), manifest last; an entry that cannot be read or
//     does not fit the task's outputs is treated as a miss and replaced.
//     OverwriteCache skips the lookups but still takes the lock and writes.
//   - Cache key (CacheKey): hex sha256 of the canonical JSON of project,
//     domain, task name, cache version, interface signature and canonical
//     input texts (file/dir by digest); plus bundle and image when the task
//     sets cache.codeAware.
//   - Retries: a *TaskError says whose failure it was. User failures
//     (non-zero exit, OOMKilled, timeout, missing or mistyped output) spend
//     the task's `retries`; system failures (runner could not start, store
//     unavailable, a cache write that failed) spend the platform's
//     executor.systemRetries; the two budgets are separate. A permanent
//     failure (a bundle whose digest does not match) is not retried.
//     Backoff starts at the platform's executor.backoff and doubles, capped
//     at a minute. A successful attempt of a cached task only counts once
//     its cache entry is written, so a store failure there re-runs the node.
//   - Resources: a task's limit, else its request, else the domain's default
//     limit, clamped to the domain's ceiling (a promoted entity keeps its
//     digest; the domain it runs in decides the ceiling).
//   - File and dir values are blobs in store.ExecutionRepo(project, domain);
//     a dir is a reproducible tar (sorted, zero times and owners, modes
//     0644/0755). Records and cache entries list the blobs they name as
//     layers, so registry garbage collection keeps them.
//   - Records (store.ExecutionRepo:<id>) are rewritten as the execution
//     progresses by one background writer (bursts coalesce) and once,
//     synchronously, at the end. IDs (NewID) are 14 characters: ten base-32
//     digits of the Unix milliseconds and four random ones, so tag order is
//     time order. The record names its owner (host, pid): recover refuses an
//     execution whose owner still runs it and accepts one whose owner died
//     (kill -9).
//   - Recovery is a new execution with the same target version, inputs and
//     settings; nodes that succeeded keep their outputs (cache "hit",
//     RecoveredFrom set), all others run.
//   - Observers get ordered snapshots of every change; Progress renders them
//     live on a terminal or as a plain log, RenderJSON and RenderTree render
//     records.
//
// Layer: a domain package (see README.md). It imports internal packages and
// the domain packages registrar, nothing above them: never flow, a
// presentation package (prbot, ui) or an entry point (cmd/, action/,
// server/). Only its tests import test kits (internal/testkit/...);
// internal/archtest checks this.
package executor
