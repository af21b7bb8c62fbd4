package packager_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/internal/testkit/storetest"
	"github.com/runway-ci/runway/internal/testkit/testenv"
	"github.com/runway-ci/runway/packager"
)

// runwayBinary is a small static Go program built once for the whole test
// binary (see TestMain): building it per test would cost a link each time.
var runwayBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "packager-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	runwayBinary, err = testenv.BuildVersionProgram(dir, "test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const testHash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// fixture is a registry holding a busybox base, a store on that registry
// and a repository directory.
type fixture struct {
	reg        *storetest.Registry
	store      store.Store
	base       string
	baseDigest v1.Hash
	repo       string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	reg := storetest.NewRegistry(t)
	base, digest := testenv.PushBusybox(t, reg.Host)
	repo := t.TempDir()
	if err := os.WriteFile(filepath.Join(repo, "requirements.txt"), []byte("numpy==2.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &fixture{reg: reg, store: newStore(t, reg), base: base, baseDigest: digest, repo: repo}
}

// installScript writes a few files of each kind into $RUNWAY_LAYER, reading
// the repository (cwd) like a real installer reads its lockfile.
const installScript = `set -e
mkdir -p "$RUNWAY_LAYER/opt/deps/bin" "$RUNWAY_LAYER/opt/deps/lib"
cp requirements.txt "$RUNWAY_LAYER/opt/deps/lib/requirements.txt"
printf '#!/bin/sh\necho tool\n' > "$RUNWAY_LAYER/opt/deps/bin/tool"
chmod 0700 "$RUNWAY_LAYER/opt/deps/bin/tool"
echo "$DEPS_NOTE" > "$RUNWAY_LAYER/opt/deps/lib/note"
chmod 0600 "$RUNWAY_LAYER/opt/deps/lib/note"
ln -s lib/requirements.txt "$RUNWAY_LAYER/opt/deps/req"
ln "$RUNWAY_LAYER/opt/deps/lib/requirements.txt" "$RUNWAY_LAYER/opt/deps/hard"
`

func (f *fixture) request() packager.Request {
	return packager.Request{
		Project: "fraud",
		Image: spec.Image{
			Base:         f.base,
			Dependencies: []string{"requirements.txt"},
			Install:      []string{"sh", "-c", installScript},
			Env:          map[string]string{"DEPS_NOTE": "from-env", "PYTHONPATH": "/opt/deps/lib"},
		},
		Hash:         testHash,
		RepoDir:      f.repo,
		Revision:     "1111111111111111111111111111111111111111",
		Source:       "https://github.com/example/fraud",
		RunwayBinary: runwayBinary,
	}
}

func (f *fixture) pulled(t *testing.T, res *packager.Result) v1.Image {
	t.Helper()
	ref, err := name.ParseReference(f.reg.Host + "/" + res.Repo + "@" + res.Descriptor.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("pulling built image: %v", err)
	}
	return img
}

func TestBuildPushesImage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.reg.ResetCounters()
	res, err := packager.Build(ctx, f.store, f.request())
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if res.Existed {
		t.Fatal("Existed on first build")
	}
	if res.Repo != store.ImageRepo("fraud") || res.Tag != store.ImageTag(testHash) {
		t.Errorf("repo:tag = %s:%s", res.Repo, res.Tag)
	}
	if res.BaseDigest != f.baseDigest {
		t.Errorf("BaseDigest = %s, want %s", res.BaseDigest, f.baseDigest)
	}
	tagged, err := f.store.HeadManifest(ctx, res.Repo, res.Tag)
	if err != nil {
		t.Fatalf("tag not in store: %v", err)
	}
	if tagged.Digest != res.Descriptor.Digest {
		t.Errorf("tag points at %s, Result says %s", tagged.Digest, res.Descriptor.Digest)
	}

	img := f.pulled(t, res)
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("media types: manifest %s, config %s", m.MediaType, m.Config.MediaType)
	}
	if len(m.Layers) != 3 {
		t.Fatalf("image has %d layers, want 3 (busybox base, dependencies, runway)", len(m.Layers))
	}
	wantRoles := []string{"", packager.LayerDependencies, packager.LayerRunway}
	for i, l := range m.Layers {
		if l.MediaType != types.OCILayer {
			t.Errorf("layer %d media type %s, want %s", i, l.MediaType, types.OCILayer)
		}
		if got := l.Annotations[store.AnnotationLayer]; got != wantRoles[i] {
			t.Errorf("layer %d role %q, want %q", i, got, wantRoles[i])
		}
	}
	// The base lives in the same registry: its layer is mounted, and only
	// runway's two layers and the config are uploaded.
	if want := m.Config.Size + m.Layers[1].Size + m.Layers[2].Size; f.reg.UploadedBytes() != want {
		t.Errorf("uploaded %d bytes, want %d (config + dependency + runway layers; base mounted); requests %v", f.reg.UploadedBytes(), want, f.reg.Counts())
	}
	if m.Layers[1].Digest != res.Dependencies.Digest || m.Layers[2].Digest != res.Runway.Digest {
		t.Errorf("Result layer digests do not match the manifest")
	}
	wantAnn := map[string]string{
		store.AnnotationRevision:   "1111111111111111111111111111111111111111",
		store.AnnotationSource:     "https://github.com/example/fraud",
		store.AnnotationBaseDigest: f.baseDigest.String(),
		store.AnnotationBaseName:   f.base,
	}
	for k, v := range wantAnn {
		if m.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, m.Annotations[k], v)
		}
	}

	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Config.Entrypoint, " "); got != packager.RunwayPath {
		t.Errorf("entrypoint %q", got)
	}
	if len(cfg.Config.Cmd) != 0 {
		t.Errorf("cmd %q, want none", cfg.Config.Cmd)
	}
	env := strings.Join(cfg.Config.Env, "\n")
	for _, want := range []string{"PYTHONPATH=/opt/deps/lib", "DEPS_NOTE=from-env", "PATH=/usr/local/sbin:/usr/local/bin:"} {
		if !strings.Contains(env, want) {
			t.Errorf("env lacks %q:\n%s", want, env)
		}
	}
	if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s", cfg.OS, cfg.Architecture)
	}
	if len(cfg.History) != 3 || len(cfg.RootFS.DiffIDs) != 3 {
		t.Errorf("history %d entries, diff ids %d; want 3 and 3", len(cfg.History), len(cfg.RootFS.DiffIDs))
	}

	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	deps := readLayer(t, layers[1])
	want := []tarEntry{
		{name: "opt/", typ: tar.TypeDir, mode: 0o755},
		{name: "opt/deps/", typ: tar.TypeDir, mode: 0o755},
		{name: "opt/deps/bin/", typ: tar.TypeDir, mode: 0o755},
		{name: "opt/deps/bin/tool", typ: tar.TypeReg, mode: 0o755, body: "#!/bin/sh\necho tool\n"},
		{name: "opt/deps/hard", typ: tar.TypeReg, mode: 0o644, body: "numpy==2.0\n"},
		{name: "opt/deps/lib/", typ: tar.TypeDir, mode: 0o755},
		{name: "opt/deps/lib/note", typ: tar.TypeReg, mode: 0o644, body: "from-env\n"},
		{name: "opt/deps/lib/requirements.txt", typ: tar.TypeLink, mode: 0o644, link: "opt/deps/hard"},
		{name: "opt/deps/req", typ: tar.TypeSymlink, mode: 0o777, link: "lib/requirements.txt"},
	}
	assertEntries(t, deps, want)

	bin, err := os.ReadFile(runwayBinary)
	if err != nil {
		t.Fatal(err)
	}
	assertEntries(t, readLayer(t, layers[2]), []tarEntry{
		{name: "usr/", typ: tar.TypeDir, mode: 0o755},
		{name: "usr/local/", typ: tar.TypeDir, mode: 0o755},
		{name: "usr/local/bin/", typ: tar.TypeDir, mode: 0o755},
		{name: "usr/local/bin/runway", typ: tar.TypeReg, mode: 0o755, body: string(bin)},
	})
}

