package cli

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"
	k8sclient "k8s.io/client-go/kubernetes"

	kexec "github.com/runway-ci/runway/executor/kubernetes"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/store"
)

// KubernetesOptions are the flags of the Kubernetes executor. Empty values
// fall back to the platform config (executor.kubeconfig,
// executor.namespaceTemplate), then to the client defaults (in-cluster
// config, $KUBECONFIG, ~/.kube/config).
type KubernetesOptions struct {
	Kubeconfig        string
	NamespaceTemplate string
	// PodStore is the store reference exec-task opens inside pods, when
	// pods reach the registry under another name than runway does.
	PodStore string
	// RegistrySecret names an existing dockerconfigjson secret in each
	// namespace; DockerConfig is a docker config.json file whose content
	// runway keeps as a secret in each namespace instead.
	RegistrySecret string
	DockerConfig   string
	// DefaultImage runs tasks of projects that declare no image.
	DefaultImage string
}

// AddFlags registers the executor's flags.
func (o *KubernetesOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig of the cluster tasks run in (default: platform executor.kubeconfig, in-cluster, $KUBECONFIG, ~/.kube/config)")
	fs.StringVar(&o.NamespaceTemplate, "namespace-template", "", `namespace of a project's domain, with {project} and {domain} (default: platform executor.namespaceTemplate, "{project}-{domain}")`)
	fs.StringVar(&o.PodStore, "pod-store", "", "store reference as pods reach it (default: --store)")
	fs.StringVar(&o.RegistrySecret, "registry-secret", "", "existing dockerconfigjson secret in each namespace: image pull secret and exec-task's registry credentials")
	fs.StringVar(&o.DockerConfig, "docker-config", "", "docker config.json that runway keeps as the secret runway-registry in each namespace")
	fs.StringVar(&o.DefaultImage, "default-image", "", "image (pinned by digest) for tasks of projects without an image")
}

// kubernetesRunner builds the Kubernetes runner for the platform config
// and flags. Close it when the engine is done.
func (g *Global) kubernetesRunner(plat *platform.Config, st store.Store, o KubernetesOptions) (*kexec.Runner, error) {
	client, err := g.kubernetesClient(plat, o)
	if err != nil {
		return nil, err
	}
	opts := []kexec.Option{kexec.WithPlatform(plat), kexec.WithLogger(g.Log())}
	if o.NamespaceTemplate != "" {
		opts = append(opts, kexec.WithNamespaceTemplate(o.NamespaceTemplate))
	}
	switch {
	case o.RegistrySecret != "" && o.DockerConfig != "":
		return nil, Usagef("--registry-secret and --docker-config are alternatives; give one")
	case o.RegistrySecret != "":
		opts = append(opts, kexec.WithRegistrySecret(o.RegistrySecret))
	case o.DockerConfig != "":
		b, err := os.ReadFile(o.DockerConfig)
		if err != nil {
			return nil, fmt.Errorf("reading --docker-config: %w", err)
		}
		opts = append(opts, kexec.WithDockerConfig(b))
	}
	if o.DefaultImage != "" {
		opts = append(opts, kexec.WithDefaultImage(o.DefaultImage))
	}
	ref := o.PodStore
	if ref == "" {
		ref = st.String()
	}
	return kexec.New(client, ref, opts...)
}

// kubernetesClient connects to the cluster named by --kubeconfig, the
// platform's executor.kubeconfig, or the client defaults.
func (g *Global) kubernetesClient(plat *platform.Config, o KubernetesOptions) (k8sclient.Interface, error) {
	kubeconfig := o.Kubeconfig
	if kubeconfig == "" {
		kubeconfig = plat.Executor.Kubeconfig
	}
	rc, err := kexec.RESTConfig(kubeconfig)
	if err != nil {
		return nil, err
	}
	client, err := k8sclient.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return client, nil
}
