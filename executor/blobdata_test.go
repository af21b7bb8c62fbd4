package executor

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/runway-ci/runway/internal/archive"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/internal/testkit/archivetest"
)

// putDirBlob stores raw as a dir value's blob and returns the value.
func putDirBlob(t *testing.T, s store.Store, repo string, raw []byte) Value {
	t.Helper()
	d := archivetest.Digest(raw)
	if err := s.PutBlob(context.Background(), repo, d, int64(len(raw)), bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	return Value{Type: TypeDir, Digest: d.String(), Size: int64(len(raw))}
}

// TestFetchDirRefusesUnsafeEntries: every dir value FetchDir refuses,
// including the symlink chain of issue 10 (a/up -> .., then
// a/evil -> up/../secret: each target, read as text next to its link, stays
// inside the root, but the kernel resolves a/evil to root/../secret). A
// refusal leaves nothing at dst and nothing outside it.
func TestFetchDirRefusesUnsafeEntries(t *testing.T) {
	for _, tc := range []struct {
		name string
		tar  []byte
	}{
		{"symlink chain", archivetest.SymlinkChain(t)},
		{"dotdot", archivetest.Tar(t, tar.Header{Name: "../evil", Typeflag: tar.TypeReg})},
		{"absolute", archivetest.Tar(t, tar.Header{Name: "/etc/evil", Typeflag: tar.TypeReg})},
		{"escaping link", archivetest.Tar(t, tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../../etc"})},
		{"through a link", archivetest.Tar(t, tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "."}, tar.Header{Name: "l/x", Typeflag: tar.TypeReg})},
		{"device", archivetest.Tar(t, tar.Header{Name: "dev", Typeflag: tar.TypeChar})},
		{"hardlink", archivetest.Tar(t, tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../secret"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s, err := layout.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			repo := store.ExecutionRepo("p", "development")
			v := putDirBlob(t, s, repo, tc.tar)
			// dst/a/up would be dst, so dst/a/evil would be inputs/secret.
			inputs := t.TempDir()
			if err := os.WriteFile(filepath.Join(inputs, "secret"), []byte("outside the root"), 0o600); err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(inputs, "data")
			err = FetchDir(ctx, s, repo, v, dst)
			if got, rerr := os.ReadFile(filepath.Join(dst, "a", "evil")); rerr == nil {
				t.Errorf("dst/a/evil reads %q, a file outside the root", got)
			}
			if !errors.Is(err, archive.ErrUnsafeMember) {
				t.Fatalf("FetchDir: err = %v, want archive.ErrUnsafeMember", err)
			}
			if left, _ := os.ReadDir(inputs); len(left) != 1 {
				t.Errorf("FetchDir failed but left %v next to the secret", left)
			}
		})
	}
}

// TestFetchDirVerifiesBeforeWriting: a stored tar whose bytes were changed
// after upload matches store.ErrDigestMismatch and leaves nothing at dst.
func TestFetchDirVerifiesBeforeWriting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := layout.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	repo := store.ExecutionRepo("p", "development")
	v := putDirBlob(t, s, repo, archivetest.Tar(t, tar.Header{Name: "a.txt", Typeflag: tar.TypeReg}))
	evil := archivetest.Tar(t, tar.Header{Name: "b.txt", Typeflag: tar.TypeReg})
	blob := filepath.Join(dir, "blobs", "sha256", v.Digest[len("sha256:"):])
	if err := os.WriteFile(blob, evil, 0o644); err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	err = FetchDir(ctx, s, repo, v, filepath.Join(parent, "d"))
	if !errors.Is(err, store.ErrDigestMismatch) {
		t.Fatalf("err = %v, want store.ErrDigestMismatch", err)
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestPutDirFetchDirRoundTrip: PutDir keeps links that stay inside and
// FetchDir restores the tree.
func TestPutDirFetchDirRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, err := layout.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "a", "b"), 0o755)
	os.WriteFile(filepath.Join(src, "a", "b", "f"), []byte("x"), 0o644)
	os.Symlink("../top", filepath.Join(src, "a", "up"))
	os.WriteFile(filepath.Join(src, "top"), []byte("t"), 0o644)
	repo := store.ExecutionRepo("p", "development")
	v, err := PutDir(ctx, s, repo, src, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "out")
	if err := FetchDir(ctx, s, repo, v, dst); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "a", "up")); err != nil || string(b) != "t" {
		t.Errorf("a/up reads %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "a", "b", "f")); err != nil || string(b) != "x" {
		t.Errorf("a/b/f reads %q, %v", b, err)
	}
	// The chain cannot be uploaded either: PutDir applies the same link rule.
	os.Symlink("..", filepath.Join(src, "a", "b", "up2"))
	os.Symlink("up2/../../../x", filepath.Join(src, "a", "b", "evil"))
	if _, err := PutDir(ctx, s, repo, src, t.TempDir()); err == nil {
		t.Error("PutDir accepted a link that climbs after a name")
	}
}