type tarEntry struct {
	name, link, body string
	typ              byte
	mode             int64
}

// readLayer lists a layer and checks the normalisation rules on every
// header: owner 0, no names, mtime 0, no PAX records but paths.
func readLayer(t *testing.T, l v1.Layer) []tarEntry {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out []tarEntry
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("reading layer: %v", err)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || h.ModTime.Unix() != 0 {
			t.Errorf("%s: header not normalised: uid %d gid %d uname %q gname %q mtime %v", h.Name, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime)
		}
		if !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() || len(h.PAXRecords) > 0 {
			t.Errorf("%s: has PAX records or times: %v", h.Name, h.PAXRecords)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tarEntry{name: h.Name, link: h.Linkname, body: string(b), typ: h.Typeflag, mode: h.Mode})
	}
}

func assertEntries(t *testing.T, got, want []tarEntry) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("layer has %d entries, want %d:\n got %v", len(got), len(want), names(got))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			g, w := got[i], want[i]
			g.body, w.body = fmt.Sprintf("%d bytes", len(g.body)), fmt.Sprintf("%d bytes", len(w.body))
			if got[i].body != want[i].body {
				g.body += " (content differs)"
			}
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func names(es []tarEntry) []string {
	var n []string
	for _, e := range es {
		n = append(n, e.name)
	}
	return n
}

