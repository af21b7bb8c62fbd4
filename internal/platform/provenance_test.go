package platform

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testPub = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n"

// TestProvenanceKeysTravelInline: trustedKeys given as files (relative to
// the config) are read at parse time, and InlineKeys makes the config
// self-contained, so it parses where the files are not (a config published
// into the store), comments kept.
func TestProvenanceKeysTravelInline(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "release.pub"), []byte(testPub), 0o644); err != nil {
		t.Fatal(err)
	}
	raw := []byte("# the platform team's config\nprovenance:\n  signingKey: {env: RUNWAY_SIGNING_KEY}\n  trustedKeys:\n    - file: release.pub # our release key\ndomains:\n  - name: development\n  - name: production\n    requireSignedBy: [\"SHA256:abc\"]\n")
	file := filepath.Join(dir, "platform.yaml")
	if err := os.WriteFile(file, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Provenance.TrustedPEM(); len(got) != 1 || got[0] != testPub {
		t.Fatalf("trusted keys %q", got)
	}
	inline, err := InlineKeys(raw, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(inline), "release.pub") || !strings.Contains(string(inline), "# the platform team's config") {
		t.Fatalf("inlined config:\n%s", inline)
	}
	elsewhere, err := Parse("registry/runway-platform/config:current", inline)
	if err != nil {
		t.Fatalf("the inlined config does not parse elsewhere: %v\n%s", err, inline)
	}
	if got := elsewhere.Provenance.TrustedPEM(); len(got) != 1 || got[0] != testPub {
		t.Fatalf("inlined trusted keys %q", got)
	}
	if d, _ := elsewhere.Domain("production"); len(d.RequireSignedBy) != 1 {
		t.Fatalf("production %+v", d)
	}
}

func TestProvenanceConfigErrors(t *testing.T) {
	cases := map[string]struct{ yaml, want string }{
		"private key inline":      {"provenance: {signingKey: {pem: x}}\n", "provenance.signingKey.pem: a private key does not belong in the platform config"},
		"two sources":             {"provenance: {signingKey: {file: a, env: B}}\n", "provenance.signingKey: set one of file, env, secret"},
		"secret without name":     {"provenance: {signingKey: {secret: {namespace: runway}}}\n", "provenance.signingKey.secret: namespace and name are required"},
		"missing key file":        {"provenance: {trustedKeys: [{file: /nonexistent/k.pub}]}\n", "provenance.trustedKeys[0].file: open /nonexistent/k.pub"},
		"private key as trusted":  {"provenance: {trustedKeys: [{pem: \"-----BEGIN PRIVATE KEY-----\"}]}\n", "provenance.trustedKeys[0]: not a PEM \"PUBLIC KEY\""},
		"bad key ID":              {"provenance: {trustedKeys: [{pem: \"" + strings.ReplaceAll(testPub, "\n", "\\n") + "\"}]}\ndomains: [{name: production, requireSignedBy: [abc]}]\n", "domains[0].requireSignedBy[0]: \"abc\" is not a key ID"},
		"required but no key":     {"domains: [{name: production, requireSignedBy: [\"SHA256:x\"]}]\n", "domains[0].requireSignedBy: no key is trusted"},
		"trusted key from secret": {"provenance: {trustedKeys: [{env: K}]}\n", "provenance.trustedKeys[0]: public keys are given as file or pem"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("platform.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "platform.yaml: ") {
				t.Fatalf("err = %v\nwant it to name the file and say %q", err, c.want)
			}
		})
	}
}
