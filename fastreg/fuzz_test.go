package fastreg_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/fastreg"
)

// FuzzExtract feeds arbitrary tar streams, with their true digest so that
// every member header is examined, to the extractor bundles and dir values
// share. Whatever the input: no panic; on refusal nothing is left at the
// root or beside it and the neighbouring directory is untouched; on
// success every entry is a plain file, directory or a symlink that
// resolves inside the root, and nothing appeared outside it. Seeds:
// testdata/fuzz/FuzzExtract (the hostile corpus, decompressed, and a
// valid bundle). A crasher found is added there for good.
func FuzzExtract(f *testing.F) {
	f.Add([]byte{})
	limits := fastreg.Limits{MaxBytes: 1 << 20, MaxFiles: 64}
	f.Fuzz(func(t *testing.T, in []byte) {
		sum := sha256.Sum256(in)
		want := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
		parent := t.TempDir()
		neighbour := filepath.Join(parent, "neighbour")
		if err := os.Mkdir(neighbour, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(neighbour, "keep"), []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		root := filepath.Join(parent, "root")
		err := fastreg.Extract(context.Background(), bytes.NewReader(in), root, want, limits)

		ents, _ := os.ReadDir(neighbour)
		if b, _ := os.ReadFile(filepath.Join(neighbour, "keep")); len(ents) != 1 || string(b) != "keep" {
			t.Fatalf("the directory beside the root changed: %v", ents)
		}
		left, _ := os.ReadDir(parent)
		if err != nil {
			if !errors.Is(err, fastreg.ErrUnsafeMember) && !errors.Is(err, fastreg.ErrLimit) && !strings.Contains(err.Error(), "extracting bundle") {
				t.Fatalf("error does not say what it was doing: %v", err)
			}
			if len(left) != 1 {
				t.Fatalf("refused (%v) but left %v beside the neighbour", err, names(left))
			}
			return
		}
		if len(left) != 2 {
			t.Fatalf("extracted, and left %v", names(left))
		}
		realRoot, _ := filepath.EvalSymlinks(root)
		werr := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := os.Lstat(p)
			if err != nil {
				return err
			}
			switch m := fi.Mode(); {
			case m.IsRegular(), m.IsDir():
			case m&fs.ModeSymlink != 0:
				target, _ := os.Readlink(p)
				if filepath.IsAbs(target) {
					t.Fatalf("symlink %s -> %s is absolute", p, target)
				}
				if res, err := filepath.EvalSymlinks(p); err == nil && res != realRoot && !strings.HasPrefix(res, realRoot+string(filepath.Separator)) {
					t.Fatalf("symlink %s resolves to %s, outside the root", p, res)
				}
			default:
				t.Fatalf("%s has mode %s", p, m)
			}
			return nil
		})
		if werr != nil {
			t.Fatal(werr)
		}
	})
}

func names(ents []os.DirEntry) []string {
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
