// Package promote moves registered entities from one domain to the next by
// digest, under the platform's promotion policy, and keeps the audit trail
// that explains every step afterwards: promotion records, launch-plan
// activations, schedules, history and verification.
//
// # Promotion
//
// Promoter.Promote takes every entity of a version in the source domain (or
// the named ones plus what they reference at the same version) and, in
// dependency order (tasks, workflows, launch plans):
//
//   - checks the policy first, before anything is written (see Policy);
//   - refuses references that would dangle in the target (a pinned entity of
//     another project or version that is not there yet);
//   - copies each manifest by digest (CopyManifest): GetManifest from the
//     source repository, MountBlob of the config and every layer into the
//     target repository, PutManifest of the same raw bytes, never
//     re-serialised, then reads the tag back and compares digests. Production
//     therefore runs the very bytes that ran below it, and promoting uploads
//     no blob bytes (counted at the registry in the tests);
//   - is idempotent: a target tag with the same digest is "unchanged"; a
//     target tag with another digest is refused (*ConflictError, ErrConflict)
//     and never overwritten: that is a version registered into the target
//     directly, or tampering;
//   - attaches a promotion Record to the entity in the target domain;
//   - activates promoted launch plans in the target domain.
//
// Each entity is promoted under Store.Lock("promote:<target id>"). Two
// concurrent promotions of the same version therefore end in one state with
// one promotion record per entity: the second finds the entity and its
// record and reports "unchanged". A run that stopped part-way (registry
// failure) returns an *IncompleteError with the report so far; running it
// again completes it: entities already copied are "unchanged", and one that
// was copied but whose record was not written gets its record ("completed").
//
// # Policy
//
// The platform config's promotion.rules, one per target domain, checked in
// this order, all violations reported at once in a *PolicyError
// (errors.Is ErrNotAllowed) naming each rule and what would satisfy it:
//
//   - path: a rule's from, else only the domain before the target in the
//     platform's order (a skipped domain is refused before anything is read);
//   - actors: logins, "@org/team" or "*", matched against the Actor the
//     caller resolved (the Action and the server from GitHub; the CLI trusts
//     --actor, so the registry's own permissions remain the real guard for
//     production credentials);
//   - requiredPermission: the actor's repository permission as resolved by
//     the caller (read < triage < write < maintain < admin);
//   - requiredChecks: each named check must be passed in with conclusion
//     "success";
//   - approvals: N distinct approvers other than the PR author (an unknown
//     author counts as a refusal: "not by the author" cannot be checked);
//   - requireExecution: every promoted workflow and launch plan (through its
//     workflow) and every promoted task has a succeeded execution in the
//     source domain at this version (a task counts when it was a succeeded
//     node of any execution). The executions found are the record's evidence.
//
// With no rule for a domain only the path applies (the embedded default).
//
// # Records
//
// A Record is an OCI 1.1 referrer artifact whose subject is the entity
// manifest it is about, in the repository of the domain it happened in
// (artifactType application/vnd.runway.record.v1+json). Types: promotion
// (actor, time, from, to, version and commit, PR number, URL and author,
// evidence, rollback, runway version), activation (previous version) and
// deactivation (next version). Decision: the record's canonical JSON is a
// manifest annotation (io.runway.record) and its config and single layer are
// the OCI empty descriptor, which every entity repository already holds; so
// a record is one manifest PUT and no blob upload, and a promotion uploads 0
// blob bytes, records included. Registries without the referrers API get the
// OCI 1.1 referrers tag schema, maintained by the remote store.
//
// # Launch plans
//
// Promoting a launch plan activates it: the "active" tag in its repository
// moves to the same manifest. Activation runs under
// Store.Lock("activate:<repo>"), so concurrent promotions of different
// versions end with exactly one active version, and each activation record
// names the version it replaced, which chains them in order. The activation
// record is written before the tag moves and the deactivation record of the
// replaced version after; a run that dies in between leaves a pending
// activation record that the next run reuses instead of writing another.
// Activating a version registered earlier than the active one is a rollback
// and recorded as such; so is promoting a version older than the newest one
// in the target. The layout store's Lock is a file lock (several processes
// on one machine); the remote store's is in-process only, because a registry
// has no compare-and-swap: two runway processes promoting into one registry
// at once need an external lock (the Kubernetes executor's Lease), and the
// activation reads the tag back and fails loudly if another writer won.
//
// # Schedules
//
// Scheduler (runway scheduler, the embedded default) finds every active
// launch plan with a schedule (robfig/cron standard five-field syntax and
// descriptors such as @daily) and starts runs through a LaunchFunc (the CLI
// uses executor.Engine on the local runner). The last fire time per launch
// plan is a manifest in <project>/<domain>/schedule:<name>, written under
// Store.Lock before the run starts (at most once: a crash after the claim
// loses that run rather than running it twice). Catch-up policy: a launch
// plan seen for the first time starts its clock then (nothing earlier runs);
// after a downtime only the latest missed fire time runs, once, and the
// number of dropped ones is reported.
//
// With the Kubernetes executor, CronJobs (a ScheduleSync) keeps one CronJob
// per active scheduled launch plan, running `runway run launchplan NAME
// --version V` in the runway image, with startingDeadlineSeconds so that the
// CronJob controller, too, catches up at most one run. Activation creates or
// updates it, deactivation (or activating a version without schedule)
// deletes it. It is tested on client-go's fake clientset with a golden file;
// the real-apiserver test belongs to the Kubernetes test tier.
//
// # History and verify
//
// Promoter.History gathers, for one entity and one or every version: the
// commit, PRs, image and bundle digests (a workflow's or launch plan's
// through its tasks), where it is and how it got there, and the events in
// time order: registration per domain, executions and their results,
// promotions with actor and evidence, activations and deactivations.
// Promoter.Verify re-hashes every entity in every domain: the manifest bytes,
// the entity layer against its digest and the digest recorded at
// registration, equal entity digests across domains, and a tag that no longer
// names the manifest a promotion record says was promoted there (tampering).
//
// Layer: a domain package (see README.md). It imports internal packages and
// the domain packages executor and registrar, nothing above them: never
// flow, a presentation package (prbot, ui) or an entry point (cmd/, action/,
// server/). Only its tests import test kits (internal/testkit/...);
// internal/archtest checks this.
package promote
