package provenance

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/runway-ci/runway/internal/platform"
)

// SecretReader reads a Kubernetes secret's data (flow passes one backed
// by client-go).
type SecretReader func(ctx context.Context, namespace, name string) (map[string][]byte, error)

// ErrNoSigningKey is returned by LoadSigner when the platform configures
// no signing key.
var ErrNoSigningKey = errors.New("no signing key configured")

// LoadSigner reads the platform's signing key from where it says: a file,
// an environment variable holding the PEM (a CI secret), or a Kubernetes
// secret (read with secrets). Errors name the source, never the content.
func LoadSigner(ctx context.Context, src platform.KeySource, getenv func(string) string, secrets SecretReader) (*Signer, error) {
	var b []byte
	switch {
	case src.File != "":
		var err error
		if b, err = os.ReadFile(src.File); err != nil {
			return nil, fmt.Errorf("provenance.signingKey: %w", err)
		}
	case src.Env != "":
		v := getenv(src.Env)
		if v == "" {
			return nil, fmt.Errorf("provenance.signingKey: $%s is not set", src.Env)
		}
		b = []byte(v)
	case src.Secret != nil:
		if secrets == nil {
			return nil, fmt.Errorf("provenance.signingKey: %s: no Kubernetes client (set executor.kubeconfig, or run in a cluster)", src)
		}
		data, err := secrets(ctx, src.Secret.Namespace, src.Secret.Name)
		if err != nil {
			return nil, fmt.Errorf("provenance.signingKey: reading %s: %w", src, err)
		}
		var ok bool
		if b, ok = data[src.Secret.Key]; !ok {
			return nil, fmt.Errorf("provenance.signingKey: %s: the secret has no key %q", src, src.Secret.Key)
		}
	default:
		return nil, ErrNoSigningKey
	}
	return ParsePrivateKey("provenance.signingKey ("+src.String()+")", b)
}

// ForDomain is the verification policy of domain under the platform
// config: its trustedKeys (plus extra public keys, such as the signing
// key's own) and the domain's requireSignedBy.
func ForDomain(cfg *platform.Config, domain string, extra ...string) (*Policy, error) {
	r := RequirementFor(cfg, domain, extra...)
	if r == nil {
		return &Policy{Domain: domain}, nil
	}
	p, err := r.Policy()
	if err != nil {
		return nil, fmt.Errorf("provenance policy of domain %s: %w", domain, err)
	}
	return p, nil
}

// Requirement is a domain's policy as data, for a process that has no
// platform config (exec-task reads it from its task spec).
type Requirement struct {
	Domain string `json:"domain,omitempty"`
	// TrustedKeys are PEM public keys.
	TrustedKeys     []string `json:"trustedKeys,omitempty"`
	RequireSignedBy []string `json:"requireSignedBy,omitempty"`
}

// RequirementFor is domain's requirement under cfg (extra: more trusted
// public keys, such as the signing key's own), or nil when the platform
// trusts no key and so nothing can be checked.
func RequirementFor(cfg *platform.Config, domain string, extra ...string) *Requirement {
	keys := append(cfg.Provenance.TrustedPEM(), extra...)
	var require []string
	if d, ok := cfg.Domain(domain); ok {
		require = d.RequireSignedBy
	}
	if len(keys) == 0 && len(require) == 0 {
		return nil
	}
	return &Requirement{Domain: domain, TrustedKeys: keys, RequireSignedBy: require}
}

// Policy builds the policy the requirement describes.
func (r *Requirement) Policy() (*Policy, error) {
	return NewPolicy(r.TrustedKeys, r.RequireSignedBy, r.Domain)
}
