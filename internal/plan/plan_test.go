package plan

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/runway-ci/runway/internal/gitdiff"
	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/gittest"
)

const sampleSpec = `project: sample
image:
  base: registry.example/python:3.12-slim
  dependencies: [requirements.txt, "deps/**"]
  install: ["pip", "install", "--target", "$RUNWAY_LAYER/opt/deps", "-r", "requirements.txt"]
  env: {PYTHONPATH: /opt/deps}
bundle:
  exclude: ["data/**"]
tasks:
  - name: prepare
    command: ["python", "-m", "pipeline.prepare"]
`

// sampleRepo makes the base commit of every scenario on main.
func sampleRepo(t *testing.T) *gittest.Repo {
	g := gittest.New(t)
	g.Write(spec.FileName, sampleSpec)
	g.Write("requirements.txt", "numpy==1.26.4\n")
	g.Write("deps/lock/uv.lock", "lock 1\n")
	g.Write("pipeline/prepare.py", "print('prepare')\n")
	g.Write("README.md", "# sample\n")
	g.Write("docs/guide.txt", "guide\n")
	g.Write("data/big.csv", "a,b\n")
	g.Write(IgnoreFile, "*.tmp\nscratch/\n")
	g.Write("scratch/keep.txt", "x\n")
	g.Commit("base")
	return g
}

// branch commits edit on a new branch from main and returns its name.
func branch(g *gittest.Repo, name string, edit func()) string {
	g.Git("checkout", "-q", "-b", name, "main")
	edit()
	g.Commit(name)
	return name
}

func plan(t *testing.T, g *gittest.Repo, base, head string, opts ...Option) *Result {
	t.Helper()
	p, err := Plan(context.Background(), g.Dir, base, head, opts...)
	if err != nil {
		t.Fatalf("Plan(%s, %s): %v", base, head, err)
	}
	return p
}

