package flow

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runway-ci/runway"
	"github.com/runway-ci/runway/internal/plan"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/storetest"
	"github.com/runway-ci/runway/registrar"
)

// gitRepo copies the sample into a new repository and commits it.
func gitRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	err := runway.WriteSample(dir)
	if err != nil {
		t.Fatal(err)
	}
	runGit(t, dir, "init", "-q", "-b", "main")
	commit(t, dir, "sample")
	return dir
}

func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@x", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@x")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func commit(t *testing.T, dir, msg string) string {
	runGit(t, dir, "add", "-A")
	runGit(t, dir, "commit", "-q", "-m", msg)
	return runGit(t, dir, "rev-parse", "HEAD")
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// TestPRScenario walks a real history of the sample through the PR
// pipeline: a dependency change gives `image`, a code-only change `bundle`
// and a README-only change `none`, and the bytes each uploads are counted
// at the registry.
func TestPRScenario(t *testing.T) {
	ctx := context.Background()
	reg := storetest.NewRegistry(t)
	s, err := remote.New(reg.Host+"/runway", remote.WithRetryWait(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	dir := gitRepo(t)
	first := runGit(t, dir, "rev-parse", "HEAD")

	proj := NewProject(s, nil, nil)
	register := func(base, head string) (*RegisterReport, *PRReport) {
		t.Helper()
		pr, err := PR(ctx, proj, PRRequest{Repo: dir, Domain: "development", Base: base, Head: head})
		if err != nil {
			t.Fatal(err)
		}
		return pr.Register, pr
	}

	// The first registration builds the image and the bundle.
	rep, pr := register(first, first)
	if !pr.Package.Image.Built || !pr.Package.Bundle.Uploaded || len(rep.Entities) != 6 {
		t.Fatalf("first: %+v %+v", pr.Package.Image, pr.Package.Bundle)
	}
	for _, e := range rep.Entities {
		if e.Status != registrar.StatusCreated {
			t.Errorf("first: %v", e)
		}
	}
	task, err := registrar.Get(ctx, s, registrar.ID{Project: "house-prices", Domain: "development", Kind: registrar.KindTask, Name: "fit", Version: first})
	if err != nil {
		t.Fatal(err)
	}
	if task.Entity.Task.Image != pr.Package.Image.Ref || task.Entity.Task.Bundle != pr.Package.Bundle.Digest || !strings.Contains(task.Entity.Task.Image, "@sha256:") {
		t.Errorf("task does not carry the image and bundle digests: %+v", task.Entity.Task)
	}

	// Idempotent: the same head again uploads 0 bytes and writes nothing.
	before := reg.UploadedBytes()
	rep, _ = register(first, first)
	if d := reg.UploadedBytes() - before; d != 0 {
		t.Errorf("re-registering uploaded %d bytes", d)
	}
	for _, e := range rep.Entities {
		if e.Status != registrar.StatusUnchanged {
			t.Errorf("again: %v", e)
		}
	}

	// 1. A dependency change: image.
	appendFile(t, filepath.Join(dir, "requirements.txt"), "# pinned nothing, still\n")
	depSHA := commit(t, dir, "deps")
	before = reg.UploadedBytes()
	_, pr = register(first, depSHA)
	if pr.Plan.Decision != plan.Image || !pr.Package.Image.Built {
		t.Errorf("dependency change: decision %s, image %+v, reasons %+v", pr.Plan.Decision, pr.Package.Image, pr.Plan.Reasons)
	}
	if !strings.Contains(reasonText(pr.Plan), "requirements.txt") {
		t.Errorf("reasons do not name requirements.txt: %+v", pr.Plan.Reasons)
	}
	imageBytes := reg.UploadedBytes() - before
	t.Logf("dependency change uploaded %d bytes", imageBytes)

	// 2. A code-only change: bundle, and not a single image layer.
	appendFile(t, filepath.Join(dir, "pipeline", "train.py"), "\n# tuned\n")
	codeSHA := commit(t, dir, "code")
	before = reg.UploadedBytes()
	blobUploads := reg.Requests("PUT", storetest.KindUpload)
	rep, pr = register(depSHA, codeSHA)
	if pr.Plan.Decision != plan.Bundle || pr.Package.Image.Built || !pr.Package.Image.Reused || !pr.Package.Bundle.Uploaded {
		t.Errorf("code change: decision %s, image %+v, bundle %+v", pr.Plan.Decision, pr.Package.Image, pr.Package.Bundle)
	}
	codeBytes := reg.UploadedBytes() - before
	want := bundleLayerSize(t, s, pr.Package.Bundle.Digest) + entityBytes(t, s, rep)
	if codeBytes != want {
		t.Errorf("code change uploaded %d bytes, want exactly the bundle layer and the entities: %d", codeBytes, want)
	}
	if n := reg.Requests("PUT", storetest.KindUpload) - blobUploads; n != 1+len(rep.Entities) {
		t.Errorf("code change made %d blob uploads, want %d (bundle + one per entity)", n, 1+len(rep.Entities))
	}
	t.Logf("code change uploaded %d bytes (bundle + %d entities)", codeBytes, len(rep.Entities))

	// 3. A README-only change: none; the image and bundle are reused.
	appendFile(t, filepath.Join(dir, "README.md"), "\nMore words.\n")
	docSHA := commit(t, dir, "docs")
	before = reg.UploadedBytes()
	rep, pr = register(codeSHA, docSHA)
	if pr.Plan.Decision != plan.None || pr.Package.Image.Built || pr.Package.Bundle.Uploaded {
		t.Errorf("docs change: decision %s, image %+v, bundle %+v", pr.Plan.Decision, pr.Package.Image, pr.Package.Bundle)
	}
	if d := reg.UploadedBytes() - before; d != entityBytes(t, s, rep) {
		t.Errorf("docs change uploaded %d bytes, want only the new version's entities (%d)", d, entityBytes(t, s, rep))
	}
	if codeBytes >= imageBytes {
		t.Errorf("a code-only change (%d bytes) should upload less than a dependency change (%d)", codeBytes, imageBytes)
	}
}

func reasonText(p *plan.Result) string {
	var b strings.Builder
	for _, r := range p.Reasons {
		b.WriteString(r.Path + " " + r.Rule + "\n")
	}
	return b.String()
}

func bundleLayerSize(t *testing.T, s store.Store, digest string) int64 {
	t.Helper()
	hex := strings.TrimPrefix(digest, "sha256:")
	m, _, err := store.GetArtifact(context.Background(), s, store.BundleRepo("house-prices"), store.BundleTag(hex))
	if err != nil {
		t.Fatal(err)
	}
	return m.Layers[0].Size
}

func entityBytes(t *testing.T, s store.Store, rep *RegisterReport) int64 {
	t.Helper()
	var n int64
	for _, e := range rep.Entities {
		st, err := registrar.Get(context.Background(), s, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := st.Entity.Canonical()
		n += int64(len(raw))
	}
	return n
}
