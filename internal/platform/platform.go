// Package platform holds the platform team's configuration (--platform FILE
// or the server's config): store, domains and their order, per-domain
// resource ceilings and defaults, promotion policy, executor settings, bundle
// budget and GitHub settings. With no file, Default() applies: the local
// store, the local executor, three domains and generous ceilings.
//
// A repository can never raise a platform ceiling: runway.yaml has no field
// that reaches these values.
//
// Layer: an internal package (see README.md). It imports the standard
// library, third-party modules and other internal packages only: never a
// domain package, never flow, a presentation package (prbot, ui) or an entry
// point (cmd/, action/, server/). Only its tests import test kits
// (internal/testkit/...); internal/archtest checks this.
package platform

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config is the platform configuration.
type Config struct {
	// Store is "file://DIR" or "HOST[:PORT]/PREFIX". Empty means the
	// embedded default ($RUNWAY_HOME/store, else ~/.runway/store).
	Store    string    `yaml:"store" json:"store"`
	Domains  []Domain  `yaml:"domains" json:"domains"`
	Executor Executor  `yaml:"executor" json:"executor"`
	Bundle   Bundle    `yaml:"bundle" json:"bundle"`
	Registry Registry  `yaml:"registry" json:"registry"`
	Promote  Promotion `yaml:"promotion" json:"promotion"`
	GitHub   GitHub    `yaml:"github" json:"github"`
	// Lock selects how writers in separate processes exclude each other
	// (lock.go).
	Lock Lock `yaml:"lock" json:"lock"`
	// PRDomains gives each pull request a domain of its own (prdomain.go).
	PRDomains PRDomains `yaml:"prDomains" json:"prDomains"`
	// Provenance signs and verifies attestations (provenance.go).
	Provenance Provenance `yaml:"provenance" json:"provenance"`
}

// Domain is one stage of the promotion path, in order.
type Domain struct {
	Name string `yaml:"name" json:"name"`
	// Ceilings are the largest limits a task may ask for ("cpu", "memory").
	Ceilings map[string]string `yaml:"ceilings" json:"ceilings"`
	// Defaults apply at run time to tasks that leave a resource unset.
	Defaults Resources `yaml:"defaults" json:"defaults"`
	// ManageNamespace makes the Kubernetes executor create the namespace
	// with a ResourceQuota and LimitRange derived from the ceilings.
	ManageNamespace bool `yaml:"manageNamespace" json:"manageNamespace"`
	// Quota is the namespace ResourceQuota (hard) when ManageNamespace is set.
	Quota map[string]string `yaml:"quota" json:"quota"`
	// RequireSignedBy lists key IDs ("SHA256:..."; `runway keygen` prints
	// them) of which at least one must have signed a valid provenance
	// attestation of everything promoted into or run in the domain.
	RequireSignedBy []string `yaml:"requireSignedBy" json:"requireSignedBy,omitempty"`
}

// Resources are requests and limits.
type Resources struct {
	Requests map[string]string `yaml:"requests" json:"requests"`
	Limits   map[string]string `yaml:"limits" json:"limits"`
}

// Executor selects and configures the task runner.
type Executor struct {
	Kind              string `yaml:"kind" json:"kind"` // local | kubernetes
	Parallelism       int    `yaml:"parallelism" json:"parallelism"`
	Kubeconfig        string `yaml:"kubeconfig" json:"kubeconfig"`
	NamespaceTemplate string `yaml:"namespaceTemplate" json:"namespaceTemplate"`
	// Retries is the default number of retries for system failures.
	SystemRetries int `yaml:"systemRetries" json:"systemRetries"`
	// Backoff is the first retry delay (Go duration), doubled per attempt.
	Backoff string `yaml:"backoff" json:"backoff"`
	// RunwayImage is runway's own image, pinned by digest: the Kubernetes
	// executor's CronJobs run `runway run launchplan` in it.
	RunwayImage string `yaml:"runwayImage" json:"runwayImage"`
	// ServiceAccount runs runway's pods (CronJobs); "" = the namespace default.
	ServiceAccount string `yaml:"serviceAccount" json:"serviceAccount"`
	// HostNetwork runs task pods in the node's network namespace, so they
	// reach a registry on the node's loopback. For single-node development
	// clusters only: tasks see the node's network, and managed namespaces
	// must then admit Pod Security "privileged" pods.
	HostNetwork bool `yaml:"hostNetwork" json:"hostNetwork"`
}

// Bundle holds the code bundle budget.
type Bundle struct {
	// MaxSize is the largest uncompressed bundle (a Kubernetes quantity).
	MaxSize string `yaml:"maxSize" json:"maxSize"`
	// AllowOverride lets --max-size raise MaxSize.
	AllowOverride bool `yaml:"allowOverride" json:"allowOverride"`
}

// Registry tunes network behaviour towards the OCI registry.
type Registry struct {
	Insecure      bool   `yaml:"insecure" json:"insecure"` // plain HTTP
	RetryMax      int    `yaml:"retryMax" json:"retryMax"`
	MaxRetryAfter string `yaml:"maxRetryAfter" json:"maxRetryAfter"`
	Parallelism   int    `yaml:"parallelism" json:"parallelism"`
}

// Promotion is the promotion policy.
type Promotion struct {
	// Rules, one per target domain.
	Rules []PromotionRule `yaml:"rules" json:"rules"`
	// OnMerge is the domain a merge promotes to (default "staging").
	OnMerge string `yaml:"onMerge" json:"onMerge"`
}

