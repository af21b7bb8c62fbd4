package provenance

import (
	"encoding/base64"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// FuzzVerifyEnvelope feeds hostile payloads through what verification
// reads from the registry: the statement parser and the envelope check,
// under a policy that trusts one key. Nothing may panic, and nothing the
// fuzzer makes may verify (it cannot sign).
func FuzzVerifyEnvelope(f *testing.F) {
	priv, pub, _, err := GenerateKey(Ed25519)
	if err != nil {
		f.Fatal(err)
	}
	sg, err := ParsePrivateKey("k", priv)
	if err != nil {
		f.Fatal(err)
	}
	pol, err := NewPolicy([]string{string(pub)}, []string{sg.ID()}, "production")
	if err != nil {
		f.Fatal(err)
	}
	d := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}
	good, err := Statement([]Subject{{Name: "x", Digest: d}}, Facts{Kind: KindBundle, Project: "p", Commit: strings.Repeat("c", 40)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, PayloadType, sg.ID())
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"`+d.Hex+`"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"resolvedDependencies":[{"digest":{"sha256":1}}]}}}`), PayloadType, "")
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v0.1","subject":[],"predicate":null}`), "text/plain", "SHA256:x")
	f.Fuzz(func(t *testing.T, payload []byte, payloadType, keyID string) {
		_, _ = ParseStatement(payload)
		env := &dsse.Envelope{PayloadType: payloadType, Payload: base64.StdEncoding.EncodeToString(payload),
			Signatures: []dsse.Signature{{KeyID: keyID, Sig: base64.StdEncoding.EncodeToString(payload)}}}
		v := pol.check(&Attestation{Subject: d, Envelope: env, Manifest: d})
		if v.err == nil || len(v.signedBy) > 0 {
			t.Fatalf("an unsigned envelope verified: %+v", v)
		}
	})
}
