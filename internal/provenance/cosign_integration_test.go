//go:build integration

package provenance_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runway-ci/runway/internal/provenance"
	"github.com/runway-ci/runway/internal/testkit/testenv"
)

// TestCosignVerifiesRunwayAttestations: cosign, built from the module
// proxy by .ci/cosign.sh, accepts runway's attestation of a manifest with
// the public key, for both key types, and refuses it with another key.
func TestCosignVerifiesRunwayAttestations(t *testing.T) {
	cosign := testenv.Cosign(t)
	for _, alg := range []provenance.Algorithm{provenance.ECDSAP256, provenance.Ed25519} {
		t.Run(string(alg), func(t *testing.T) {
			ctx := context.Background()
			s, reg := newStore(t, false)
			sg, pub := signer(t, alg)
			_, otherPub := signer(t, alg)
			d := subject(t, s, "fraud/bundle", "sha256-x", "code "+string(alg))
			if _, _, err := provenance.Attest(ctx, s, sg, "fraud/bundle", d, nil, facts()); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			key, other := filepath.Join(dir, "key.pub"), filepath.Join(dir, "other.pub")
			if err := os.WriteFile(key, []byte(pub), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(other, []byte(otherPub), 0o600); err != nil {
				t.Fatal(err)
			}
			ref := reg.Host + "/runway/fraud/bundle@" + d.Digest.String()
			run := func(k string) (string, error) {
				cmd := exec.CommandContext(ctx, cosign, "verify-attestation", "--key", k,
					"--type", "slsaprovenance1", "--insecure-ignore-tlog", "--offline", "--allow-http-registry", ref)
				cmd.Env = append(os.Environ(), "HOME="+dir, "TUF_ROOT="+filepath.Join(dir, "tuf"))
				out, err := cmd.CombinedOutput()
				return string(out), err
			}
			out, err := run(key)
			if err != nil {
				t.Fatalf("cosign verify-attestation refused runway's attestation: %v\n%s", err, out)
			}
			if !strings.Contains(out, `"payloadType":"application/vnd.in-toto+json"`) {
				t.Fatalf("cosign output has no in-toto envelope:\n%s", out)
			}
			t.Logf("cosign accepted %s:\n%s", ref, firstLines(out, 6))
			if out, err := run(other); err == nil {
				t.Fatalf("cosign accepted the attestation with another key:\n%s", out)
			}
		})
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
