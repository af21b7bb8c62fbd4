package fastreg

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/internal/testkit/archivetest"
)

// TestBundleRefusesSymlinkChain: a bundle holding the chain a/up -> ..,
// a/evil -> up/../secret is refused by Extract and by Fetch (the path
// exec-task takes), and neither leaves anything next to the root.
func TestBundleRefusesSymlinkChain(t *testing.T) {
	ctx := context.Background()
	raw := archivetest.SymlinkChain(t)
	layer := archivetest.Gzip(t, raw)
	want := archivetest.Digest(raw)
	check := func(t *testing.T, parent string, err error) {
		t.Helper()
		var me *MemberError
		if !errors.Is(err, ErrUnsafeMember) || !errors.As(err, &me) || me.Name != "a/evil" {
			t.Fatalf("err = %v, want ErrUnsafeMember naming a/evil", err)
		}
		if left, _ := os.ReadDir(parent); len(left) != 0 {
			t.Errorf("left behind: %v", left)
		}
	}
	t.Run("Extract", func(t *testing.T) {
		parent := t.TempDir()
		check(t, parent, Extract(ctx, bytes.NewReader(layer), filepath.Join(parent, "code"), want, Limits{}))
	})
	t.Run("Fetch", func(t *testing.T) {
		s, err := layout.New(t.TempDir(), layout.WithoutFsync())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.PutArtifact(ctx, s, store.BundleRepo("demo"), store.BundleTag(want.Hex), store.Artifact{
			ArtifactType: ArtifactType,
			Layers:       []store.Blob{{MediaType: LayerMediaType, Data: layer}},
		}); err != nil {
			t.Fatal(err)
		}
		parent := t.TempDir()
		check(t, parent, Fetch(ctx, s, "demo", want, filepath.Join(parent, "code"), Limits{}))
	})
}
