package layout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
)

func newLayout(t testing.TB, dir string) *layout.Store {
	t.Helper()
	s, err := layout.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIsAnOCILayout(t *testing.T) {
	dir := t.TempDir()
	s := newLayout(t, dir)
	ctx := context.Background()
	subject, err := store.PutArtifact(ctx, s, "p/dev/task/a", "v1", store.Artifact{ArtifactType: "application/vnd.test.entity"})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := store.PutArtifact(ctx, s, "p/dev/task/a", "", store.Artifact{ArtifactType: "application/vnd.test.promotion", Subject: &subject})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "oci-layout"))
	if err != nil || string(bytes.TrimSpace(b)) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Fatalf("oci-layout = %q, %v", b, err)
	}
	b, err = os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatalf("index.json does not parse: %v", err)
	}
	if idx.SchemaVersion != 2 || idx.MediaType != store.MediaTypeOCIIndex || len(idx.Manifests) != 2 {
		t.Fatalf("index.json = %s", b)
	}
	byDigest := map[v1.Hash]v1.Descriptor{}
	for _, d := range idx.Manifests {
		byDigest[d.Digest] = d
		if _, err := os.Stat(filepath.Join(dir, "blobs", "sha256", d.Digest.Hex)); err != nil {
			t.Errorf("manifest blob %s missing: %v", d.Digest, err)
		}
	}
	tagged := byDigest[subject.Digest]
	if tagged.Annotations[store.AnnotationRefName] != "p/dev/task/a:v1" || tagged.Annotations[store.AnnotationRepo] != "p/dev/task/a" {
		t.Errorf("tagged entry annotations = %v", tagged.Annotations)
	}
	referrer := byDigest[ref.Digest]
	if referrer.Annotations[store.AnnotationSubject] != subject.Digest.String() || referrer.ArtifactType != "application/vnd.test.promotion" {
		t.Errorf("referrer entry = %+v", referrer)
	}
	if _, ok := referrer.Annotations[store.AnnotationRefName]; ok {
		t.Errorf("untagged entry has a ref.name: %v", referrer.Annotations)
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, ".tmp")); len(tmp) != 0 {
		t.Errorf("temporary files left behind: %v", tmp)
	}
}

// Two Store values on one directory stand for two runway processes: each
// sees the other's writes, no write is lost, and the file lock excludes.
func TestSharedDirectory(t *testing.T) {
	dir := t.TempDir()
	a, b := newLayout(t, dir), newLayout(t, dir)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		for j, s := range []*layout.Store{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := store.PutArtifact(ctx, s, "p/dev/execution", fmt.Sprintf("s%d-%02d", j, i), store.Artifact{ArtifactType: "application/vnd.test", Annotations: map[string]string{"i": fmt.Sprint(i, j)}})
				if err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, s := range []*layout.Store{a, b} {
		tags, err := s.Tags(ctx, "p/dev/execution")
		if err != nil || len(tags) != 40 {
			t.Fatalf("Tags = %d tags, %v; want 40", len(tags), err)
		}
	}

	unlock, err := a.Lock(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if u, err := b.Lock(short, "k"); err == nil {
		u()
		t.Fatal("a second process took a held lock")
	}
	unlock()
	u, err := b.Lock(ctx, "k")
	if err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
	u()
}

func TestRefusedBlobLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s := newLayout(t, dir)
	d := store.Digest([]byte("claimed"))
	if err := s.PutBlob(context.Background(), "p/x", d, 5, bytes.NewReader([]byte("other"))); err == nil {
		t.Fatal("mismatched blob accepted")
	}
	if _, err := os.Stat(filepath.Join(dir, "blobs", "sha256", d.Hex)); !os.IsNotExist(err) {
		t.Fatalf("a refused blob is in blobs/: %v", err)
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, ".tmp")); len(tmp) != 0 {
		t.Fatalf("temporary files left behind: %v", tmp)
	}
	// A manifest that names a missing blob is refused.
	raw, _ := store.BuildManifest(store.Artifact{Layers: []store.Blob{{MediaType: "x/y", Data: []byte("never uploaded")}}})
	if _, err := s.PutManifest(context.Background(), "p/x", "v1", store.MediaTypeOCIManifest, raw); err == nil {
		t.Fatal("manifest with a missing blob accepted")
	}
}

func TestRefusesForeignLayoutVersion(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"9.9"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := layout.New(dir); err == nil {
		t.Fatal("opened a layout of an unknown version")
	}
	if _, err := layout.New(""); err == nil {
		t.Fatal("opened an empty directory name")
	}
}

func TestWriteImageFallback(t *testing.T) {
	s := newLayout(t, t.TempDir())
	img, err := random.Image(4096, 3)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	desc, err := store.WriteImage(ctx, s, "p/image", "deps-1", img)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	raw, got, err := s.GetManifest(ctx, "p/image", "deps-1")
	if err != nil || got.Digest != want || desc.Digest != want {
		t.Fatalf("GetManifest = %v, %v; want %s", got, err, want)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range append(m.Layers, m.Config) {
		if ok, err := s.HasBlob(ctx, "p/image", l.Digest); err != nil || !ok {
			t.Fatalf("blob %s missing after WriteImage", l.Digest)
		}
	}
}

// BenchmarkPutArtifact1000 writes 1,000 small artifacts one after the other
// (one op = 1,000), with fsync (the default) and without.
func BenchmarkPutArtifact1000(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts []layout.Option
	}{{"fsync", nil}, {"nofsync", []layout.Option{layout.WithoutFsync()}}} {
		b.Run(tc.name, func(b *testing.B) { benchPut1000(b, tc.opts...) })
	}
}

func benchPut1000(b *testing.B, opts ...layout.Option) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := layout.New(b.TempDir(), opts...)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for j := range 1000 {
			a := store.Artifact{ArtifactType: "application/vnd.test", Layers: []store.Blob{{MediaType: "application/json", Data: []byte(fmt.Sprintf(`{"n":%d,"pad":"%01000d"}`, j, 0))}}}
			if _, err := store.PutArtifact(ctx, s, fmt.Sprintf("p/dev/task/t%d", j), "v1", a); err != nil {
				b.Fatal(err)
			}
		}
	}
}