func TestDecisions(t *testing.T) {
	g := sampleRepo(t)
	type want struct {
		decision Decision
		reasons  []Reason
	}
	tests := []struct {
		name string
		edit func()
		want want
	}{
		{"dependency file", func() { g.Write("requirements.txt", "numpy==2.0.0\n") },
			want{Image, []Reason{{"requirements.txt", "image.dependencies: requirements.txt", Image}}}},
		{"nested dependency glob", func() { g.Write("deps/lock/uv.lock", "lock 2\n") },
			want{Image, []Reason{{"deps/lock/uv.lock", "image.dependencies: deps/**", Image}}}},
		{"deleted dependency file", func() { g.Remove("deps/lock/uv.lock") },
			want{Image, []Reason{{"deps/lock/uv.lock", "image.dependencies: deps/**", Image}}}},
		{"code only", func() { g.Write("pipeline/prepare.py", "print('v2')\n") },
			want{Bundle, []Reason{{"pipeline/prepare.py", "bundle", Bundle}}}},
		{"new code file in a new directory", func() { g.Write("pipeline/fit/model.py", "x\n") },
			want{Bundle, []Reason{{"pipeline/fit/model.py", "bundle", Bundle}}}},
		{"README only", func() { g.Write("README.md", "# sample v2\n") },
			want{None, []Reason{{"README.md", "default exclude: **/*.md", None}}}},
		{"docs tree", func() { g.Write("docs/guide.txt", "guide 2\n") },
			want{None, []Reason{{"docs/guide.txt", "default exclude: docs/**", None}}}},
		{"github workflows", func() { g.Write(".github/workflows/ci.yml", "on: push\n") },
			want{None, []Reason{{".github/workflows/ci.yml", "default exclude: .github/**", None}}}},
		{"bundle.exclude", func() { g.Write("data/big.csv", "a,b\n1,2\n") },
			want{None, []Reason{{"data/big.csv", "bundle.exclude: data/**", None}}}},
		{".runwayignore file pattern", func() { g.Write("pipeline/notes.tmp", "x\n") },
			want{None, []Reason{{"pipeline/notes.tmp", ".runwayignore", None}}}},
		{".runwayignore directory pattern", func() { g.Write("scratch/keep.txt", "y\n") },
			want{None, []Reason{{"scratch/keep.txt", ".runwayignore", None}}}},
		{".runwayignore itself changes what the bundle holds", func() { g.Write(IgnoreFile, "*.tmp\n") },
			want{Bundle, []Reason{{IgnoreFile, "bundle", Bundle}}}},
		{"runway.yaml outside the image section", func() {
			g.Write(spec.FileName, sampleSpec+"  - name: fit\n    command: [\"python\", \"fit.py\"]\n")
		}, want{Bundle, []Reason{{spec.FileName, "runway.yaml defines the entities", Bundle}}}},
		{"runway.yaml image section", func() {
			g.Write(spec.FileName, strings.Replace(sampleSpec, "PYTHONPATH: /opt/deps", "PYTHONPATH: /opt/deps, X: y", 1))
		}, want{Image, []Reason{{spec.FileName, "runway.yaml: the image section changed the dependency hash", Image}}}},
		{"runway.yaml dependency globs reordered", func() {
			g.Write(spec.FileName, strings.Replace(sampleSpec, `[requirements.txt, "deps/**"]`, `["deps/**", requirements.txt]`, 1))
		}, want{Bundle, []Reason{{spec.FileName, "runway.yaml defines the entities", Bundle}}}},
		{"runway.yaml dependency glob now matching another file", func() {
			g.Write(spec.FileName, strings.Replace(sampleSpec, `[requirements.txt, "deps/**"]`, `[requirements.txt, "deps/**", "README.md"]`, 1))
		}, want{Image, []Reason{{spec.FileName, "runway.yaml: the image section changed the dependency hash", Image}}}},
		{"runway.yaml excluded by the user still counts", func() {
			g.Write(spec.FileName, strings.Replace(sampleSpec, `exclude: ["data/**"]`, `exclude: ["data/**", "runway.yaml"]`, 1))
		}, want{Bundle, []Reason{{spec.FileName, "runway.yaml defines the entities", Bundle}}}},
		{"README and code: bundle wins", func() {
			g.Write("README.md", "x\n")
			g.Write("pipeline/prepare.py", "y\n")
		}, want{Bundle, []Reason{
			{"README.md", "default exclude: **/*.md", None},
			{"pipeline/prepare.py", "bundle", Bundle},
		}}},
		{"dependency and code: image wins", func() {
			g.Write("requirements.txt", "pandas\n")
			g.Write("pipeline/prepare.py", "z\n")
		}, want{Image, []Reason{
			{"pipeline/prepare.py", "bundle", Bundle},
			{"requirements.txt", "image.dependencies: requirements.txt", Image},
		}}},
		{"no change", func() {}, want{None, []Reason{}}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			head := branch(g, "case"+string(rune('a'+i)), tc.edit)
			p := plan(t, g, "main", head)
			if p.Decision != tc.want.decision {
				t.Errorf("decision = %s, want %s (reasons %v)", p.Decision, tc.want.decision, p.Reasons)
			}
			if !slices.Equal(p.Reasons, tc.want.reasons) {
				t.Errorf("reasons = %v\nwant      %v", p.Reasons, tc.want.reasons)
			}
			if got, want := len(p.Changed), len(g.Diff("main", head)); got != want {
				t.Errorf("%d changed paths, git says %d", got, want)
			}
			if p.Project != "sample" || p.Image.Ref != store.ImageRepo("sample")+":"+store.ImageTag(p.Image.Hash) || len(p.Image.Hash) != 64 {
				t.Errorf("project %q, image %+v", p.Project, p.Image)
			}
			if p.Head != g.Git("rev-parse", head) || p.HeadTree != g.Git("rev-parse", head+"^{tree}") ||
				p.MergeBase != g.Git("merge-base", "main", head) || p.Base != g.Git("rev-parse", "main") {
				t.Errorf("revisions %s %s %s %s", p.Base, p.Head, p.MergeBase, p.HeadTree)
			}
		})
	}
}