func TestBuildIsReproducible(t *testing.T) {
	// Two builds of the same inputs, in two registries, from two staging
	// directories written at different times, give one image digest.
	ctx := context.Background()
	var digests []v1.Hash
	for i := range 2 {
		f := newFixture(t)
		req := f.request()
		// The base name differs per registry (its host), and it is in an
		// annotation; point both at the same name through the resolver.
		res, err := packager.Build(ctx, f.store, req, packager.WithBaseResolver(renamedBase{name: "registry.example/base/busybox:latest"}))
		if err != nil {
			t.Fatalf("build %d: %v", i, err)
		}
		digests = append(digests, res.Descriptor.Digest)
	}
	if digests[0] != digests[1] {
		t.Fatalf("two builds of the same inputs gave %s and %s", digests[0], digests[1])
	}
}

// renamedBase resolves through the real registry but reports a fixed name,
// so that builds against two test registries (two ports) are comparable.
type renamedBase struct{ name string }

func (r renamedBase) ResolveBase(ctx context.Context, ref string, p v1.Platform) (*packager.Base, error) {
	b, err := packager.RemoteResolver{}.ResolveBase(ctx, ref, p)
	if err != nil {
		return nil, err
	}
	b.Name = r.name
	return b, nil
}

func TestBuildExistingTagUploadsNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	marker := filepath.Join(t.TempDir(), "runs")
	req := f.request()
	req.Image.Install = []string{"sh", "-c", `echo run >> "` + marker + `"; mkdir -p "$RUNWAY_LAYER/opt" && echo x > "$RUNWAY_LAYER/opt/x"`}
	first, err := packager.Build(ctx, f.store, req)
	if err != nil {
		t.Fatal(err)
	}
	f.reg.ResetCounters()
	second, err := packager.Build(ctx, f.store, req)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Existed || second.Descriptor.Digest != first.Descriptor.Digest {
		t.Errorf("second build: Existed %v digest %s, want true and %s", second.Existed, second.Descriptor.Digest, first.Descriptor.Digest)
	}
	writes := 0
	for k, n := range f.reg.Counts() {
		if !strings.HasPrefix(k, "GET ") && !strings.HasPrefix(k, "HEAD ") {
			writes += n
		}
	}
	if f.reg.UploadedBytes() != 0 || writes != 0 {
		t.Errorf("existing tag uploaded %d bytes in %d write requests (%v)", f.reg.UploadedBytes(), writes, f.reg.Counts())
	}
	runs, _ := os.ReadFile(marker)
	if got := strings.Count(string(runs), "run"); got != 1 {
		t.Errorf("install ran %d times, want 1", got)
	}
}

func TestBuildSkipsExistingBlobs(t *testing.T) {
	// A new hash whose layers are the same as an image already pushed (a
	// lockfile reverted, a second branch): only the manifest is uploaded.
	f := newFixture(t)
	ctx := context.Background()
	req := f.request()
	first, err := packager.Build(ctx, f.store, req)
	if err != nil {
		t.Fatal(err)
	}
	f.reg.ResetCounters()
	req.Hash = strings.Repeat("f", 64)
	req.Revision = "2222222222222222222222222222222222222222"
	second, err := packager.Build(ctx, f.store, req)
	if err != nil {
		t.Fatal(err)
	}
	if second.Existed || second.Descriptor.Digest == first.Descriptor.Digest {
		t.Fatalf("second build should be a new manifest (new revision annotation)")
	}
	if got, puts := f.reg.UploadedBytes(), f.reg.Requests("PUT", storetest.KindManifest); got != 0 || puts != 1 {
		t.Errorf("uploaded %d blob bytes and %d manifests; want 0 and 1 (%v)", got, puts, f.reg.Counts())
	}
}

