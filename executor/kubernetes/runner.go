package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/kubeclient"
	"github.com/runway-ci/runway/internal/kubenames"
	"github.com/runway-ci/runway/internal/platform"
)

// Runner runs task attempts as Kubernetes Jobs, one Job per attempt.
type Runner struct {
	client       kubernetes.Interface
	platform     *platform.Config
	nsTemplate   string
	job          jobConfig
	dockerConfig []byte
	pullGrace    time.Duration
	log          *slog.Logger
	now          func() time.Time

	mu      sync.Mutex
	watches map[string]*nsWatch
	readyNS map[string]bool
	// execNS remembers which namespaces an execution's Jobs are in, for
	// Done and Cancel.
	execNS map[string]map[string]bool
	closed bool
}

// Option configures a Runner.
type Option func(*Runner) error

// WithPlatform sets the platform config: the domains' ceilings, defaults,
// quotas and whether runway manages their namespaces, and the namespace
// template (default: platform.Default()).
func WithPlatform(c *platform.Config) Option {
	return func(r *Runner) error {
		if c == nil {
			return errors.New("nil platform config")
		}
		r.platform = c
		return nil
	}
}

// WithNamespaceTemplate overrides the platform's namespace template
// ("{project}-{domain}"), as --namespace-template does.
func WithNamespaceTemplate(t string) Option {
	return func(r *Runner) error {
		if t == "" {
			return errors.New("empty namespace template")
		}
		if _, err := kubenames.Namespace(t, "p", "d"); err != nil {
			return err
		}
		r.nsTemplate = t
		return nil
	}
}

// WithExecTask sets the command that starts exec-task inside the image;
// "--spec FILE" is appended (default: runway exec-task).
func WithExecTask(argv ...string) Option {
	return func(r *Runner) error {
		if len(argv) == 0 || argv[0] == "" {
			return errors.New("exec-task command is empty")
		}
		r.job.execTask = argv
		return nil
	}
}

// WithDefaultImage sets the image (pinned by digest) for tasks whose
// project declares none.
func WithDefaultImage(ref string) Option {
	return func(r *Runner) error {
		if !pinned.MatchString(ref) {
			return fmt.Errorf("default image %q is not pinned by digest", ref)
		}
		r.job.defaultImage = ref
		return nil
	}
}

// WithServiceAccount sets the pods' service account (default: the
// namespace's "default"). Its token is never mounted.
func WithServiceAccount(name string) Option {
	return func(r *Runner) error { r.job.serviceAccount = name; return nil }
}

// WithRegistrySecret names an existing kubernetes.io/dockerconfigjson
// secret in each namespace: it is the pods' image pull secret and
// exec-task's docker config.
func WithRegistrySecret(name string) Option {
	return func(r *Runner) error {
		if name == "" {
			return errors.New("empty registry secret name")
		}
		r.job.registrySecret = name
		return nil
	}
}

// WithDockerConfig makes the runner keep a registry secret
// (RegistrySecretName) holding this docker config.json in every namespace
// it runs in, and use it as WithRegistrySecret does.
func WithDockerConfig(configJSON []byte) Option {
	return func(r *Runner) error {
		if len(configJSON) == 0 {
			return errors.New("empty docker config")
		}
		r.dockerConfig = append([]byte(nil), configJSON...)
		r.job.registrySecret = RegistrySecretName
		return nil
	}
}

// WithRunAsUser sets the non-root UID (and GID, fsGroup) of task pods
// (default 65532).
func WithRunAsUser(uid int64) Option {
	return func(r *Runner) error {
		if uid <= 0 {
			return fmt.Errorf("run-as user %d: must be a non-root UID", uid)
		}
		r.job.runAsUser = uid
		return nil
	}
}

// WithTTL sets ttlSecondsAfterFinished (default one hour).
func WithTTL(d time.Duration) Option {
	return func(r *Runner) error {
		if d < 0 {
			return fmt.Errorf("negative TTL %s", d)
		}
		r.job.ttl = d
		return nil
	}
}

// WithDeadlineSlack sets what activeDeadlineSeconds adds to a task's
// timeout for image pull, bundle fetch and upload (default 2m).
func WithDeadlineSlack(d time.Duration) Option {
	return func(r *Runner) error {
		if d < 0 {
			return fmt.Errorf("negative deadline slack %s", d)
		}
		r.job.deadlineSlack = d
		return nil
	}
}

// WithImagePullGrace sets how long image pull errors may last before the
// attempt fails (default 2m): registries have blips.
func WithImagePullGrace(d time.Duration) Option {
	return func(r *Runner) error {
		if d < 0 {
			return fmt.Errorf("negative image pull grace %s", d)
		}
		r.pullGrace = d
		return nil
	}
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(r *Runner) error {
		if l == nil {
			return errors.New("nil logger")
		}
		r.log = l
		return nil
	}
}

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(r *Runner) error { r.now = now; return nil }
}