func TestDependencyHash(t *testing.T) {
	g := sampleRepo(t)
	hashOf := func(rev string) string { return plan(t, g, "main", rev).Image.Hash }
	base := hashOf("main")
	code := branch(g, "code", func() { g.Write("pipeline/prepare.py", "changed\n") })
	dep := branch(g, "dep", func() { g.Write("requirements.txt", "numpy==2.0.0\n") })
	same := branch(g, "same-lockfile", func() {
		g.Write("requirements.txt", "numpy==2.0.0\n")
		g.Write("pipeline/other.py", "different code\n")
	})
	install := branch(g, "install", func() {
		g.Write(spec.FileName, strings.Replace(sampleSpec, `"-r", "requirements.txt"`, `"-r", "requirements.txt", "--no-deps"`, 1))
	})
	baseImage := branch(g, "base-image", func() {
		g.Write(spec.FileName, strings.Replace(sampleSpec, "python:3.12-slim", "python:3.13-slim", 1))
	})
	depsOrder := branch(g, "deps-order", func() {
		g.Write(spec.FileName, strings.Replace(sampleSpec, `[requirements.txt, "deps/**"]`, `["deps/**", requirements.txt]`, 1))
	})
	newDep := branch(g, "new-dep", func() { g.Write("deps/extra.txt", "x\n") })

	if h := hashOf(code); h != base {
		t.Errorf("a code change moved the dependency hash: %s -> %s", base, h)
	}
	if h := hashOf(depsOrder); h != base {
		t.Errorf("reordering image.dependencies moved the hash: %s -> %s", base, h)
	}
	if hashOf(dep) != hashOf(same) {
		t.Errorf("two branches with the same lockfile have different hashes")
	}
	for _, rev := range []string{dep, install, baseImage, newDep} {
		if h := hashOf(rev); h == base {
			t.Errorf("%s did not move the dependency hash", rev)
		}
	}
	p := plan(t, g, "main", dep)
	var files []string
	for _, f := range p.DependencyFiles {
		files = append(files, f.Path)
		if want := g.Git("rev-parse", dep+":"+f.Path); f.Hash.String() != want {
			t.Errorf("%s: blob %s, want %s", f.Path, f.Hash, want)
		}
	}
	if want := []string{"deps/lock/uv.lock", "requirements.txt"}; !slices.Equal(files, want) {
		t.Errorf("dependency files %q, want %q", files, want)
	}
}

// TestDependencyHashIsStable pins the hash format: images in registries are
// named by it, so a change here orphans every existing image and must be a
// deliberate version bump (depHashInput.V).
func TestDependencyHashIsStable(t *testing.T) {
	img := spec.Image{
		Base:    "registry.example/python:3.12-slim",
		Install: []string{"sh", "-c", "pip install -r requirements.txt"},
		Env:     map[string]string{"B": "2", "A": "1"},
	}
	var h1, h2 gitdiff.File
	h1.Path, h2.Path = "requirements.txt", "deps/a.txt"
	copy(h1.Hash[:], bytes.Repeat([]byte{1}, 20))
	copy(h2.Hash[:], bytes.Repeat([]byte{2}, 20))
	got := DependencyHash(img, []gitdiff.File{h1, h2})
	if again := DependencyHash(img, []gitdiff.File{h2, h1}); again != got {
		t.Errorf("file order changes the hash")
	}
	// The documented serialisation, written out by hand.
	canonical := `{"v":1,"base":"registry.example/python:3.12-slim",` +
		`"install":["sh","-c","pip install -r requirements.txt"],` +
		`"env":[["A","1"],["B","2"]],` +
		`"files":[["deps/a.txt","` + strings.Repeat("02", 20) + `"],["requirements.txt","` + strings.Repeat("01", 20) + `"]]}`
	sum := sha256.Sum256([]byte(canonical))
	if want := hex.EncodeToString(sum[:]); got != want {
		t.Errorf("DependencyHash = %s, want sha256 of %s = %s", got, canonical, want)
	}
}

