package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProvenanceCommands is the README's "Signed provenance" example:
// keygen, a platform config that signs and requires the key in
// production, register, promote, verify; then a version registered without
// the key is refused by promotion into production and by verify, both
// with exit code 6, and keygen refuses to overwrite a key.
func TestProvenanceCommands(t *testing.T) {
	home, repo, keys := t.TempDir(), sampleRepo(t), t.TempDir()
	priv := filepath.Join(keys, "signing.pem")
	r := run(t, home, "keygen", "--out", priv, "-o", "json")
	var k struct{ KeyID, PublicKey string }
	if err := json.Unmarshal([]byte(r.out), &k); r.code != 0 || err != nil || !strings.HasPrefix(k.KeyID, "SHA256:") {
		t.Fatalf("keygen: %d %v %s %s", r.code, err, r.out, r.err)
	}
	if fi, err := os.Stat(priv); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode: %v %v", fi, err)
	}
	if r := run(t, home, "keygen", "--out", priv); r.code != ExitUsage || !strings.Contains(r.err, "refusing to overwrite") {
		t.Fatalf("keygen over an existing key: %d %s", r.code, r.err)
	}
	platformFile := func(signing bool) string {
		sk := ""
		if signing {
			sk = "  signingKey: {file: signing.pem}\n"
		}
		y := fmt.Sprintf("provenance:\n%s  trustedKeys: [{file: signing.pub}]\ndomains:\n  - name: development\n  - name: staging\n  - name: production\n    requireSignedBy: [%q]\n", sk, k.KeyID)
		f := filepath.Join(keys, fmt.Sprintf("platform-%v.yaml", signing))
		if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	signed, unsigned := platformFile(true), platformFile(false)

	reg := func(plat string) string {
		t.Helper()
		r := run(t, home, "register", "--repo", repo, "--platform", plat, "-o", "json")
		var rep struct {
			Version      string
			Attestations *struct{ SignedBy string }
		}
		if err := json.Unmarshal([]byte(r.out), &rep); r.code != 0 || err != nil {
			t.Fatalf("register: %d %v %s", r.code, err, r.err)
		}
		if (rep.Attestations != nil) != (plat == signed) {
			t.Fatalf("register with %s: attestations %+v", plat, rep.Attestations)
		}
		return rep.Version
	}
	v := reg(signed)
	for _, to := range []string{"staging", "production"} {
		if r := run(t, home, "promote", "--repo", repo, "--platform", signed, "--to", to, "--version", v, "--actor", "alice"); r.code != 0 {
			t.Fatalf("promote to %s: %d %s", to, r.code, r.err)
		}
	}
	r = run(t, home, "verify", "launchplan/nightly@"+v, "--repo", repo, "--platform", unsigned, "--domain", "production", "-o", "json")
	var chain struct {
		Chain []struct {
			What     string
			Verified bool
			SignedBy []string
		}
	}
	if err := json.Unmarshal([]byte(r.out), &chain); r.code != 0 || err != nil || len(chain.Chain) != 8 {
		t.Fatalf("verify: %d %v %s %s", r.code, err, r.out, r.err)
	}
	for _, c := range chain.Chain {
		if !c.Verified || c.SignedBy[0] != k.KeyID {
			t.Fatalf("link %+v", c)
		}
	}
	r = run(t, home, "verify", "task/prepare@"+v, "--repo", repo, "--platform", unsigned, "--domain", "production")
	if r.code != 0 || !strings.Contains(r.out, "signed by "+k.KeyID) || !strings.Contains(r.out, "commit "+v) {
		t.Fatalf("verify (text): %d\n%s%s", r.code, r.out, r.err)
	}

	// A version registered without the key.
	if err := os.WriteFile(filepath.Join(repo, "pipeline", "unsigned.py"), []byte("# unsigned\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	commitAll(t, repo, "unsigned")
	u := reg(unsigned)
	if r := run(t, home, "promote", "--repo", repo, "--platform", unsigned, "--to", "staging", "--version", u, "--actor", "alice"); r.code != 0 {
		t.Fatalf("staging requires nothing: %d %s", r.code, r.err)
	}
	r = run(t, home, "promote", "--repo", repo, "--platform", unsigned, "--to", "production", "--version", u, "--actor", "alice")
	if r.code != ExitRefused || !strings.Contains(r.err, "no attestation; domain production requires one signed by "+k.KeyID) {
		t.Fatalf("unsigned into production: %d %s", r.code, r.err)
	}
	r = run(t, home, "verify", "task/prepare@"+u, "--repo", repo, "--platform", unsigned, "--domain", "staging")
	if r.code != 0 || !strings.Contains(r.out, "unsigned") {
		t.Fatalf("verify an unsigned version where nothing is required: %d\n%s%s", r.code, r.out, r.err)
	}
}
