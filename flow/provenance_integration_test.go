//go:build integration

package flow

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/provenance"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/kubetest"
	"github.com/runway-ci/runway/internal/testkit/testenv"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// TestIntegrationCosignAcceptsRegisteredSample: the sample registered
// through the flow with a signing key, into Debian's docker-registry and
// promoted to production (which requires the key), is accepted by cosign
// (built from the module proxy; nobody here wrote it): `cosign
// verify-attestation --key` passes for the dependency image, the code
// bundle, a task in development and the same task in production (the
// attestation travelled with the promotion), and the statement cosign
// returns names the manifest's digest and the commit. Another key is
// refused.
func TestIntegrationCosignAcceptsRegisteredSample(t *testing.T) {
	ctx := context.Background()
	cosign := testenv.Cosign(t)
	reg := testenv.StartDockerRegistry(t)
	s, err := remote.New(reg.Host + "/runway")
	if err != nil {
		t.Fatal(err)
	}
	keys := t.TempDir()
	priv, pub, id := keyPair(t, keys, "signing", provenance.ECDSAP256)
	_, otherPub, _ := keyPair(t, keys, "other", provenance.Ed25519)
	plat, file := provenancePlatformFile(t, keys, priv, pub, id)
	proj := NewProject(s, plat, nil)
	// A registry store promotes into its last domain only under a published
	// policy; publishing inlines the trusted key (the file stays here).
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := promote.PublishPlatform(ctx, s, file, raw, time.Now()); err != nil {
		t.Fatal(err)
	}
	if pub, err := promote.LoadPublished(ctx, s); err != nil || len(pub.Config.Provenance.TrustedPEM()) != 1 {
		t.Fatalf("the published config lost its trusted key: %v", err)
	}
	dir := gitRepo(t)
	rep, err := PR(ctx, proj, PRRequest{Repo: dir, Head: "HEAD"})
	if err != nil {
		t.Fatal(err)
	}
	v := rep.Version.Version
	if err := promoteTo(ctx, proj, v, "staging", "production"); err != nil {
		t.Fatal(err)
	}
	prod, err := registrar.Get(ctx, s, registrar.ID{Project: "house-prices", Domain: "production", Kind: registrar.KindTask, Name: "fit", Version: v})
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := s.HeadManifest(ctx, store.BundleRepo("house-prices"), store.BundleTag(strings.TrimPrefix(rep.Register.Bundle, "sha256:")))
	if err != nil {
		t.Fatal(err)
	}
	image := strings.TrimPrefix(rep.Register.Image, s.String()+"/") // house-prices/image@sha256:...
	refs := map[string]string{
		"image":           image,
		"bundle":          store.BundleRepo("house-prices") + "@" + bundle.Digest.String(),
		"task (dev)":      store.EntityRepo("house-prices", "development", "task", "fit") + "@" + prod.Manifest.Digest.String(),
		"task (promoted)": store.EntityRepo("house-prices", "production", "task", "fit") + "@" + prod.Manifest.Digest.String(),
	}
	home := t.TempDir()
	verify := func(key, ref string) (string, error) {
		cmd := exec.CommandContext(ctx, cosign, "verify-attestation", "--key", key, "--type", "slsaprovenance1",
			"--insecure-ignore-tlog", "--offline", "--allow-http-registry", "--output", "json", reg.Host+"/runway/"+ref)
		cmd.Env = append(os.Environ(), "HOME="+home, "TUF_ROOT="+filepath.Join(home, "tuf"))
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String() + errb.String(), err
	}
	for what, ref := range refs {
		out, err := verify(pub, ref)
		if err != nil {
			t.Fatalf("cosign refused the %s %s: %v\n%s", what, ref, err, out)
		}
		digest := ref[strings.LastIndex(ref, "@")+1:]
		var env struct{ Payload string }
		line := out[strings.Index(out, "{"):]
		if err := json.Unmarshal([]byte(strings.SplitN(line, "\n", 2)[0]), &env); err != nil {
			t.Fatalf("%s: cosign's output is not the envelope: %v\n%s", what, err, out)
		}
		payload, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			t.Fatal(err)
		}
		st, err := provenance.ParseStatement(payload)
		if err != nil {
			t.Fatal(err)
		}
		d, err := v1.NewHash(digest)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Names(d) || st.Commit != v || st.PredicateType != provenance.PredicateType {
			t.Fatalf("%s: cosign returned a statement about %+v (commit %s, %s)", what, st.Subjects, st.Commit, st.PredicateType)
		}
		t.Logf("cosign verify-attestation accepted the %s %s", what, ref)
		if out, err := verify(otherPub, ref); err == nil {
			t.Fatalf("cosign accepted the %s with another key:\n%s", what, out)
		}
	}
}

// TestIntegrationSigningKeyFromKubernetesSecret: the platform's signing key
// can live in a Kubernetes secret (the server's deployment keeps it
// there); runway reads it through the real apiserver and signs with it,
// and a missing secret or data key is a clear error naming the secret, not
// its content.
func TestIntegrationSigningKeyFromKubernetesSecret(t *testing.T) {
	ctx := context.Background()
	cp, err := kubetest.Start(ctx, filepath.Join(t.TempDir(), "cluster"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	client, err := cp.Client()
	if err != nil {
		t.Fatal(err)
	}
	priv, pub, id, err := provenance.GenerateKey(provenance.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "runway"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Secrets("runway").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "runway-signing"}, Data: map[string][]byte{"key.pem": priv},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	open := func(t *testing.T, secret string) *Project {
		t.Helper()
		y := fmt.Sprintf("provenance:\n  signingKey: {secret: {namespace: runway, name: %s}}\n  trustedKeys: [{pem: %q}]\n", secret, pub)
		plat, err := platform.Parse("platform.yaml", []byte(y))
		if err != nil {
			t.Fatal(err)
		}
		s, err := layout.New(t.TempDir(), layout.WithoutFsync())
		if err != nil {
			t.Fatal(err)
		}
		p := NewProject(s, plat, nil)
		p.kube.Client = client
		return p
	}
	t.Run("signs", func(t *testing.T) {
		rep, err := PR(ctx, open(t, "runway-signing"), PRRequest{Repo: gitRepo(t), Head: "HEAD"})
		if err != nil {
			t.Fatal(err)
		}
		if a := rep.Register.Attestations; a == nil || a.SignedBy != id || len(a.Subjects) != 8 {
			t.Fatalf("attestations %+v, want 8 signed by %s", a, id)
		}
	})
	t.Run("missing secret", func(t *testing.T) {
		p := open(t, "nope")
		_, err := PR(ctx, p, PRRequest{Repo: gitRepo(t), Head: "HEAD"})
		if repos, _ := p.Store.Repositories(ctx, ""); len(repos) != 0 {
			t.Fatalf("a failed signing key still wrote %v", repos)
		}
		if err == nil || !strings.Contains(err.Error(), "provenance.signingKey: reading secret runway/nope key key.pem") {
			t.Fatalf("err = %v", err)
		}
		if strings.Contains(err.Error(), "PRIVATE") {
			t.Fatal("the error shows key material")
		}
	})
}
