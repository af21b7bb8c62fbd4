package provenance_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/provenance"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/storetest"
)

// subject writes a small artifact to attest and returns its descriptor.
func subject(t testing.TB, s store.Store, repo, tag, payload string) v1.Descriptor {
	t.Helper()
	d, err := store.PutArtifact(context.Background(), s, repo, tag, store.Artifact{
		ArtifactType: "application/vnd.runway.test.v1+json",
		Layers:       []store.Blob{{MediaType: "application/json", Data: []byte(payload)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func newStore(t testing.TB, referrers bool) (store.Store, *storetest.Registry) {
	t.Helper()
	var opts []storetest.RegistryOption
	if referrers {
		opts = append(opts, storetest.WithReferrersAPI())
	}
	reg := storetest.NewRegistry(t, opts...)
	s, err := remote.New(reg.Host+"/runway", remote.WithRetryWait(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return s, reg
}

func signer(t testing.TB, alg provenance.Algorithm) (*provenance.Signer, string) {
	t.Helper()
	priv, pub, id, err := provenance.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	sg, err := provenance.ParsePrivateKey("test key", priv)
	if err != nil {
		t.Fatal(err)
	}
	if sg.ID() != id || !strings.HasPrefix(id, "SHA256:") {
		t.Fatalf("key ID %q, GenerateKey said %q", sg.ID(), id)
	}
	return sg, string(pub)
}

func facts() provenance.Facts {
	return provenance.Facts{
		Kind: provenance.KindBundle, Project: "fraud", Source: "https://github.com/acme/fraud", Commit: strings.Repeat("a", 40),
		RunwayVersion: "v1.2.3", Started: time.Unix(1700000000, 0).UTC(), Finished: time.Unix(1700000001, 0).UTC(),
	}
}

func TestAttestAndVerify(t *testing.T) {
	for _, alg := range []provenance.Algorithm{provenance.Ed25519, provenance.ECDSAP256} {
		for _, referrers := range []bool{false, true} {
			name := string(alg)
			if referrers {
				name += "/referrers-api"
			}
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				s, _ := newStore(t, referrers)
				sg, pub := signer(t, alg)
				d := subject(t, s, "fraud/bundle", "sha256-x", "code")
				m, wrote, err := provenance.Attest(ctx, s, sg, "fraud/bundle", d, nil, facts())
				if err != nil || !wrote {
					t.Fatalf("Attest: wrote=%v err=%v", wrote, err)
				}
				// Idempotent: the same key's attestation is not written twice.
				m2, wrote, err := provenance.Attest(ctx, s, sg, "fraud/bundle", d, nil, facts())
				if err != nil || wrote || m2 != m {
					t.Fatalf("second Attest: %s wrote=%v err=%v, want %s unchanged", m2, wrote, err, m)
				}
				pol, err := provenance.NewPolicy([]string{pub}, []string{sg.ID()}, "production")
				if err != nil {
					t.Fatal(err)
				}
				c, err := pol.Verify(ctx, s, "bundle", "fraud/bundle", d.Digest)
				if err != nil {
					t.Fatal(err)
				}
				if !c.Verified || c.SignedBy[0] != sg.ID() || c.Statement.Commit != strings.Repeat("a", 40) || c.Statement.RunwayVersion != "v1.2.3" {
					t.Fatalf("check = %+v, statement %+v", c, c.Statement)
				}
				// Copy to another repository (promotion) keeps it verifiable there.
				if _, err := promoteCopy(ctx, s, d); err != nil {
					t.Fatal(err)
				}
				if n, err := provenance.Copy(ctx, s, "fraud/bundle", "fraud/production/bundle", d.Digest); err != nil || n != 1 {
					t.Fatalf("Copy: %d, %v", n, err)
				}
				if c, err := pol.Verify(ctx, s, "bundle", "fraud/production/bundle", d.Digest); err != nil || !c.Verified {
					t.Fatalf("after copy: %+v %v", c, err)
				}
			})
		}
	}
}

// promoteCopy copies the subject manifest as promotion does.
func promoteCopy(ctx context.Context, s store.Store, d v1.Descriptor) (v1.Descriptor, error) {
	raw, desc, err := s.GetManifest(ctx, "fraud/bundle", d.Digest.String())
	if err != nil {
		return desc, err
	}
	var m store.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return desc, err
	}
	for _, b := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		if err := s.MountBlob(ctx, "fraud/bundle", "fraud/production/bundle", b.Digest); err != nil {
			return desc, err
		}
	}
	return s.PutManifest(ctx, "fraud/production/bundle", "v1", string(desc.MediaType), raw)
}

func TestRefusals(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, false)
	sg, pub := signer(t, provenance.Ed25519)
	other, otherPub := signer(t, provenance.ECDSAP256)
	required, err := provenance.NewPolicy([]string{pub}, []string{sg.ID()}, "production")
	if err != nil {
		t.Fatal(err)
	}
	optional, err := provenance.NewPolicy([]string{pub}, nil, "development")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("missing", func(t *testing.T) {
		d := subject(t, s, "p/missing", "t", "m")
		_, err := required.Verify(ctx, s, "bundle", "p/missing", d.Digest)
		wantRefusal(t, err, "no attestation; domain production requires one signed by "+sg.ID())
		if c, err := optional.Verify(ctx, s, "bundle", "p/missing", d.Digest); err != nil || c.Verified {
			t.Fatalf("optional policy: %+v %v (absence is allowed where nothing is required)", c, err)
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		d := subject(t, s, "p/wrong", "t", "w")
		if _, _, err := provenance.Attest(ctx, s, other, "p/wrong", d, nil, facts()); err != nil {
			t.Fatal(err)
		}
		_, err := required.Verify(ctx, s, "bundle", "p/wrong", d.Digest)
		wantRefusal(t, err, "no attestation signed by a trusted key")
		wantRefusal(t, err, other.ID()+", which is not a trusted key")
		// Trusting the other key without requiring it is not enough for production.
		both, err := provenance.NewPolicy([]string{pub, otherPub}, []string{sg.ID()}, "production")
		if err != nil {
			t.Fatal(err)
		}
		_, err = both.Verify(ctx, s, "bundle", "p/wrong", d.Digest)
		wantRefusal(t, err, "signed by "+other.ID()+", but domain production requires "+sg.ID())
	})
	t.Run("altered statement", func(t *testing.T) {
		d := subject(t, s, "p/alt", "t", "a")
		m, _, err := provenance.Attest(ctx, s, sg, "p/alt", d, nil, facts())
		if err != nil {
			t.Fatal(err)
		}
		atts, err := provenance.Read(ctx, s, "p/alt", d.Digest)
		if err != nil || len(atts) != 1 || atts[0].Manifest != m {
			t.Fatalf("Read: %v %v", atts, err)
		}
		env := *atts[0].Envelope
		env.Payload = strings.Replace(env.Payload, "a", "b", 1) // another commit, same signature
		if _, err := provenance.Write(ctx, s, "p/alt", d, &env, time.Now()); err != nil {
			t.Fatal(err)
		}
		for _, pol := range []*provenance.Policy{required, optional} {
			_, err = pol.Verify(ctx, s, "bundle", "p/alt", d.Digest)
			wantRefusal(t, err, "the signature does not verify with the trusted key it names")
		}
	})
	t.Run("attestation moved onto another manifest", func(t *testing.T) {
		d := subject(t, s, "p/moved", "good", "good")
		bad := subject(t, s, "p/moved", "bad", "tampered")
		if _, _, err := provenance.Attest(ctx, s, sg, "p/moved", d, nil, facts()); err != nil {
			t.Fatal(err)
		}
		atts, _ := provenance.Read(ctx, s, "p/moved", d.Digest)
		if _, err := provenance.Write(ctx, s, "p/moved", bad, atts[0].Envelope, time.Now()); err != nil {
			t.Fatal(err)
		}
		for _, pol := range []*provenance.Policy{required, optional} {
			_, err := pol.Verify(ctx, s, "bundle", "p/moved", bad.Digest)
			wantRefusal(t, err, "the signed statement is about "+d.Digest.String()+", not "+bad.Digest.String())
		}
	})
	t.Run("envelope layer that is not an envelope", func(t *testing.T) {
		d := subject(t, s, "p/garbage", "t", "g")
		if _, err := store.PutArtifact(ctx, s, "p/garbage", "", store.Artifact{
			ArtifactType: provenance.MediaTypeEnvelope, Subject: &d,
			Layers: []store.Blob{{MediaType: provenance.MediaTypeEnvelope, Data: []byte("not an envelope")}},
		}); err != nil {
			t.Fatal(err)
		}
		for _, pol := range []*provenance.Policy{required, optional} {
			_, err := pol.Verify(ctx, s, "bundle", "p/garbage", d.Digest)
			wantRefusal(t, err, "the envelope layer is not a DSSE envelope")
		}
	})
	t.Run("policy names an untrusted key", func(t *testing.T) {
		_, err := provenance.NewPolicy([]string{pub}, []string{other.ID()}, "production")
		if err == nil || !strings.Contains(err.Error(), "not among the trusted keys") {
			t.Fatalf("NewPolicy: %v", err)
		}
	})
}

func wantRefusal(t *testing.T, err error, want string) {
	t.Helper()
	if !errors.Is(err, provenance.ErrUnverified) {
		t.Fatalf("err = %v, want a refusal wrapping ErrUnverified", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v\nwant it to say %q", err, want)
	}
}

func TestKeysRefuseWhatCannotBeUsed(t *testing.T) {
	priv, pub, _, err := provenance.GenerateKey(provenance.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		private bool
		in      string
		want    string
	}{
		"garbage":           {true, "not a key", "no PEM block"},
		"public as private": {true, string(pub), "this is a public key"},
		"private as public": {false, string(priv), "never give verifiers the private key"},
		"truncated":         {true, string(priv[:60]) + "\n-----END PRIVATE KEY-----\n", "unusable key"},
		"rsa":               {false, rsaPub, "only ed25519 and ECDSA P-256"},
		"encrypted":         {true, "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "encrypted keys are not supported"},
		"unknown algorithm": {true, "", ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if name == "unknown algorithm" {
				if _, _, _, err := provenance.GenerateKey("rsa"); !errors.Is(err, provenance.ErrKey) {
					t.Fatalf("GenerateKey(rsa): %v", err)
				}
				return
			}
			var err error
			if c.private {
				_, err = provenance.ParsePrivateKey("k.pem", []byte(c.in))
			} else {
				_, err = provenance.ParsePublicKey("k.pub", []byte(c.in))
			}
			if !errors.Is(err, provenance.ErrKey) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "k.p") {
				t.Fatalf("err = %v, want ErrKey naming the file and saying %q", err, c.want)
			}
		})
	}
}

const rsaPub = `-----BEGIN PUBLIC KEY-----
MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMmDcUFYaCwX0cHjHjdg6OyD1t+LkxLq
gT64IMQ1u9JzwWk4nFfnv6ejvTEGnI0oBVBR23hk2OVa5GoExWpj1NkCAwEAAQ==
-----END PUBLIC KEY-----
`
