// Package archivetest builds hostile archives for the tests of every
// extraction path (internal/archive, fastreg bundles, executor dir values,
// exec-task), so each path is shown to refuse the same bytes.
package archivetest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// SymlinkChain is the uncompressed tar of issue 10: a/up -> .. and then
// a/evil -> up/../secret. Read as text next to its link, each target stays
// inside the root; followed by the kernel, root/a/evil is root/../secret.
// An extractor must refuse it.
func SymlinkChain(t testing.TB) []byte {
	t.Helper()
	return Tar(t,
		tar.Header{Name: "a/", Typeflag: tar.TypeDir, Mode: 0o755},
		tar.Header{Name: "a/up", Typeflag: tar.TypeSymlink, Linkname: "..", Mode: 0o777},
		tar.Header{Name: "a/evil", Typeflag: tar.TypeSymlink, Linkname: "up/../secret", Mode: 0o777},
	)
}

// Tar writes the headers (no content: sizes must be zero) as a tar.
func Tar(t testing.TB, hdrs ...tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Gzip compresses b.
func Gzip(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Digest is the sha256 of b.
func Digest(b []byte) v1.Hash {
	sum := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}