func TestBuildInstallFailure(t *testing.T) {
	f := newFixture(t)
	tmp := t.TempDir()
	req := f.request()
	req.Image.Install = []string{"sh", "-c", `mkdir -p "$RUNWAY_LAYER/d"; chmod 0500 "$RUNWAY_LAYER/d"; ` +
		`for i in $(seq 1 2000); do echo "progress line $i"; done; echo "no matching distribution for numpy" >&2; exit 3`}
	_, err := packager.Build(context.Background(), f.store, req, packager.WithTempDir(tmp))
	var ierr *packager.InstallError
	if !errors.As(err, &ierr) {
		t.Fatalf("error %v (%T), want *InstallError", err, err)
	}
	t.Logf("error: %v", err)
	if ierr.ExitCode != 3 {
		t.Errorf("exit code %d, want 3", ierr.ExitCode)
	}
	msg := err.Error()
	for _, want := range []string{"exit code 3", `"sh" "-c"`, "no matching distribution for numpy", "progress line 2000"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "progress line 1\n") {
		t.Errorf("error holds the whole output, want only its tail")
	}
	left, _ := os.ReadDir(tmp)
	if len(left) != 0 {
		t.Errorf("temp dir not cleaned up: %v", left)
	}
	if _, err := f.store.HeadManifest(context.Background(), store.ImageRepo("fraud"), store.ImageTag(testHash)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("failed build left a tag (err %v)", err)
	}
}

func TestBuildMissingBase(t *testing.T) {
	f := newFixture(t)
	req := f.request()
	req.Image.Base = f.reg.Host + "/nothing/here:3.12"
	_, err := packager.Build(context.Background(), f.store, req)
	if !errors.Is(err, packager.ErrBaseNotFound) {
		t.Fatalf("error %v, want ErrBaseNotFound", err)
	}
	t.Logf("error: %v", err)
	if !strings.Contains(err.Error(), req.Image.Base) {
		t.Errorf("error does not name the base %q: %v", req.Image.Base, err)
	}
}

func TestBuildWithoutDependencyLayer(t *testing.T) {
	tests := []struct {
		name    string
		install []string
	}{
		{"no install command", nil},
		{"install leaves RUNWAY_LAYER empty", []string{"true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			req := f.request()
			req.Image.Install = tt.install
			res, err := packager.Build(context.Background(), f.store, req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Dependencies != nil {
				t.Errorf("Dependencies = %v, want nil", res.Dependencies)
			}
			m, err := f.pulled(t, res).Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Layers) != 2 || m.Layers[1].Annotations[store.AnnotationLayer] != packager.LayerRunway {
				t.Errorf("layers %v, want busybox + runway", m.Layers)
			}
		})
	}
}

func TestBuildDockerBaseBecomesOCI(t *testing.T) {
	f := newFixture(t)
	base, err := random.Image(512, 2) // Docker schema 2 media types
	if err != nil {
		t.Fatal(err)
	}
	if mt, _ := base.MediaType(); mt != types.DockerManifestSchema2 {
		t.Fatalf("random image is %s, the test needs a Docker base", mt)
	}
	ref := f.reg.Host + "/base/docker:1"
	testenv.PushImage(t, ref, base)
	req := f.request()
	req.Image.Base = ref
	req.Image.Install = nil
	res, err := packager.Build(context.Background(), f.store, req)
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.pulled(t, res).Manifest()
	if err != nil {
		t.Fatal(err)
	}
	baseManifest, _ := base.Manifest()
	if m.MediaType != types.OCIManifestSchema1 || len(m.Layers) != 3 {
		t.Fatalf("manifest %s with %d layers", m.MediaType, len(m.Layers))
	}
	for i, l := range m.Layers[:2] {
		if l.MediaType != types.OCILayer || l.Digest != baseManifest.Layers[i].Digest {
			t.Errorf("base layer %d: %s %s, want %s %s", i, l.MediaType, l.Digest, types.OCILayer, baseManifest.Layers[i].Digest)
		}
	}
}

