//go:build integration

package flow

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/fastreg"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/testenv"
)

// TestIntegrationPRPipelineOnDockerRegistry runs the PR pipeline against
// Debian's docker-registry: the image and the bundle it pushes are read
// back by skopeo (an independent client), the bundle round-trips through
// fastreg.Fetch, and a second run uploads nothing.
func TestIntegrationPRPipelineOnDockerRegistry(t *testing.T) {
	ctx := context.Background()
	reg := testenv.StartDockerRegistry(t)
	skopeo := testenv.RequireProgram(t, "skopeo", "skopeo")
	s, err := remote.New(reg.Host + "/runway")
	if err != nil {
		t.Fatal(err)
	}
	dir := gitRepo(t)
	head := runGit(t, dir, "rev-parse", "HEAD")
	proj := NewProject(s, nil, nil)
	pr, err := PR(ctx, proj, PRRequest{Repo: dir, Domain: "development", Head: head})
	rep := pr.Register
	if err != nil {
		t.Fatal(err)
	}
	if !pr.Package.Image.Built || !pr.Package.Bundle.Uploaded || len(rep.Entities) != 6 {
		t.Fatalf("image %+v bundle %+v entities %d", pr.Package.Image, pr.Package.Bundle, len(rep.Entities))
	}
	inspect := func(ref string) map[string]any {
		t.Helper()
		out, err := exec.Command(skopeo, "inspect", "--raw", "--tls-verify=false", "docker://"+ref).CombinedOutput()
		if err != nil {
			t.Fatalf("skopeo inspect %s: %v\n%s", ref, err, out)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		return m
	}
	// The image: annotations and the runway layer, as skopeo sees them.
	img := inspect(reg.Host + "/runway/" + store.ImageRepo("house-prices") + ":" + store.ImageTag(pr.Plan.Image.Hash))
	ann, _ := img["annotations"].(map[string]any)
	if ann[store.AnnotationRevision] != head || ann[store.AnnotationBaseName] != "scratch" {
		t.Errorf("image annotations %v", ann)
	}
	if layers, _ := img["layers"].([]any); len(layers) != 2 {
		t.Errorf("image layers %v, want dependencies + runway", layers)
	}
	// The bundle artifact.
	hex := strings.TrimPrefix(pr.Package.Bundle.Digest, "sha256:")
	b := inspect(reg.Host + "/runway/" + store.BundleRepo("house-prices") + ":" + store.BundleTag(hex))
	if b["artifactType"] != fastreg.ArtifactType {
		t.Errorf("bundle artifactType %v", b["artifactType"])
	}
	bann, _ := b["annotations"].(map[string]any)
	if bann[store.AnnotationBundleDigest] != pr.Package.Bundle.Digest {
		t.Errorf("bundle annotations %v", bann)
	}
	// The bundle comes back, verified and extracted.
	root := t.TempDir() + "/code"
	if err := fastreg.Fetch(ctx, s, "house-prices", v1.Hash{Algorithm: "sha256", Hex: hex}, root, fastreg.Limits{}); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("python3", "-c", "import sys; sys.path.insert(0, '"+root+"'); import pipeline.linalg").CombinedOutput(); err != nil {
		t.Errorf("extracted bundle is not the pipeline: %v %s", err, out)
	}
	// Idempotent: nothing new reaches the registry.
	before := reg.Requests(t, "PATCH", "/blobs/uploads/") + reg.Requests(t, "PUT", "/blobs/uploads/")
	pr, err = PR(ctx, proj, PRRequest{Repo: dir, Domain: "development", Head: head})
	if err != nil {
		t.Fatal(err)
	}
	if after := reg.Requests(t, "PATCH", "/blobs/uploads/") + reg.Requests(t, "PUT", "/blobs/uploads/"); after != before {
		t.Errorf("re-registering sent %d blob data requests to the registry", after-before)
	}
	for _, e := range pr.Register.Entities {
		if e.Status != "unchanged" {
			t.Errorf("again: %+v", e)
		}
	}
}
