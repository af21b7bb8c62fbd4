package flow

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/runway-ci/runway/executor"
	kexec "github.com/runway-ci/runway/executor/kubernetes"
	"github.com/runway-ci/runway/executor/local"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/provenance"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/storeopen"
	"github.com/runway-ci/runway/promote"
)

// OpenRequest says how to open a project's state: the platform config the
// platform team owns, and what the caller overrides.
type OpenRequest struct {
	// Platform is the loaded platform config; nil means the embedded
	// defaults.
	Platform *platform.Config
	// Store overrides the platform's store (--store, the Action's store
	// input): HOST/PREFIX for a registry, file://DIR for a layout, ""
	// for the platform's (and, without one, the default on-disk store).
	Store string
	// Getenv reads RUNWAY_HOME and registry credentials (default os.Getenv).
	Getenv func(string) string
	Log    *slog.Logger
	// RunwayVersion is written into promotion records.
	RunwayVersion string
	// Kubernetes configures the cluster: the Kubernetes executor's Jobs
	// and the CronJobs that activation keeps. Zero values fall back to the
	// platform's executor settings.
	Kubernetes KubernetesOptions
	// StoreOptions are extra options for opening the store (tests:
	// storeopen.WithoutFsync, retry waits).
	StoreOptions []storeopen.Option
}

// KubernetesOptions select the cluster and how pods reach the registry.
type KubernetesOptions struct {
	Kubeconfig        string // "" = the platform's executor.kubeconfig, else the client defaults
	NamespaceTemplate string // "" = the platform's
	// PodStore is the store reference as pods see it ("" = the store's own
	// reference).
	PodStore string
	// RegistrySecret names an existing image pull secret; DockerConfig is
	// a docker config.json that runway keeps as a secret instead.
	RegistrySecret string
	DockerConfig   []byte
	DefaultImage   string // image for tasks of projects without an image
	// Client replaces the client built from the kubeconfig (tests).
	Client kubernetes.Interface
}

// Project is a store opened under a platform config: what every entry
// point needs before it can plan, package, register, run or promote. Open
// it once per invocation (or per delivery, in the server).
type Project struct {
	Platform      *platform.Config
	Store         store.Store
	Log           *slog.Logger
	RunwayVersion string
	kube          KubernetesOptions
	storeRef      string
	// LogDir keeps the local executor's attempt logs ($RUNWAY_HOME/logs,
	// else ~/.runway/logs); runway logs reads them.
	LogDir string

	// getenv reads the environment (OpenRequest.Getenv): a signing key
	// given as {env: NAME} is read through it.
	getenv     func(string) string
	signerOnce sync.Once
	signer     *provenance.Signer
	signerErr  error
}

// Open opens the store named by req (or the platform's) with the platform's
// registry settings: retries, Retry-After cap, parallelism, plain HTTP.
func Open(req OpenRequest) (*Project, error) {
	plat := req.Platform
	if plat == nil {
		plat = platform.Default()
	}
	log := orDiscard(req.Log)
	ref := req.Store
	if ref == "" {
		ref = plat.Store
	}
	r := plat.Registry
	maxAfter, err := time.ParseDuration(r.MaxRetryAfter)
	if err != nil {
		return nil, fmt.Errorf("platform config: registry.maxRetryAfter: %q is not a duration", r.MaxRetryAfter)
	}
	opts := []storeopen.Option{storeopen.WithLogger(log), storeopen.WithRetryMax(r.RetryMax),
		storeopen.WithParallelism(r.Parallelism), storeopen.WithMaxRetryAfter(maxAfter),
		storeopen.WithLock(plat)} // the platform's lock.* settings (cross-process safety)
	if req.Getenv != nil {
		opts = append(opts, storeopen.WithGetenv(req.Getenv))
	}
	if r.Insecure {
		opts = append(opts, storeopen.WithInsecure(true))
	}
	st, err := storeopen.Open(ref, append(opts, req.StoreOptions...)...)
	if err != nil {
		return nil, fmt.Errorf("opening store %q: %w", ref, err)
	}
	if ref == "" {
		ref = st.String()
	}
	proj := &Project{Platform: plat, Store: st, Log: log, RunwayVersion: req.RunwayVersion, kube: req.Kubernetes, storeRef: ref}
	getenv := req.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	proj.getenv = getenv
	if home, err := store.HomeDir(getenv); err == nil {
		proj.LogDir = filepath.Join(home, "logs")
	}
	return proj, nil
}