// PromotionRule says who may promote into To and what evidence is needed.
type PromotionRule struct {
	To   string   `yaml:"to" json:"to"`
	From []string `yaml:"from" json:"from"` // default: the previous domain
	// Actors allowed to promote (GitHub logins, "@team", or "*").
	Actors []string `yaml:"actors" json:"actors"`
	// RequiredPermission is the GitHub repository permission needed
	// (read, triage, write, maintain, admin) when promoting from GitHub.
	RequiredPermission string   `yaml:"requiredPermission" json:"requiredPermission"`
	RequireExecution   bool     `yaml:"requireExecution" json:"requireExecution"`
	RequiredChecks     []string `yaml:"requiredChecks" json:"requiredChecks"`
	Approvals          int      `yaml:"approvals" json:"approvals"`
}

// GitHub holds the GitHub settings of the webhook server and Action.
type GitHub struct {
	APIURL string `yaml:"apiURL" json:"apiURL"`
}

// Default returns the embedded defaults.
func Default() *Config {
	c := &Config{}
	c.applyDefaults()
	return c
}

func (c *Config) applyDefaults() {
	if len(c.Domains) == 0 {
		for _, n := range []string{"development", "staging", "production"} {
			c.Domains = append(c.Domains, Domain{
				Name:     n,
				Ceilings: map[string]string{"cpu": "16", "memory": "64Gi"},
			})
		}
	}
	if c.Executor.Kind == "" {
		c.Executor.Kind = ExecutorLocal
	}
	if c.Executor.NamespaceTemplate == "" {
		c.Executor.NamespaceTemplate = "{project}-{domain}"
	}
	if c.Executor.Backoff == "" {
		c.Executor.Backoff = "1s"
	}
	if c.Executor.SystemRetries == 0 {
		c.Executor.SystemRetries = 2
	}
	if c.Bundle.MaxSize == "" {
		c.Bundle.MaxSize = "100Mi"
	}
	if c.Registry.RetryMax == 0 {
		c.Registry.RetryMax = 5
	}
	if c.Registry.MaxRetryAfter == "" {
		c.Registry.MaxRetryAfter = "30s"
	}
	if c.Registry.Parallelism == 0 {
		c.Registry.Parallelism = 8
	}
	if c.Promote.OnMerge == "" {
		c.Promote.OnMerge = "staging"
	}
	c.PRDomains.applyDefaults()
}

// Load reads a platform config file. An empty path returns Default().
func Load(path string) (*Config, error) {
	if path == "" {
		return Default(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading platform config: %w", err)
	}
	return Parse(path, b)
}

// Parse parses platform config bytes strictly (unknown fields are errors).
func Parse(file string, b []byte) (*Config, error) {
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, decodeError(file, err)
	}
	c.applyDefaults()
	dir := ""
	if _, err := os.Stat(file); err == nil {
		dir = filepath.Dir(file)
	}
	perrs := c.Provenance.resolve(dir)
	if err := errors.Join(append([]error{c.validate()}, perrs...)...); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return c, nil
}

func (c *Config) validate() error {
	seen := map[string]bool{}
	var errs []error
	for i, d := range c.Domains {
		if d.Name == "" {
			errs = append(errs, fmt.Errorf("domains[%d].name: must not be empty", i))
		}
		if seen[d.Name] {
			errs = append(errs, fmt.Errorf("domains[%d].name: duplicate domain %q", i, d.Name))
		}
		seen[d.Name] = true
	}
	switch c.Executor.Kind {
	case ExecutorLocal, ExecutorKubernetes:
	default:
		errs = append(errs, fmt.Errorf("executor.kind: %q is not one of local, kubernetes", c.Executor.Kind))
	}
	for i, r := range c.Promote.Rules {
		if !seen[r.To] {
			errs = append(errs, fmt.Errorf("promotion.rules[%d].to: unknown domain %q", i, r.To))
		}
		for _, f := range r.From {
			if !seen[f] {
				errs = append(errs, fmt.Errorf("promotion.rules[%d].from: unknown domain %q", i, f))
			}
		}
	}
	for i, d := range c.Domains {
		for j, id := range d.RequireSignedBy {
			if !strings.HasPrefix(id, "SHA256:") {
				errs = append(errs, fmt.Errorf("domains[%d].requireSignedBy[%d]: %q is not a key ID (\"SHA256:...\", as runway keygen and runway verify print)", i, j, id))
			}
		}
		if len(d.RequireSignedBy) > 0 && len(c.Provenance.TrustedKeys) == 0 && c.Provenance.SigningKey.IsZero() {
			errs = append(errs, fmt.Errorf("domains[%d].requireSignedBy: no key is trusted; add its public key to provenance.trustedKeys", i))
		}
	}
	errs = append(errs, c.Lock.validate()...)
	errs = append(errs, c.PRDomains.validate()...)
	return errors.Join(errs...)
}

// Domain returns the named domain: one of Domains, or a pull request's
// own domain (PRDomains), which has the first domain's ceilings, defaults
// and quota.
func (c *Config) Domain(name string) (*Domain, bool) {
	for i := range c.Domains {
		if c.Domains[i].Name == name {
			return &c.Domains[i], true
		}
	}
	return c.prDomain(name)
}

// DomainNames returns the domains in promotion order.
func (c *Config) DomainNames() []string {
	var n []string
	for _, d := range c.Domains {
		n = append(n, d.Name)
	}
	return n
}

// Executor kinds (executor.kind).
const (
	ExecutorLocal      = "local"
	ExecutorKubernetes = "kubernetes"
)