// New returns a runner that creates Jobs through client. storeRef is the
// store reference exec-task opens inside the pod (a registry; a local
// file:// store is not reachable from a pod).
func New(client kubernetes.Interface, storeRef string, opts ...Option) (*Runner, error) {
	if client == nil {
		return nil, errors.New("creating kubernetes runner: nil client")
	}
	if storeRef == "" {
		return nil, errors.New("creating kubernetes runner: a store reference is required")
	}
	r := &Runner{
		client:    client,
		platform:  platform.Default(),
		pullGrace: 2 * time.Minute,
		log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		now:       time.Now,
		job: jobConfig{
			storeRef:      storeRef,
			execTask:      []string{"runway", "exec-task"},
			runAsUser:     defaultRunAsUser,
			ttl:           time.Hour,
			deadlineSlack: 2 * time.Minute,
		},
		watches: map[string]*nsWatch{},
		readyNS: map[string]bool{},
		execNS:  map[string]map[string]bool{},
	}
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, fmt.Errorf("creating kubernetes runner: %w", err)
		}
	}
	r.job.storeInsecure = r.platform.Registry.Insecure
	r.job.hostNetwork = r.platform.Executor.HostNetwork
	if r.nsTemplate == "" {
		r.nsTemplate = r.platform.Executor.NamespaceTemplate
	}
	if r.nsTemplate == "" {
		r.nsTemplate = kubenames.DefaultNamespaceTemplate
	}
	return r, nil
}

// RESTConfig loads a client config: the kubeconfig file when one is
// named, else the in-cluster config, else $KUBECONFIG / ~/.kube/config.
func RESTConfig(kubeconfig string) (*rest.Config, error) { return kubeclient.RESTConfig(kubeconfig) }

// Namespace returns the namespace a project's domain runs in.
func (r *Runner) Namespace(project, domain string) (string, error) {
	return kubenames.Namespace(r.nsTemplate, project, domain)
}

// Run runs one attempt as a Job (executor.Runner). Creating a Job that
// exists adopts it: a restarted runway re-attaches to its running Jobs.
func (r *Runner) Run(ctx context.Context, a executor.Attempt) (*executor.AttemptResult, error) {
	ns, err := r.Namespace(a.Project, a.Domain)
	if err != nil {
		return nil, &executor.TaskError{Kind: executor.SystemFailure, Reason: executor.ReasonStart, Permanent: true, Message: err.Error()}
	}
	dom, _ := r.platform.Domain(a.Domain)
	job, err := renderJob(a, ns, dom, r.job)
	if err != nil {
		return nil, err
	}
	if err := r.ensureNamespace(ctx, ns, dom); err != nil {
		return nil, r.startErr(ctx, err)
	}
	w, err := r.watch(ctx, ns)
	if err != nil {
		return nil, r.startErr(ctx, err)
	}
	r.track(a.ExecutionID, ns)

	wake, unsubscribe := w.subscribe(job.Name)
	defer unsubscribe()
	created, err := r.client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		existing, gerr := r.client.BatchV1().Jobs(ns).Get(ctx, job.Name, metav1.GetOptions{})
		if gerr != nil {
			return nil, r.startErr(ctx, fmt.Errorf("reading existing Job %s/%s: %w", ns, job.Name, gerr))
		}
		if !sameAttempt(existing, job) {
			return nil, &executor.TaskError{Kind: executor.SystemFailure, Reason: executor.ReasonStart, Permanent: true,
				Message: fmt.Sprintf("Job %s/%s exists but belongs to another attempt (labels %v)", ns, job.Name, existing.Labels)}
		}
		r.log.Info("adopting existing Job", "namespace", ns, "job", job.Name, "uid", existing.UID)
		created = existing
	case err != nil:
		return nil, r.startErr(ctx, fmt.Errorf("creating Job %s/%s: %w", ns, job.Name, err))
	default:
		r.log.Debug("created Job", "namespace", ns, "job", job.Name)
	}

	st := &watchState{}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		j, pods, evs := w.state(ns, job.Name)
		if j != nil && j.UID != created.UID {
			j = nil // the cache still holds, or already holds, another Job of this name
		}
		o := evaluate(j, pods, evs, st, r.pullGrace, r.now())
		if o.done {
			if o.stop {
				r.deleteJob(ctx, ns, job.Name)
			}
			if o.err != nil {
				return nil, o.err
			}
			return &executor.AttemptResult{Outputs: o.result.Outputs, Duration: o.result.Duration, Usage: o.result.Usage}, nil
		}
		var recheck <-chan time.Time
		if !o.recheck.IsZero() {
			if timer != nil {
				timer.Stop()
			}
			timer = time.NewTimer(max(o.recheck.Sub(r.now()), 0))
			recheck = timer.C
		}
		select {
		case <-ctx.Done():
			r.deleteJob(ctx, ns, job.Name)
			return nil, &executor.TaskError{Kind: executor.SystemFailure, Reason: executor.ReasonAborted, Message: "stopped: " + context.Cause(ctx).Error() + "; Job " + ns + "/" + job.Name + " deleted"}
		case <-wake:
		case <-recheck:
		}
	}
}