func TestBuildRefusesBadInput(t *testing.T) {
	f := newFixture(t)
	notELF := filepath.Join(t.TempDir(), "runway")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	foreignArch := "s390x"
	if runtime.GOARCH == "s390x" {
		foreignArch = "amd64"
	}
	busybox := testenv.BusyboxImage(t)
	cfg, err := busybox.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture = foreignArch
	armBase, err := mutate.ConfigFile(busybox, cfg)
	if err != nil {
		t.Fatal(err)
	}
	armRef := f.reg.Host + "/base/foreign:1"
	testenv.PushImage(t, armRef, armBase)

	tests := []struct {
		name   string
		edit   func(*packager.Request)
		is     error
		errHas string
	}{
		{"empty project", func(r *packager.Request) { r.Project = "" }, packager.ErrInvalidRequest, "project is empty"},
		{"project with a slash", func(r *packager.Request) { r.Project = "../etc" }, packager.ErrInvalidRequest, `project "../etc"`},
		{"project in upper case", func(r *packager.Request) { r.Project = "Fraud" }, packager.ErrInvalidRequest, `project "Fraud"`},
		{"hash not hex", func(r *packager.Request) { r.Hash = "../../etc" }, packager.ErrInvalidRequest, "dependency hash"},
		{"hash empty", func(r *packager.Request) { r.Hash = "" }, packager.ErrInvalidRequest, "dependency hash"},
		{"bad base", func(r *packager.Request) { r.Image.Base = "Not A Ref!" }, packager.ErrInvalidRequest, "image.base"},
		{"base not a reference", func(r *packager.Request) { r.Image.Base = "UPPER CASE:!!" }, packager.ErrInvalidRequest, "UPPER CASE"},
		{"install without repo dir", func(r *packager.Request) { r.RepoDir = filepath.Join(r.RepoDir, "missing") }, packager.ErrInvalidRequest, "repository directory"},
		{"install with empty program", func(r *packager.Request) { r.Image.Install = []string{""} }, packager.ErrInvalidRequest, "names no program"},
		{"env key with =", func(r *packager.Request) { r.Image.Env = map[string]string{"A=B": "x"} }, packager.ErrInvalidRequest, `"A=B"`},
		{"binary is a script", func(r *packager.Request) { r.RunwayBinary = notELF }, packager.ErrBadBinary, notELF},
		{"binary missing", func(r *packager.Request) { r.RunwayBinary = notELF + "-missing" }, packager.ErrBadBinary, "missing"},
		{"base for another architecture", func(r *packager.Request) { r.Image.Base = armRef }, nil, foreignArch},
		{"install program not found", func(r *packager.Request) { r.Image.Install = []string{"no-such-installer-xyz"} }, nil, "no-such-installer-xyz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := f.request()
			tt.edit(&req)
			_, err := packager.Build(context.Background(), f.store, req)
			if err == nil {
				t.Fatal("Build succeeded")
			}
			t.Logf("error: %v", err)
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v, want %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %q does not mention %q", err, tt.errHas)
			}
		})
	}
	if tags, _ := f.store.Tags(context.Background(), store.ImageRepo("fraud")); len(tags) != 0 {
		t.Errorf("refused builds left tags %v", tags)
	}
}

