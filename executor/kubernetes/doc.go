// Package kubernetes is the Kubernetes executor: an executor.Runner that
// runs each task attempt as one Job, in the namespace of the project's
// domain, around `runway exec-task` (executor/exectask), the same wrapper
// the local runner starts.
//
// Decisions:
//
//   - Namespace: the platform's executor.namespaceTemplate (default
//     "{project}-{domain}"), or WithNamespaceTemplate (--namespace-template).
//     When the domain sets manageNamespace, runway creates the namespace
//     (labelled for Pod Security "restricted"), a ResourceQuota
//     "runway-quota" from the domain's quota and a LimitRange
//     "runway-limits" whose max is the domain's ceilings and whose defaults
//     are the domain's defaults; it updates them when the platform config
//     changes. Otherwise the namespace must exist.
//   - One Job per attempt, named "<execution>-<node>-<attempt>" (a long or
//     unusual node ID is shortened and suffixed with a hash). The name is a
//     function of the attempt only, so a restarted runway that executes the
//     same execution again creates the same name, gets AlreadyExists and
//     adopts the Job (after checking its labels name the same attempt)
//     instead of starting a duplicate.
//   - Labels on the Job and its pod: app.kubernetes.io/managed-by=runway
//     and runway.dev/{project,domain,kind,entity,version,execution,node,
//     attempt}; a value that is not a valid label value is shortened with a
//     hash, and the runway.dev/task annotation keeps the full reference.
//   - The exec-task spec travels in the pod template's runway.dev/spec
//     annotation and reaches exec-task as /runway/spec/spec.json through a
//     downward API volume: no ConfigMap to create, clean up or grant, no
//     shell in the image, and the spec is immutable with the Job. Specs over
//     128 KiB are refused (large values belong in file inputs).
//   - The result comes back through the container's termination message:
//     exec-task writes its Result to /dev/termination-log (the Job's
//     terminationMessagePath), the kubelet copies it into the pod's
//     terminated state, and the runner reads it from there. No log
//     scraping, no pods/log permission. The kubelet keeps at most 4096
//     bytes of it: a result larger than that (long string outputs) fails
//     with a message saying so; such values belong in file outputs.
//   - Image: the task's image, which the registrar pinned by digest
//     (WithDefaultImage for projects without one). Anything not pinned by
//     digest is refused. Command: `runway exec-task --spec FILE`
//     (WithExecTask), so the image must contain runway.
//   - Resources: limits are the attempt's Limits (the engine applied the
//     domain's defaults and ceiling); requests are the task's, else the
//     domain's default requests, else equal to the limits. A request above
//     the ceiling or above its limit is a permanent user failure naming both
//     amounts.
//   - activeDeadlineSeconds = task timeout + slack (WithDeadlineSlack,
//     default 2m): exec-task enforces the timeout itself and reports it
//     cleanly; the deadline is the backstop that also bounds pull, fetch and
//     upload. backoffLimit 0 (runway classifies failures and retries
//     itself), ttlSecondsAfterFinished (WithTTL, default 1h).
//   - Pod Security "restricted": runAsNonRoot with UID/GID/fsGroup 65532
//     (WithRunAsUser), allowPrivilegeEscalation false, all capabilities
//     dropped, seccomp RuntimeDefault, read-only root filesystem, emptyDir
//     volumes for /runway/work and its inputs, outputs and tmp, /tmp and
//     /runway/checkpoint. The service account token is not mounted and
//     service links are off: tasks get no Kubernetes API access.
//   - Registry credentials: WithRegistrySecret names an existing
//     dockerconfigjson secret; WithDockerConfig makes the runner keep one
//     ("runway-registry") in each namespace. Either way the Job names the
//     secret as imagePullSecret and mounts it read-only as
//     /runway/docker/config.json ($DOCKER_CONFIG) for exec-task. Its
//     content never appears in the Job, in errors or in logs.
//   - Watching: one set of informers per namespace (runway's Jobs and pods
//     by the managed-by label, FailedCreate events about Jobs by field
//     selector). Every change wakes the attempts waiting on that Job, which
//     re-read the caches; the only timer is the image pull grace period.
//     Nothing polls the apiserver.
//   - Failures, classified (evaluate): a quota refusal in a FailedCreate
//     event fails at once with an error wrapping ErrQuota and a *QuotaError
//     naming the quota and the requested, used and limited amounts
//     (permanent user failure when the request alone exceeds the quota,
//     else a system failure that is retried); LimitRange and Pod Security
//     refusals likewise fail at once; OOMKilled is a user failure naming the
//     memory limit; eviction and disruption are system failures (retried);
//     image pull errors fail as system failures once they have lasted the
//     grace period (WithImagePullGrace, default 2m; an invalid image name
//     at once); the Job's DeadlineExceeded is a user timeout; a deleted pod
//     or Job is a system failure. Any other outcome is exec-task's own
//     classified Result.
//   - Cancelling: when ctx ends, the attempt's Job is deleted with
//     background propagation (the garbage collector removes the pod);
//     Cancel deletes all of an execution's Jobs; Done deletes the Jobs of
//     an execution that ended other than by success that are still active
//     (finished ones stay until their TTL, for inspection).
//
// Known gap: $RUNWAY_CHECKPOINT is an emptyDir, so on Kubernetes it does
// not survive a retry (each attempt is a new pod); keeping it would need a
// volume per node and execution (a PVC), which this runner does not make.
//
// exec-task writes its result in place: on a real node
// /dev/termination-log is a bind-mounted file, which a rename from a
// temporary file cannot replace (EBUSY). The real-node tier shows results
// arriving that way.
//
// Test tiers (build tag integration):
//
//   - executor/kubernetes/nodetest runs on a real node (kubenode: kubelet,
//     containerd, runc; the sample's image built by the packager on a
//     Python base): the sample's nightly end to end and its cache hits, the
//     outputs against a local run, the image under podman, the kubelet's
//     OOMKilled through `runway get execution`, a task timeout, a quota
//     refusal, an image the registry lacks, an eviction, a pod deleted
//     while it runs, a cancelled attempt leaving nothing behind, registry
//     credentials (a second docker-registry with htpasswd auth: refused
//     without them as an image-pull failure; with WithDockerConfig the
//     kubelet pulls with the imagePullSecret and exec-task fetches the
//     bundle and pushes outputs with the mounted config, which appears in no
//     Job, pod, error or log), restart adoption (a runway process killed
//     with SIGKILL while its task waits at an HTTP gate on loopback; a new
//     Runner adopts the Job, one pod runs once, its result arrives), the
//     engine's retry after an eviction (attempt 2, a new Job, succeeds),
//     the engine's Resume of a two-Job workflow after its runway process is
//     killed with SIGKILL (both Jobs adopted, each task started once),
//     provenance verified by exec-task in the pod (a signed registration
//     runs; its bundle replaced under its tag is refused in the pod as
//     ProvenanceUnverified, permanently, nothing extracted), an activated
//     CronJob firing, and the 100-pod benchmark.
//   - The tests of this package run without a node, against the real
//     control plane and a kubelet stand-in (kubelet_standin_integration_test.go)
//     that runs pods' exec-task on the host. What only they show:
//     restricted Pod Security admission (server-side dry runs of the
//     rendered pod; they need only the apiserver, and the real node's pods
//     use the host network to reach its loopback registry, which
//     "restricted" forbids) and RBAC (impersonating the executor's
//     ServiceAccount with deploy/rbac.yaml's grants; the forbidden calls
//     need only the apiserver, the task it runs uses the stand-in).
//     Everything else (failures, cancellation, registry credentials,
//     restart adoption, the engine's retry after an eviction and its
//     Resume after a kill -9, the workflow and its cache hits, quota
//     refusals) runs only on the real node (nodetest); the stand-in copies
//     were removed once the real node covered them. The stand-in also
//     gives BenchmarkIntegrationHundredConcurrentTasks its figure, to set
//     beside the real node's.
//
// ErrQuota is defined here because executor has no such sentinel; the
// reasons this runner adds (QuotaExceeded, Evicted, ImagePullFailed, ...)
// are executor.Reason values.
//
// Layer: a domain package (see README.md). It imports internal packages and
// the domain packages executor and executor/exectask, nothing above them:
// never flow, a presentation package (prbot, ui) or an entry point (cmd/,
// action/, server/). Only its tests import test kits (internal/testkit/...);
// internal/archtest checks this.
package kubernetes
