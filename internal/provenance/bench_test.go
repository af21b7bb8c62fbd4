package provenance_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/runway-ci/runway/internal/provenance"
)

// BenchmarkAttest: sign and store one attestation (in-toto statement,
// DSSE, OCI referrer) against the in-process registry, per key type.
// BenchmarkVerify: read it back and verify it, as promotion and exec-task
// do for each subject.
func BenchmarkAttest(b *testing.B) {
	for _, alg := range []provenance.Algorithm{provenance.Ed25519, provenance.ECDSAP256} {
		b.Run(string(alg), func(b *testing.B) {
			ctx := context.Background()
			s, _ := newStore(b, false)
			sg, _ := signer(b, alg)
			for i := 0; b.Loop(); i++ {
				d := subject(b, s, "fraud/bundle", "", fmt.Sprintf("p%d", i))
				if _, _, err := provenance.Attest(ctx, s, sg, "fraud/bundle", d, nil, facts()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	s, _ := newStore(b, false)
	sg, pub := signer(b, provenance.Ed25519)
	d := subject(b, s, "fraud/bundle", "", "x")
	if _, _, err := provenance.Attest(ctx, s, sg, "fraud/bundle", d, nil, facts()); err != nil {
		b.Fatal(err)
	}
	pol, err := provenance.NewPolicy([]string{pub}, []string{sg.ID()}, "production")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := pol.Verify(ctx, s, "bundle", "fraud/bundle", d.Digest); err != nil {
			b.Fatal(err)
		}
	}
}