func newStore(t *testing.T) *remote.Store {
	srv := httptest.NewServer(registry.New())
	t.Cleanup(srv.Close)
	s, err := remote.New(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestImageAlreadyExists(t *testing.T) {
	ctx := context.Background()
	g := sampleRepo(t)
	first := branch(g, "first", func() { g.Write("requirements.txt", "numpy==2.0.0\n") })
	second := branch(g, "second", func() { g.Write("requirements.txt", "numpy==2.0.0\n") })
	readme := branch(g, "third", func() {
		g.Write("requirements.txt", "numpy==2.0.0\n")
		g.Write(spec.FileName, strings.Replace(sampleSpec, `exclude: ["data/**"]`, `exclude: ["data/**", "requirements.txt"]`, 1))
	})
	s := newStore(t)

	p := plan(t, g, "main", first, WithStore(s))
	if p.Decision != Image || p.Image.Exists {
		t.Fatalf("before the image exists: decision %s, exists %v", p.Decision, p.Image.Exists)
	}
	// The packager pushes deps-<hash> for the first branch.
	if _, err := store.PutArtifact(ctx, s, store.ImageRepo("sample"), store.ImageTag(p.Image.Hash), store.Artifact{
		ArtifactType: "application/vnd.test.image",
		Layers:       []store.Blob{{MediaType: "application/octet-stream", Data: []byte("layer")}},
	}); err != nil {
		t.Fatal(err)
	}
	p2 := plan(t, g, "main", second, WithStore(s))
	if !p2.Image.Exists || p2.Image.Hash != p.Image.Hash {
		t.Fatalf("second branch: image %+v, want the first branch's, existing", p2.Image)
	}
	if p2.Decision != Bundle {
		t.Errorf("second branch with the same lockfile: decision %s, want bundle (requirements.txt is in the bundle)", p2.Decision)
	}
	last := p2.Reasons[len(p2.Reasons)-1]
	if last.Path != "" || last.Effect != Bundle || !strings.Contains(last.Rule, store.ImageTag(p.Image.Hash)+" already exists") {
		t.Errorf("no reason says the image exists: %+v", p2.Reasons)
	}
	// Same dependencies, the dependency file excluded from the bundle, and a
	// spec change that is not in the image section: still a bundle, for
	// runway.yaml.
	if p3 := plan(t, g, "main", readme, WithStore(s)); p3.Decision != Bundle || !p3.Image.Exists {
		t.Errorf("third branch: decision %s, exists %v", p3.Decision, p3.Image.Exists)
	}
}

func TestBundleAlreadyBuilt(t *testing.T) {
	ctx := context.Background()
	g := sampleRepo(t)
	head := branch(g, "code", func() { g.Write("pipeline/prepare.py", "v2\n") })
	s := newStore(t)
	p := plan(t, g, "main", head, WithStore(s))
	if p.Bundle != (BundleInfo{}) {
		t.Fatalf("bundle before it is built: %+v", p.Bundle)
	}
	digest := "sha256:" + strings.Repeat("ab", 32)
	if _, err := store.PutArtifact(ctx, s, store.BundleRepo("sample"), store.BundleTreeTag(p.HeadTree), store.Artifact{
		ArtifactType: "application/vnd.test.bundle",
		Layers:       []store.Blob{{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Data: []byte("tgz")}},
		Annotations: map[string]string{
			store.AnnotationBundleDigest: digest, store.AnnotationBundleSize: "10240", store.AnnotationBundleFiles: "7",
		},
	}); err != nil {
		t.Fatal(err)
	}
	p = plan(t, g, "main", head, WithStore(s))
	if want := (BundleInfo{Digest: digest, Size: 10240, Files: 7, Built: true}); p.Bundle != want {
		t.Errorf("bundle = %+v, want %+v", p.Bundle, want)
	}
}

func TestBadInput(t *testing.T) {
	g := sampleRepo(t)
	noSpec := branch(g, "no-spec", func() { g.Remove(spec.FileName) })
	badYAML := branch(g, "bad-yaml", func() { g.Write(spec.FileName, "project: [unclosed\n") })
	noProject := branch(g, "no-project", func() { g.Write(spec.FileName, "image: {base: x}\n") })
	badGlob := branch(g, "bad-glob", func() {
		g.Write(spec.FileName, strings.Replace(sampleSpec, `"deps/**"`, `"deps/[oops"`, 1))
	})
	g.Git("checkout", "-q", "--orphan", "unrelated")
	g.Write("x", "y")
	g.Commit("unrelated root")

	tests := []struct {
		name       string
		base, head string
		want       error
		mentions   []string
	}{
		{"missing runway.yaml at head", "main", noSpec, ErrNoSpec, []string{"runway.yaml", `"no-spec"`, g.Git("rev-parse", noSpec)}},
		{"malformed runway.yaml", "main", badYAML, ErrBadSpec, []string{"runway.yaml", `"bad-yaml"`, "line 1"}},
		{"runway.yaml without a project", "main", noProject, ErrBadSpec, []string{"project"}},
		{"malformed glob", "main", badGlob, ErrBadSpec, []string{"image.dependencies[1]", "deps/[oops"}},
		{"unknown head", "main", "nope", gitdiff.ErrUnknownRevision, []string{`"nope"`}},
		{"unknown base", "nope", "main", gitdiff.ErrUnknownRevision, []string{`"nope"`}},
		{"unrelated histories", "main", "unrelated", gitdiff.ErrNoMergeBase, []string{"share no commit"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Plan(context.Background(), g.Dir, tc.base, tc.head)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			for _, m := range tc.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %s", err, m)
				}
			}
		})
	}
	if _, err := Plan(context.Background(), t.TempDir(), "main", "HEAD"); !errors.Is(err, gitdiff.ErrNotRepository) {
		t.Errorf("not a repository: err = %v", err)
	}
	if _, err := Plan(context.Background(), g.Dir, "main", noSpec, WithParser(nil)); err == nil {
		t.Errorf("WithParser(nil) accepted")
	}
	if _, err := Plan(context.Background(), g.Dir, "main", noSpec, WithDefaultExcludes("/abs")); err == nil {
		t.Errorf("an absolute default exclude accepted")
	}
}

