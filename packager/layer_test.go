package packager

import (
	"archive/tar"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func writeTree(t *testing.T, root string, mtime time.Time) {
	t.Helper()
	files := []struct {
		name string
		mode os.FileMode
		body string
	}{
		{"a/b", 0o600, "b"},
		{"a-b", 0o640, "dash"},
		{"a/run", 0o700, "#!/bin/sh\n"},
		{"z/deep/file", 0o444, "deep"},
	}
	for _, f := range files {
		p := filepath.Join(root, f.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.body), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../a-b", filepath.Join(root, "z/link")); err != nil {
		t.Fatal(err)
	}
	// "z/deep/file" sorts after "a/b"; linking it from "a/hard" checks that
	// the first path in sorted order holds the content.
	if err := os.Link(filepath.Join(root, "z/deep/file"), filepath.Join(root, "a/hard")); err != nil {
		t.Fatal(err)
	}
	filepath.Walk(root, func(p string, _ os.FileInfo, _ error) error {
		os.Chtimes(p, mtime, mtime)
		return nil
	})
}

func TestCollectEntriesNormalises(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, time.Now())
	entries, err := collectEntries(root)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		name, link string
		typ        byte
		mode       int64
	}
	wants := []want{
		{"a", "", tar.TypeDir, 0o755},
		{"a-b", "", tar.TypeReg, 0o644},
		{"a/b", "", tar.TypeReg, 0o644},
		{"a/hard", "", tar.TypeReg, 0o644},
		{"a/run", "", tar.TypeReg, 0o755},
		{"z", "", tar.TypeDir, 0o755},
		{"z/deep", "", tar.TypeDir, 0o755},
		{"z/deep/file", "a/hard", tar.TypeLink, 0o644},
		{"z/link", "../a-b", tar.TypeSymlink, 0o777},
	}
	if len(entries) != len(wants) {
		t.Fatalf("got %d entries, want %d: %+v", len(entries), len(wants), entries)
	}
	for i, w := range wants {
		e := entries[i]
		if got := (want{e.name, e.linkname, e.typ, e.mode}); got != w {
			t.Errorf("entry %d: got %+v, want %+v", i, got, w)
		}
	}
}

func TestWriteLayerIsReproducible(t *testing.T) {
	// The same tree written at two different times, in two directories,
	// gives the same layer digest and diff id.
	var layers []*fileLayer
	for i, mtime := range []time.Time{time.Unix(1_000_000, 0), time.Now()} {
		root := t.TempDir()
		writeTree(t, root, mtime)
		entries, err := collectEntries(root)
		if err != nil {
			t.Fatal(err)
		}
		l, err := writeLayer(t.TempDir(), entries)
		if err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		layers = append(layers, l)
	}
	if layers[0].digest != layers[1].digest || layers[0].diffID != layers[1].diffID {
		t.Fatalf("digests differ: %s/%s vs %s/%s", layers[0].digest, layers[0].diffID, layers[1].digest, layers[1].diffID)
	}
}

func TestCollectEntriesRefusesSpecialFiles(t *testing.T) {
	root := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(root, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := collectEntries(root)
	if !errors.Is(err, ErrUnsupportedFile) {
		t.Fatalf("error %v, want ErrUnsupportedFile", err)
	}
	if want := "pipe"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %q", err, want)
	}
}

func TestWriteLayerLongNames(t *testing.T) {
	// Names over 100 bytes need PAX path records (never time records); the
	// layer must still be reproducible and readable.
	root := t.TempDir()
	long := filepath.Join(root, "site-packages", "a_very_long_distribution_name_that_goes_on_and_on-1.2.3.dist-info", "and_an_even_longer_file_name_inside_it_RECORD_entry_points.txt")
	if err := os.MkdirAll(filepath.Dir(long), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(long, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	entries, err := collectEntries(root)
	if err != nil {
		t.Fatal(err)
	}
	l, err := writeLayer(t.TempDir(), entries)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var last *tar.Header
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		last = h
		for k := range h.PAXRecords {
			if k != "path" && k != "linkpath" {
				t.Errorf("%s: PAX record %q", h.Name, k)
			}
		}
	}
	rel, _ := filepath.Rel(root, long)
	if last == nil || last.Name != filepath.ToSlash(rel) {
		t.Errorf("last entry %v, want %s", last, rel)
	}
}
