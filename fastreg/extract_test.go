package fastreg

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestExtractRoundTrip(t *testing.T) {
	r := sampleRepo(t)
	b := build(t, r.dir)
	want := map[string]string{
		"runway.yaml":       "project: demo\n",
		"pipeline/prep.py":  "import sys\nprint('prep', sys.argv)\n",
		"pipeline/train.py": "print('train')\n",
		"bin/run*":          "#!/bin/sh\nexec python3 -m pipeline.prep \"$@\"\n",
		"pipeline/current":  "-> prep.py",
	}
	t.Run("gzip", func(t *testing.T) {
		f, err := b.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		root := filepath.Join(t.TempDir(), "code")
		if err := Extract(context.Background(), f, root, b.Digest, Limits{}); err != nil {
			t.Fatalf("Extract: %v", err)
		}
		checkTree(t, root, want)
	})
	t.Run("plain tar into an empty directory", func(t *testing.T) {
		raw := uncompressed(t, b)
		root := t.TempDir()
		if err := Extract(context.Background(), bytes.NewReader(raw), root, b.Digest, Limits{}); err != nil {
			t.Fatalf("Extract: %v", err)
		}
		checkTree(t, root, want)
	})
	t.Run("exactly at the limits", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "code")
		if err := Extract(context.Background(), bytes.NewReader(uncompressed(t, b)), root, b.Digest, Limits{MaxBytes: b.Size, MaxFiles: b.Files}); err != nil {
			t.Fatalf("Extract: %v", err)
		}
		root = filepath.Join(t.TempDir(), "code")
		err := Extract(context.Background(), bytes.NewReader(uncompressed(t, b)), root, b.Digest, Limits{MaxBytes: b.Size - 1})
		if !errors.Is(err, ErrLimit) {
			t.Errorf("one byte under: err = %v, want ErrLimit", err)
		}
	})
}

func uncompressed(t *testing.T, b *Bundle) []byte {
	t.Helper()
	f, err := b.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestExtractAcceptsDirectoryEntries(t *testing.T) {
	raw := newTarball().
		add(&tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o700}, "").
		file("d/a.txt", "a").
		add(&tar.Header{Name: "d/e/", Typeflag: tar.TypeDir, Mode: 0o755}, "").
		add(&tar.Header{Name: "d/up", Typeflag: tar.TypeSymlink, Linkname: "../top.txt"}, "").
		file("top.txt", "top").done(nil)
	root := filepath.Join(t.TempDir(), "x")
	if err := Extract(context.Background(), bytes.NewReader(raw), root, sha(raw), Limits{}); err != nil {
		t.Fatal(err)
	}
	checkTree(t, root, map[string]string{"d/a.txt": "a", "top.txt": "top", "d/up": "-> ../top.txt"})
	if st, err := os.Stat(filepath.Join(root, "d", "e")); err != nil || !st.IsDir() || st.Mode().Perm() != 0o755 {
		t.Errorf("d/e: %v %v", st, err)
	}
}

func TestExtractRefuses(t *testing.T) {
	good := newTarball().file("a.txt", "a").done(nil)
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		in   []byte
		want v1.Hash
		root func(t *testing.T) string
		is   error
		msg  string
	}{
		{"zero digest", ctx, good, v1.Hash{}, nil, nil, "not a sha256 digest"},
		{"sha512 digest", ctx, good, v1.Hash{Algorithm: "sha512", Hex: strings.Repeat("a", 128)}, nil, nil, "not a sha256 digest"},
		{"empty stream", ctx, nil, sha(good), nil, ErrDigestMismatch, "digest"},
		{"truncated gzip", ctx, gzipped(good)[:20], sha(good), nil, nil, "reading"},
		{"gzip of garbage", ctx, gzipped([]byte("garbage")), sha([]byte("garbage")), nil, nil, "reading the first tar header"},
		{"cancelled", cancelled, good, sha(good), nil, context.Canceled, "canceled"},
		{"root not empty", ctx, good, sha(good), func(t *testing.T) string {
			d := t.TempDir()
			os.WriteFile(filepath.Join(d, "keep"), []byte("mine"), 0o644)
			return d
		}, ErrRootExists, "not empty"},
		{"parent missing", ctx, good, sha(good), func(t *testing.T) string {
			return filepath.Join(t.TempDir(), "no", "such")
		}, os.ErrNotExist, "extracting bundle"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "root")
			if tc.root != nil {
				root = tc.root(t)
			}
			before, _ := os.ReadDir(filepath.Dir(root))
			err := Extract(tc.ctx, bytes.NewReader(tc.in), root, tc.want, Limits{})
			if err == nil {
				t.Fatal("Extract succeeded")
			}
			if (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want %v / %q", err, tc.is, tc.msg)
			}
			if after, _ := os.ReadDir(filepath.Dir(root)); len(after) != len(before) {
				t.Errorf("left behind: %v (before: %v)", after, before)
			}
			if tc.name == "root not empty" {
				if b, _ := os.ReadFile(filepath.Join(root, "keep")); string(b) != "mine" {
					t.Errorf("existing root was touched")
				}
			}
		})
	}
}

// TestExtractCleansUpAfterWriteFailure: a member that passes every check
// but cannot be written (a 300-byte file name) fails the second pass, which
// removes what it had written and leaves no root.
func TestExtractCleansUpAfterWriteFailure(t *testing.T) {
	long := "d/" + strings.Repeat("n", 300)
	raw := newTarball().file("a.txt", "a").file(long, "x").done(nil)
	parent := t.TempDir()
	err := Extract(context.Background(), bytes.NewReader(raw), filepath.Join(parent, "root"), sha(raw), Limits{})
	if err == nil || !strings.Contains(err.Error(), long) {
		t.Fatalf("err = %v, want one naming the member", err)
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}
