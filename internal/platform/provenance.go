package platform

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Provenance configures the signing of the attestations runway makes for
// every image, bundle and entity version it produces, and the keys whose
// signatures verifiers trust (internal/provenance). A domain's
// requireSignedBy makes a valid attestation mandatory there.
type Provenance struct {
	// SigningKey is the private key runway signs with (ed25519 or ECDSA
	// P-256, PKCS#8 PEM). Unset: nothing is signed.
	SigningKey KeySource `yaml:"signingKey" json:"signingKey"`
	// TrustedKeys are the public keys ("PUBLIC KEY" PEM) verifiers accept.
	// The signing key's public half is trusted too.
	TrustedKeys []KeySource `yaml:"trustedKeys" json:"trustedKeys"`
}

// KeySource says where a key is: a file (relative to the platform config),
// inline PEM (public keys only), an environment variable holding the PEM
// (a CI secret), or a Kubernetes secret.
type KeySource struct {
	File   string     `yaml:"file,omitempty" json:"file,omitempty"`
	PEM    string     `yaml:"pem,omitempty" json:"pem,omitempty"`
	Env    string     `yaml:"env,omitempty" json:"env,omitempty"`
	Secret *SecretRef `yaml:"secret,omitempty" json:"secret,omitempty"`
}

// SecretRef names one key of a Kubernetes secret.
type SecretRef struct {
	Namespace string `yaml:"namespace" json:"namespace"`
	Name      string `yaml:"name" json:"name"`
	// Key is the data key holding the PEM (default "key.pem").
	Key string `yaml:"key" json:"key"`
}

// IsZero reports whether no source is set.
func (k KeySource) IsZero() bool {
	return k.File == "" && k.PEM == "" && k.Env == "" && k.Secret == nil
}

// String names the source for messages, never its content.
func (k KeySource) String() string {
	switch {
	case k.File != "":
		return "file " + k.File
	case k.Env != "":
		return "$" + k.Env
	case k.Secret != nil:
		return fmt.Sprintf("secret %s/%s key %s", k.Secret.Namespace, k.Secret.Name, k.Secret.Key)
	case k.PEM != "":
		return "inline PEM"
	}
	return "none"
}

func (k KeySource) count() int {
	n := 0
	for _, set := range []bool{k.File != "", k.PEM != "", k.Env != "", k.Secret != nil} {
		if set {
			n++
		}
	}
	return n
}

// resolve makes file paths absolute (relative to dir) and, for public
// keys, reads the file so the config carries the PEM (a config published
// into the store is read elsewhere).
func (p *Provenance) resolve(dir string) []error {
	var errs []error
	abs := func(f string) string {
		if f == "" || filepath.IsAbs(f) || dir == "" {
			return f
		}
		return filepath.Join(dir, f)
	}
	sk := &p.SigningKey
	switch {
	case sk.count() > 1:
		errs = append(errs, fmt.Errorf("provenance.signingKey: set one of file, env, secret"))
	case sk.PEM != "":
		errs = append(errs, fmt.Errorf("provenance.signingKey.pem: a private key does not belong in the platform config; use file, env or secret"))
	case sk.Secret != nil:
		if sk.Secret.Key == "" {
			sk.Secret.Key = "key.pem"
		}
		if sk.Secret.Namespace == "" || sk.Secret.Name == "" {
			errs = append(errs, fmt.Errorf("provenance.signingKey.secret: namespace and name are required"))
		}
	}
	sk.File = abs(sk.File)
	for i := range p.TrustedKeys {
		k := &p.TrustedKeys[i]
		switch {
		case k.count() != 1:
			errs = append(errs, fmt.Errorf("provenance.trustedKeys[%d]: set exactly one of file, pem", i))
		case k.Env != "" || k.Secret != nil:
			errs = append(errs, fmt.Errorf("provenance.trustedKeys[%d]: public keys are given as file or pem", i))
		case k.File != "":
			k.File = abs(k.File)
			b, err := os.ReadFile(k.File)
			if err != nil {
				errs = append(errs, fmt.Errorf("provenance.trustedKeys[%d].file: %w", i, err))
				continue
			}
			k.PEM = string(b)
		}
		if k.PEM != "" && !strings.Contains(k.PEM, "-----BEGIN PUBLIC KEY-----") {
			errs = append(errs, fmt.Errorf("provenance.trustedKeys[%d]: not a PEM \"PUBLIC KEY\" (never give verifiers a private key)", i))
		}
	}
	return errs
}

// TrustedPEM returns the trusted public keys' PEM.
func (p Provenance) TrustedPEM() []string {
	var out []string
	for _, k := range p.TrustedKeys {
		if k.PEM != "" {
			out = append(out, k.PEM)
		}
	}
	return out
}

// InlineKeys rewrites raw (the config file's YAML) so that every
// provenance.trustedKeys entry given as a file carries the key itself
// (pem), as cfg (Parse's result for raw) read it: a config published into
// the store is parsed elsewhere, where the files are not. Comments and
// everything else are kept.
func InlineKeys(raw []byte, cfg *Config) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return raw, nil
	}
	keys := mapValue(mapValue(doc.Content[0], "provenance"), "trustedKeys")
	if keys == nil || keys.Kind != yaml.SequenceNode {
		return raw, nil
	}
	changed := false
	for i, item := range keys.Content {
		if i >= len(cfg.Provenance.TrustedKeys) || item.Kind != yaml.MappingNode || mapValue(item, "file") == nil {
			continue
		}
		item.Content = []*yaml.Node{
			{Kind: yaml.ScalarNode, Value: "pem"},
			{Kind: yaml.ScalarNode, Value: cfg.Provenance.TrustedKeys[i].PEM, Style: yaml.LiteralStyle},
		}
		item.Style = 0
		changed = true
	}
	if !changed {
		return raw, nil
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
