//go:build adversarial

package executor_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/archive"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/internal/testkit/hostiletar"
)

// TestAdversarialHostileDirValues (issue 16, item 4): every tarball of the
// hostile corpus, stored as a dir value (a plain tar blob, as PutDir
// writes), is refused by executor.FetchDir, the path dir inputs take in
// both executors; nothing lands beside the destination and none is left.
//
// A dir value's limits come from its recorded size, so the bombs are
// stored with a record claiming the corpus's byte limit, as a forged
// execution record would. Two cases do not apply: "bad-digest" (the store
// itself refuses a blob that does not match its digest) and
// "too-many-files" (a value's size bounds its member count: 65 empty
// members fit in its 34 KiB).
func TestAdversarialHostileDirValues(t *testing.T) {
	corpus := hostiletar.Load(t)
	ctx := context.Background()
	s, err := layout.New(t.TempDir(), layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	const repo = "hostile/development/data"
	for _, c := range corpus.Cases {
		if c.Name == "bad-digest" || c.Name == "too-many-files" {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			blob := c.Tar
			if blob == nil {
				blob = c.Gzip // not gzip at all: stored as it is
			}
			d := store.Digest(blob)
			if err := s.PutBlob(ctx, repo, d, int64(len(blob)), bytes.NewReader(blob)); err != nil {
				t.Fatal(err)
			}
			v := executor.Value{Type: executor.TypeDir, Digest: d.String(), Size: min(int64(len(blob)), corpus.Limits.MaxBytes)}
			parent := t.TempDir()
			neighbour := filepath.Join(parent, "neighbour")
			if err := os.Mkdir(neighbour, 0o755); err != nil {
				t.Fatal(err)
			}
			err := executor.FetchDir(ctx, s, repo, v, filepath.Join(parent, "inputs"))
			if err == nil {
				t.Fatal("extracted; want a refusal")
			}
			switch c.Error {
			case "unsafe":
				if !errors.Is(err, archive.ErrUnsafeMember) {
					t.Errorf("%v is not ErrUnsafeMember", err)
				}
			case "limit":
				if !errors.Is(err, archive.ErrLimit) {
					t.Errorf("%v is not ErrLimit", err)
				}
			}
			if left, _ := os.ReadDir(neighbour); len(left) != 0 {
				t.Errorf("written beside the destination: %v", left)
			}
			if left, _ := os.ReadDir(parent); len(left) != 1 {
				t.Errorf("left behind: %v", left)
			}
			if _, err := os.Lstat("/tmp/runway-hostile-absolute"); err == nil {
				t.Error("an absolute member was written at /tmp/runway-hostile-absolute")
			}
		})
	}
}
