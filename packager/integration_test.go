//go:build integration

package packager_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/testenv"
	"github.com/runway-ci/runway/packager"
)

// TestIntegrationImageRunsInPodman pushes a real dependency image to
// Debian's docker-registry, checks it with skopeo (an independent OCI
// client), and runs the embedded runway binary with podman.
func TestIntegrationImageRunsInPodman(t *testing.T) {
	skopeo := testenv.RequireProgram(t, "skopeo", "skopeo")
	pm := testenv.NewPodman(t)
	reg := testenv.StartDockerRegistry(t)

	binary, version := runwayForImage(t)
	base, baseDigest := testenv.PushBusybox(t, reg.Host)
	s, err := remote.New(reg.Host)
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	if err := os.WriteFile(filepath.Join(repo, "requirements.txt"), []byte("numpy==2.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	req := packager.Request{
		Project: "fraud",
		Image: spec.Image{
			Base:         base,
			Dependencies: []string{"requirements.txt"},
			Install: []string{"sh", "-c", `mkdir -p "$RUNWAY_LAYER/opt/deps" && ` +
				`cp requirements.txt "$RUNWAY_LAYER/opt/deps/installed.txt"`},
			Env: map[string]string{"PYTHONPATH": "/opt/deps"},
		},
		Hash:         testHash,
		RepoDir:      repo,
		Revision:     "3333333333333333333333333333333333333333",
		Source:       "https://github.com/example/fraud",
		RunwayBinary: binary,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := packager.Build(ctx, s, req)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	again, err := packager.Build(ctx, s, req)
	if err != nil || !again.Existed || again.Descriptor.Digest != res.Descriptor.Digest {
		t.Fatalf("second Build: %+v, %v; want the existing image", again, err)
	}

	tagRef := reg.Host + "/" + res.Repo + ":" + res.Tag
	digestRef := reg.Host + "/" + res.Repo + "@" + res.Descriptor.Digest.String()

	// skopeo: the manifest as the registry serves it.
	raw := run(t, skopeo, "inspect", "--raw", "--tls-verify=false", "docker://"+tagRef)
	var m v1.Manifest
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("skopeo inspect --raw: %v\n%s", err, raw)
	}
	if m.MediaType != "application/vnd.oci.image.manifest.v1+json" || len(m.Layers) != 3 {
		t.Fatalf("skopeo sees %s with %d layers, want an OCI manifest with 3:\n%s", m.MediaType, len(m.Layers), raw)
	}
	for i, role := range []string{"", packager.LayerDependencies, packager.LayerRunway} {
		if m.Layers[i].Annotations[store.AnnotationLayer] != role || m.Layers[i].MediaType != "application/vnd.oci.image.layer.v1.tar+gzip" {
			t.Errorf("layer %d: %+v, want role %q", i, m.Layers[i], role)
		}
	}
	for k, v := range map[string]string{
		store.AnnotationRevision:   req.Revision,
		store.AnnotationSource:     req.Source,
		store.AnnotationBaseName:   base,
		store.AnnotationBaseDigest: baseDigest.String(),
	} {
		if m.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, m.Annotations[k], v)
		}
	}
	// skopeo: the image as a client resolves it (digest, layers, env).
	var info struct {
		Digest       string
		Layers       []string
		Env          []string
		Architecture string
		Os           string
	}
	out := run(t, skopeo, "inspect", "--tls-verify=false", "docker://"+tagRef)
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("skopeo inspect: %v\n%s", err, out)
	}
	if info.Digest != res.Descriptor.Digest.String() || len(info.Layers) != 3 || info.Layers[2] != res.Runway.Digest.String() {
		t.Errorf("skopeo inspect: digest %s layers %v; want %s and runway layer %s last", info.Digest, info.Layers, res.Descriptor.Digest, res.Runway.Digest)
	}
	if !strings.Contains(strings.Join(info.Env, " "), "PYTHONPATH=/opt/deps") {
		t.Errorf("skopeo inspect env %v lacks PYTHONPATH", info.Env)
	}

	// podman: run the embedded binary (the image's entrypoint), then read
	// the dependency layer through the base's shell.
	got, err := pm.Run(ctx, digestRef, "version")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(got) != version {
		t.Errorf("podman run IMAGE version printed %q, want %q", got, version)
	}
	got, err = pm.Run(ctx, "--entrypoint", "/bin/cat", digestRef, "/opt/deps/installed.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got != "numpy==2.0\n" {
		t.Errorf("dependency layer file in the container: %q", got)
	}
}

// runwayForImage builds the binary the image embeds, the full runway CLI
// (./cmd/runway-core, which images carry as /usr/local/bin/runway), or
// takes $RUNWAY_TEST_BINARY, and returns it with the text its `version`
// command prints on this host.
func runwayForImage(t *testing.T) (binary, want string) {
	t.Helper()
	version := func(bin string) string {
		out, err := exec.Command(bin, "version").CombinedOutput()
		if err != nil {
			t.Fatalf("%s version: %v\n%s", bin, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if bin := os.Getenv("RUNWAY_TEST_BINARY"); bin != "" {
		t.Logf("image embeds $RUNWAY_TEST_BINARY=%s", bin)
		return bin, version(bin)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := testenv.BuildStatic(t, root, "./cmd/runway-core")
	return bin, version(bin)
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\nstderr:\n%s\nstdout:\n%s", name, strings.Join(args, " "), err, stderr.String(), out)
	}
	return string(out)
}