func TestBuildReportsProgress(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	last := map[string]packager.Progress{}
	_, err := packager.Build(context.Background(), f.store, f.request(), packager.WithProgress(func(p packager.Progress) {
		mu.Lock()
		defer mu.Unlock()
		last[p.Layer] = p
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{packager.LayerDependencies, packager.LayerRunway} {
		p, ok := last[l]
		if !ok || p.Total == 0 || p.Complete != p.Total {
			t.Errorf("%s layer: last progress %+v, want complete", l, p)
		}
	}
}

func TestBuildStreamsInstallOutput(t *testing.T) {
	f := newFixture(t)
	req := f.request()
	req.Image.Install = []string{"sh", "-c", `echo "layer=$RUNWAY_LAYER"; echo "cwd=$(pwd)"; echo "path=$EXTRA"`}
	req.Image.Env = map[string]string{"EXTRA": "/opt/x:$HOME"}
	var out bytes.Buffer
	if _, err := packager.Build(context.Background(), f.store, req, packager.WithInstallOutput(&out)); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !strings.Contains(got, "layer=/") || !strings.Contains(got, "cwd="+f.repo) {
		t.Errorf("install output:\n%s", got)
	}
	if !strings.Contains(got, "path=/opt/x:"+os.Getenv("HOME")) {
		t.Errorf("image env not expanded against the host env for install:\n%s", got)
	}
}

func TestBuildCancelled(t *testing.T) {
	// Cancelling while the install command runs kills it, fails the build
	// with the context's error and removes the staging directory.
	f := newFixture(t)
	started := filepath.Join(t.TempDir(), "started")
	req := f.request()
	req.Image.Install = []string{"sh", "-c", `echo partial > "$RUNWAY_LAYER/file"; touch "` + started + `"; exec sleep 30`}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tmp := t.TempDir()
	done := make(chan error, 1)
	go func() {
		_, err := packager.Build(ctx, f.store, req, packager.WithTempDir(tmp))
		done <- err
	}()
	for {
		if _, err := os.Stat(started); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Build returned before the install started: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	var ierr *packager.InstallError
	if !errors.As(err, &ierr) {
		t.Errorf("error %v is not an InstallError", err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temp dir not cleaned up: %v", left)
	}
}

func TestBuildIntoLayoutStore(t *testing.T) {
	// The embedded default store (an OCI layout on disk) takes the same
	// image through store.WriteImage; a second build finds the tag.
	f := newFixture(t)
	ctx := context.Background()
	s, err := layout.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	res, err := packager.Build(ctx, s, f.request())
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	raw, desc, err := s.GetManifest(ctx, res.Repo, res.Tag)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != res.Descriptor.Digest {
		t.Errorf("layout tag at %s, Result says %s", desc.Digest, res.Descriptor.Digest)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Layers) != 3 || m.Annotations[store.AnnotationBaseDigest] != f.baseDigest.String() {
		t.Errorf("layout manifest: %d layers, annotations %v", len(m.Layers), m.Annotations)
	}
	for _, l := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		if ok, err := s.HasBlob(ctx, res.Repo, l.Digest); !ok || err != nil {
			t.Errorf("layout store lacks blob %s (%v)", l.Digest, err)
		}
	}
	again, err := packager.Build(ctx, s, f.request())
	if err != nil || !again.Existed {
		t.Errorf("second build: %+v, %v; want Existed", again, err)
	}
}

// A runway binary linked the way `go build` links it when cgo is on (net
// resolves names through libc) needs the host's ELF interpreter and C
// library; in a scratch image it cannot even print its version. Build
// refuses it, naming the binary, the interpreter and the fix, and pushes
// nothing (issue 17).
func TestBuildRefusesDynamicallyLinkedBinary(t *testing.T) {
	f := newFixture(t)
	gcc := testenv.RequireProgram(t, "gcc", "gcc (cgo's C compiler)")
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":  "module example.com/dynamic\n\ngo 1.22\n",
		"main.go": "package main\n\nimport (\n\t\"fmt\"\n\t\"net\"\n)\n\nfunc main() { fmt.Println(net.ParseIP(\"::1\")) }\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dynamic := filepath.Join(dir, "runway")
	cmd := exec.Command("go", "build", "-o", dynamic, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "CC="+gcc, "GOFLAGS=-mod=mod", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build with cgo: %v\n%s", err, b)
	}
	for _, base := range []string{f.base, ""} { // busybox, scratch
		req := f.request()
		req.Image.Base, req.RunwayBinary = base, dynamic
		_, err := packager.Build(context.Background(), f.store, req)
		if !errors.Is(err, packager.ErrBadBinary) {
			t.Fatalf("base %q: Build with a dynamically linked binary: %v, want ErrBadBinary", base, err)
		}
		for _, want := range []string{dynamic, "dynamically linked", "/ld-linux", "CGO_ENABLED=0"} {
			if runtime.GOARCH == "amd64" || want != "/ld-linux" {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		}
	}
	if tags, _ := f.store.Tags(context.Background(), store.ImageRepo("fraud")); len(tags) != 0 {
		t.Errorf("refused builds left tags %v", tags)
	}
}
