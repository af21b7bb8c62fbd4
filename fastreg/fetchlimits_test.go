package fastreg

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
)

// putLayer stores layer as the bundle identity's artifact, with the
// manifest annotations given (a hostile pusher chooses them).
func putLayer(t testing.TB, s store.Store, project string, identity v1.Hash, layer []byte, ann map[string]string) {
	t.Helper()
	ctx := context.Background()
	repo := store.BundleRepo(project)
	if err := store.PutBlobBytes(ctx, s, repo, layer); err != nil {
		t.Fatal(err)
	}
	if err := store.PutBlobBytes(ctx, s, repo, store.EmptyJSON); err != nil {
		t.Fatal(err)
	}
	m := store.Manifest{
		SchemaVersion: 2, MediaType: store.MediaTypeOCIManifest, ArtifactType: ArtifactType,
		Config:      v1.Descriptor{MediaType: types.MediaType(store.MediaTypeEmptyJSON), Size: 2, Digest: store.Digest(store.EmptyJSON)},
		Layers:      []v1.Descriptor{{MediaType: LayerMediaType, Size: int64(len(layer)), Digest: store.Digest(layer)}},
		Annotations: ann,
	}
	raw, _ := json.Marshal(m)
	if _, err := s.PutManifest(ctx, repo, store.BundleTag(identity.Hex), store.MediaTypeOCIManifest, raw); err != nil {
		t.Fatal(err)
	}
}

// A bundle stored truncated (its layer digest names the truncated bytes) is
// a corrupt bundle, which fetching again cannot fix; not a store outage
// (issue 17, item 8).
func TestTruncatedStoredBundleIsCorrupt(t *testing.T) {
	ctx := context.Background()
	s, err := layout.New(t.TempDir(), layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	b := build(t, sampleRepo(t).dir)
	raw, err := os.ReadFile(b.Path())
	if err != nil {
		t.Fatal(err)
	}
	putLayer(t, s, "demo", b.Digest, raw[:len(raw)/2], nil)
	parent := t.TempDir()
	err = Fetch(ctx, s, "demo", b.Digest, filepath.Join(parent, "code"), Limits{})
	if !errors.Is(err, ErrCorruptBundle) {
		t.Fatalf("err = %v, want ErrCorruptBundle", err)
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

const envBombChild = "FASTREG_TEST_BOMB_CHILD"

// A 1 GiB decompression bomb (about 1 MB stored, no size annotation: its
// pusher is hostile) is refused while it is read. Fetch runs in a separate
// process whose file-size limit is 16 MiB, like a small emptyDir: staging
// the expansion on disk would fail there with EFBIG.
func TestDecompressionBombNeverReachesTheDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 1 GiB stream")
	}
	dir := t.TempDir()
	s, err := layout.New(filepath.Join(dir, "store"), layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	const member = 64 << 20
	for i := 0; i < 17; i++ { // 17 x 64 MiB: past the 1 GiB default limit
		if err := tw.WriteHeader(&tar.Header{Name: "zeros" + string(rune('a'+i)), Mode: 0o644, Size: member, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(tw, zeroReader{}, member); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	zw.Close()
	identity := store.Digest([]byte("whatever the pusher claims"))
	putLayer(t, s, "demo", identity, gz.Bytes(), nil)
	t.Logf("bomb: %d bytes stored, %d GiB expanded", gz.Len(), 17*member>>30)

	cmd := exec.Command(os.Args[0], "-test.run=^TestBombChild$", "-test.v")
	cmd.Env = append(os.Environ(), envBombChild+"="+dir+"|"+identity.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the fetching process failed (it must refuse the bomb, not run out of file size): %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("refused with ErrLimit")) {
		t.Fatalf("child output:\n%s", out)
	}
}

// TestBombChild is the fetching process of TestDecompressionBombNeverReachesTheDisk.
func TestBombChild(t *testing.T) {
	arg := os.Getenv(envBombChild)
	if arg == "" {
		t.Skip("run by TestDecompressionBombNeverReachesTheDisk")
	}
	i := bytes.IndexByte([]byte(arg), '|')
	dir, id := arg[:i], arg[i+1:]
	lim := syscall.Rlimit{Cur: 16 << 20, Max: 16 << 20}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	s, err := layout.New(filepath.Join(dir, "store"), layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := v1.NewHash(id)
	err = Fetch(context.Background(), s, "demo", want, filepath.Join(dir, "code"), Limits{})
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("err = %v, want ErrLimit", err)
	}
	t.Logf("refused with ErrLimit: %v", err)
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