// Promoter is the one promoter every entry point uses: the platform's
// policy, the runway version in every record, and, with the Kubernetes
// executor, CronJobs kept in step with activation.
func (p *Project) Promoter() (*promote.Promoter, error) {
	opts := []promote.Option{promote.WithLogger(p.Log), promote.WithRunwayVersion(p.RunwayVersion), promote.WithTrustedKeys(p.trustedExtra(context.Background())...)}
	if p.Platform.Executor.Kind == platform.ExecutorKubernetes {
		if p.Platform.Executor.RunwayImage == "" {
			return nil, fmt.Errorf("platform config: executor.runwayImage is required with the kubernetes executor: scheduled launch plans run as CronJobs in that image")
		}
		client, err := p.kubernetesClient()
		if err != nil {
			return nil, err
		}
		opts = append(opts, promote.WithScheduleSync(&promote.CronJobs{Client: client, Namespace: p.Platform.Executor.NamespaceTemplate,
			Image: p.Platform.Executor.RunwayImage, Store: p.storeRef, ServiceAccount: p.Platform.Executor.ServiceAccount}))
	}
	return promote.New(p.Store, p.Platform, opts...)
}

// Runner builds the task runner for kind ("" = the platform's
// executor.kind). Close it when the engine is done.
func (p *Project) Runner(kind string) (executor.Runner, func(), error) {
	if kind == "" {
		kind = p.Platform.Executor.Kind
	}
	switch kind {
	case platform.ExecutorLocal, "":
		opts := []local.Option{local.WithLogger(p.Log)}
		if p.LogDir != "" {
			opts = append(opts, local.WithLogDir(p.LogDir, 0)) // every attempt's log ($RUNWAY_HOME/logs)
		}
		r, err := local.New(p.Store.String(), opts...)
		if err != nil {
			return nil, nil, err
		}
		return r, func() {}, nil
	case platform.ExecutorKubernetes:
		r, err := p.kubernetesRunner()
		if err != nil {
			return nil, nil, err
		}
		return r, func() { _ = r.Close() }, nil
	}
	return nil, nil, fmt.Errorf("%w: the executor must be %s or %s, got %q", ErrUsage, platform.ExecutorLocal, platform.ExecutorKubernetes, kind)
}

// Engine builds the execution engine over runner with the platform's
// parallelism (or the one given).
func (p *Project) Engine(runner executor.Runner, parallelism int) (*executor.Engine, error) {
	opts := []executor.Option{executor.WithLogger(p.Log), executor.WithPlatform(p.Platform), executor.WithTrustedKeys(p.trustedExtra(context.Background())...)}
	if parallelism == 0 {
		parallelism = p.Platform.Executor.Parallelism
	}
	if parallelism > 0 {
		opts = append(opts, executor.WithParallelism(parallelism))
	}
	return executor.New(p.Store, runner, opts...)
}

func (p *Project) kubernetesClient() (kubernetes.Interface, error) {
	if p.kube.Client != nil {
		return p.kube.Client, nil
	}
	kubeconfig := p.kube.Kubeconfig
	if kubeconfig == "" {
		kubeconfig = p.Platform.Executor.Kubeconfig
	}
	rc, err := kexec.RESTConfig(kubeconfig)
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return client, nil
}

func (p *Project) kubernetesRunner() (*kexec.Runner, error) {
	client, err := p.kubernetesClient()
	if err != nil {
		return nil, err
	}
	o := p.kube
	opts := []kexec.Option{kexec.WithPlatform(p.Platform), kexec.WithLogger(p.Log)}
	if o.NamespaceTemplate != "" {
		opts = append(opts, kexec.WithNamespaceTemplate(o.NamespaceTemplate))
	}
	switch {
	case o.RegistrySecret != "" && o.DockerConfig != nil:
		return nil, fmt.Errorf("%w: a registry secret and a docker config are alternatives; give one", ErrUsage)
	case o.RegistrySecret != "":
		opts = append(opts, kexec.WithRegistrySecret(o.RegistrySecret))
	case o.DockerConfig != nil:
		opts = append(opts, kexec.WithDockerConfig(o.DockerConfig))
	}
	if o.DefaultImage != "" {
		opts = append(opts, kexec.WithDefaultImage(o.DefaultImage))
	}
	ref := o.PodStore
	if ref == "" {
		ref = p.Store.String()
	}
	return kexec.New(client, ref, opts...)
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// NewProject wraps a store the caller opened itself (tests, the server's
// shared store) under plat (nil = the embedded defaults).
func NewProject(st store.Store, plat *platform.Config, log *slog.Logger) *Project {
	if plat == nil {
		plat = platform.Default()
	}
	return &Project{Platform: plat, Store: st, Log: orDiscard(log), storeRef: st.String()}
}