func TestWithParser(t *testing.T) {
	g := sampleRepo(t)
	head := branch(g, "unknown-field", func() { g.Write(spec.FileName, sampleSpec+"unknown: 1\n") })
	// The default decode is lenient; the strict loader refuses the field.
	plan(t, g, "main", head)
	strict := WithParser(func(b []byte) (*spec.Spec, error) { return spec.Parse(spec.FileName, b) })
	_, err := Plan(context.Background(), g.Dir, "main", head, strict)
	if !errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), "unknown") {
		t.Errorf("strict parser: err = %v", err)
	}
}

func TestWithDefaultExcludes(t *testing.T) {
	g := sampleRepo(t)
	head := branch(g, "readme", func() { g.Write("README.md", "changed\n") })
	if p := plan(t, g, "main", head, WithDefaultExcludes()); p.Decision != Bundle {
		t.Errorf("with no default excludes, a README change is %s, want bundle", p.Decision)
	}
}

func TestWriteJSONMatchesEncodingJSON(t *testing.T) {
	g := sampleRepo(t)
	head := branch(g, "mixed", func() {
		g.Write("requirements.txt", "x\n")
		g.Write("README.md", "y\n")
		g.Write("pipeline/we<ird>&\"name\\\t\u2028é.py", "z\n")
	})
	for _, p := range []*Result{plan(t, g, "main", head), plan(t, g, "main", "main"), {}} {
		want, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		var got bytes.Buffer
		if err := p.WriteJSON(&got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("WriteJSON differs from encoding/json:\n%s\nwant\n%s", got.Bytes(), want)
		}
	}
	for _, s := range []string{"plain", "\x00\x01\x1f\b\f\n\r\t", "<>&", "\u2028\u2029", "bad \xff utf8", "日本"} {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestJSONFieldNames(t *testing.T) {
	g := sampleRepo(t)
	head := branch(g, "code", func() { g.Write("pipeline/prepare.py", "v2\n") })
	var buf bytes.Buffer
	if err := plan(t, g, "main", head).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"decision", "reasons", "changed", "base", "head", "mergeBase", "headTree", "image", "bundle"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON has no %q", k)
		}
	}
	img, bun := m["image"].(map[string]any), m["bundle"].(map[string]any)
	for _, k := range []string{"ref", "exists", "hash"} {
		if _, ok := img[k]; !ok {
			t.Errorf("image has no %q", k)
		}
	}
	for _, k := range []string{"digest", "size", "files", "built"} {
		if _, ok := bun[k]; !ok {
			t.Errorf("bundle has no %q", k)
		}
	}
	r := m["reasons"].([]any)[0].(map[string]any)
	c := m["changed"].([]any)[0].(map[string]any)
	if r["path"] == nil || r["rule"] == nil || r["effect"] == nil || c["path"] == nil || c["change"] != "modified" {
		t.Errorf("reason %v, changed %v", r, c)
	}
}