// startErr classifies a failure to get a Job going.
func (r *Runner) startErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return &executor.TaskError{Kind: executor.SystemFailure, Reason: executor.ReasonAborted, Message: "stopped: " + context.Cause(ctx).Error()}
	}
	te := &executor.TaskError{Kind: executor.SystemFailure, Reason: executor.ReasonStart, Message: err.Error()}
	if apierrors.IsForbidden(err) || apierrors.IsInvalid(err) || apierrors.IsNotFound(err) {
		te.Permanent = true
	}
	return te
}

func sameAttempt(a, b *batchv1.Job) bool {
	for _, k := range []string{kubenames.LabelExecution, kubenames.LabelNode, kubenames.LabelAttempt, kubenames.LabelProject, kubenames.LabelDomain} {
		if a.Labels[k] != b.Labels[k] {
			return false
		}
	}
	return true
}

// watch returns the namespace's informers, starting them on first use.
func (r *Runner) watch(ctx context.Context, ns string) (*nsWatch, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, errors.New("the kubernetes runner is closed")
	}
	w := r.watches[ns]
	if w == nil {
		var err error
		if w, err = newNSWatch(r.client, ns); err != nil {
			r.mu.Unlock()
			return nil, err
		}
		r.watches[ns] = w
	}
	r.mu.Unlock()
	if !w.synced(ctx) {
		return nil, fmt.Errorf("watching namespace %s: caches did not sync: %w", ns, context.Cause(ctx))
	}
	return w, nil
}

func (r *Runner) track(execID, ns string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.execNS[execID] == nil {
		r.execNS[execID] = map[string]bool{}
	}
	r.execNS[execID][ns] = true
}

// deleteJob deletes one Job and, through background propagation, its
// pods. It outlives ctx: a cancelled attempt must not leave its Job.
func (r *Runner) deleteJob(ctx context.Context, ns, name string) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := r.client.BatchV1().Jobs(ns).Delete(dctx, name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)})
	if err != nil && !apierrors.IsNotFound(err) {
		r.log.Warn("deleting Job", "namespace", ns, "job", name, "err", err)
	}
}

// Cancel deletes every Job of an execution in a namespace, with
// background propagation (the garbage collector removes their pods).
func (r *Runner) Cancel(ctx context.Context, namespace, executionID string) error {
	return r.deleteExecutionJobs(ctx, namespace, executionID, false)
}

func (r *Runner) deleteExecutionJobs(ctx context.Context, namespace, executionID string, activeOnly bool) error {
	if err := executor.ValidateID(executionID); err != nil {
		return fmt.Errorf("cancelling execution %q: %w", executionID, err)
	}
	sel := labels.SelectorFromSet(labels.Set{kubenames.LabelManagedBy: kubenames.ManagedByValue, kubenames.LabelExecution: executionID}).String()
	jobs, err := r.client.BatchV1().Jobs(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return fmt.Errorf("cancelling execution %s: listing its Jobs in %s: %w", executionID, namespace, err)
	}
	var errs []error
	for _, j := range jobs.Items {
		if activeOnly && jobFinished(&j) {
			continue
		}
		err := r.client.BatchV1().Jobs(namespace).Delete(ctx, j.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting Job %s/%s: %w", namespace, j.Name, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("cancelling execution %s: %w", executionID, errors.Join(errs...))
	}
	return nil
}

// Done is the executor.ExecutionDoner capability: when an execution ends
// other than by success, its Jobs that are still active are deleted (a
// safety net: each attempt already deletes its own Job when it is
// stopped). Finished Jobs stay until their TTL, for inspection.
func (r *Runner) Done(executionID string, status executor.Status) {
	r.mu.Lock()
	nss := r.execNS[executionID]
	delete(r.execNS, executionID)
	r.mu.Unlock()
	if status == executor.StatusSucceeded {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ns := range nss {
		if err := r.deleteExecutionJobs(ctx, ns, executionID, true); err != nil {
			r.log.Warn("cleaning up after execution", "execution", executionID, "err", err)
		}
	}
}

// Close stops the runner's informers. Jobs keep running; a new runner
// adopts them.
func (r *Runner) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	for _, w := range r.watches {
		close(w.stop)
	}
	return nil
}
