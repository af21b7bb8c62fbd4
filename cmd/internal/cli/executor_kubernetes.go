package cli

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/runway-ci/runway/flow"
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

// flow turns the flags into the flow's options, reading --docker-config.
func (o KubernetesOptions) flow() (flow.KubernetesOptions, error) {
	k := flow.KubernetesOptions{Kubeconfig: o.Kubeconfig, NamespaceTemplate: o.NamespaceTemplate, PodStore: o.PodStore,
		RegistrySecret: o.RegistrySecret, DefaultImage: o.DefaultImage}
	if o.DockerConfig != "" {
		if o.RegistrySecret != "" {
			return k, Usagef("--registry-secret and --docker-config are alternatives; give one")
		}
		b, err := os.ReadFile(o.DockerConfig)
		if err != nil {
			return k, fmt.Errorf("reading --docker-config: %w", err)
		}
		k.DockerConfig = b
	}
	return k, nil
}
