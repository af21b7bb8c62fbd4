package fastreg

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/storetest"
)

func sampleRepo(t *testing.T) *testRepo {
	return newRepo(t, map[string]string{
		"runway.yaml":       "project: demo\n",
		"pipeline/prep.py":  "import sys\nprint('prep', sys.argv)\n",
		"pipeline/train.py": "print('train')\n",
		"bin/run*":          "#!/bin/sh\nexec python3 -m pipeline.prep \"$@\"\n",
		"pipeline/current":  "-> prep.py",
	})
}

func TestPushUploadsOnce(t *testing.T) {
	reg := storetest.NewRegistry(t)
	s, err := remote.New(reg.Host)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := sampleRepo(t)
	b := build(t, r.dir)

	res, err := Push(ctx, s, "demo", b)
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	if !res.Uploaded || res.Repo != store.BundleRepo("demo") || res.Tag != store.BundleTag(b.Digest.Hex) {
		t.Errorf("result %+v", res)
	}
	if got := reg.UploadedBytes(); got != b.CompressedSize+int64(len(store.EmptyJSON)) {
		t.Errorf("registry received %d blob bytes; the bundle is %d bytes", got, b.CompressedSize)
	}
	if n := reg.Requests("PUT", storetest.KindManifest); n != 1 || res.UploadedBytes <= b.CompressedSize {
		t.Errorf("%d manifest PUTs, UploadedBytes %d", n, res.UploadedBytes)
	}

	m, desc, err := store.GetArtifact(ctx, s, res.Repo, res.Tag)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != res.Manifest.Digest || m.ArtifactType != ArtifactType || len(m.Layers) != 1 ||
		string(m.Layers[0].MediaType) != LayerMediaType || m.Layers[0].Digest != b.CompressedDigest || m.Layers[0].Size != b.CompressedSize {
		t.Errorf("manifest %+v", m)
	}
	wantAnn := map[string]string{
		store.AnnotationBundleDigest: b.Digest.String(),
		store.AnnotationBundleSize:   strconv.FormatInt(b.Size, 10),
		store.AnnotationBundleFiles:  strconv.Itoa(b.Files),
	}
	for k, v := range wantAnn {
		if m.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, m.Annotations[k], v)
		}
	}

	// Again, and from a fresh build of another commit with the same tree:
	// nothing is sent.
	reg.ResetCounters()
	r.commit("same tree, new commit")
	next := build(t, r.dir)
	again, err := Push(ctx, s, "demo", next)
	if err != nil {
		t.Fatal(err)
	}
	if next.Commit == b.Commit || again.Uploaded || again.UploadedBytes != 0 || again.Manifest.Digest != res.Manifest.Digest {
		t.Errorf("second push %+v", again)
	}
	if reg.UploadedBytes() != 0 || reg.Requests("PUT", storetest.KindManifest) != 0 || reg.Requests("POST", storetest.KindUpload) != 0 {
		t.Errorf("second push wrote to the registry: %v", reg.Counts())
	}
}

func TestPushAndFetchRoundTrip(t *testing.T) {
	ctx := context.Background()
	reg := storetest.NewRegistry(t)
	rs, err := remote.New(reg.Host)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := layout.New(t.TempDir(), layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	r := sampleRepo(t)
	b := build(t, r.dir)
	for name, s := range map[string]store.Store{"remote": rs, "layout": ls} {
		t.Run(name, func(t *testing.T) {
			if _, err := Push(ctx, s, "demo", b); err != nil {
				t.Fatal(err)
			}
			root := filepath.Join(t.TempDir(), "code")
			if err := Fetch(ctx, s, "demo", b.Digest, root, Limits{}); err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			checkTree(t, root, map[string]string{
				"runway.yaml":       "project: demo\n",
				"pipeline/prep.py":  "import sys\nprint('prep', sys.argv)\n",
				"pipeline/train.py": "print('train')\n",
				"bin/run*":          "#!/bin/sh\nexec python3 -m pipeline.prep \"$@\"\n",
				"pipeline/current":  "-> prep.py",
			})
		})
	}
	t.Run("unknown bundle", func(t *testing.T) {
		missing := v1.Hash{Algorithm: "sha256", Hex: b.CompressedDigest.Hex}
		err := Fetch(ctx, rs, "demo", missing, filepath.Join(t.TempDir(), "code"), Limits{})
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
	})
}

func TestFetchRefusesTamperedLayer(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := layout.New(dir, layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	b := build(t, sampleRepo(t).dir)
	if _, err := Push(ctx, s, "demo", b); err != nil {
		t.Fatal(err)
	}
	// Swap the stored layer for another valid bundle of the same size.
	blob := filepath.Join(dir, "blobs", "sha256", b.CompressedDigest.Hex)
	other := build(t, newRepo(t, map[string]string{"x": "y"}).dir)
	raw, err := os.ReadFile(other.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(blob, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blob, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	err = Fetch(ctx, s, "demo", b.Digest, filepath.Join(parent, "code"), Limits{})
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("err = %v, want ErrDigestMismatch", err)
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// checkTree compares a directory with files (newRepo's notation).
func checkTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	seen := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		seen++
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.Type()&os.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			if files[rel] != "-> "+target {
				t.Errorf("%s -> %s, want %q", rel, target, files[rel])
			}
			return nil
		}
		want, ok := files[rel]
		wantMode := os.FileMode(0o644)
		if !ok {
			want, ok = files[rel+"*"]
			wantMode = 0o755
		}
		got, _ := os.ReadFile(p)
		if !ok || string(got) != want || info.Mode().Perm() != wantMode {
			t.Errorf("%s: %q mode %v, want %q mode %v", rel, got, info.Mode().Perm(), want, wantMode)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(files) {
		t.Errorf("%d files extracted, want %d", seen, len(files))
	}
}

func TestFetchRefusesWrongArtifacts(t *testing.T) {
	ctx := context.Background()
	s, err := layout.New(t.TempDir(), layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	b := build(t, sampleRepo(t).dir)
	noise := make([]byte, 8192) // incompressible: the layer outgrows a 100-byte limit
	rand.NewChaCha8([32]byte{1}).Read(noise)
	big := build(t, newRepo(t, map[string]string{"noise.bin": string(noise)}).dir)
	for _, x := range []*Bundle{b, big} {
		if _, err := Push(ctx, s, "demo", x); err != nil {
			t.Fatal(err)
		}
	}
	// Another artifact under a bundle tag.
	fake := sha([]byte("fake"))
	if _, err := store.PutArtifact(ctx, s, store.BundleRepo("demo"), store.BundleTag(fake.Hex), store.Artifact{
		ArtifactType: "application/vnd.example.other",
		Layers:       []store.Blob{{MediaType: LayerMediaType, Data: []byte("x")}},
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		digest v1.Hash
		limits Limits
		is     error
		msg    string
	}{
		{"other artifact type", fake, Limits{}, nil, "artifact type"},
		{"layer over the limit", big.Digest, Limits{MaxBytes: 100}, ErrLimit, "more than the limit"},
		{"stream over the limit", b.Digest, Limits{MaxBytes: 100}, ErrLimit, "before its first member"},
		{"tar over the limit", b.Digest, Limits{MaxBytes: b.Size - 1}, ErrLimit, "expands past"},
		{"too many files", b.Digest, Limits{MaxFiles: 2}, ErrLimit, "more than 2 members"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			err := Fetch(ctx, s, "demo", tc.digest, filepath.Join(parent, "code"), tc.limits)
			if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %v / %q", err, tc.is, tc.msg)
			}
			if left, _ := os.ReadDir(parent); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}
