//go:build adversarial

package fastreg_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/runway-ci/runway/fastreg"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/internal/testkit/hostiletar"
)

// TestAdversarialHostileBundlesThroughFetch (issue 16, item 4): every
// tarball of the hostile corpus, stored as a bundle, is refused by
// fastreg.Fetch, the path exec-task takes, with the corpus's error; nothing
// lands beside the root and no root or temporary file is left.
func TestAdversarialHostileBundlesThroughFetch(t *testing.T) {
	corpus := hostiletar.Load(t)
	kinds := map[string]error{"unsafe": fastreg.ErrUnsafeMember, "limit": fastreg.ErrLimit, "digest": fastreg.ErrDigestMismatch, "format": nil}
	ctx := context.Background()
	s, err := layout.New(t.TempDir(), layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	const project = "hostile"
	for _, c := range corpus.Cases {
		t.Run(c.Name, func(t *testing.T) {
			want, err := v1.NewHash(c.Want)
			if err != nil {
				t.Fatal(err)
			}
			putBundle(t, s, project, want, c.Gzip)
			parent := t.TempDir()
			neighbour := filepath.Join(parent, "neighbour")
			if err := os.Mkdir(neighbour, 0o755); err != nil {
				t.Fatal(err)
			}
			err = fastreg.Fetch(ctx, s, project, want, filepath.Join(parent, "root"), corpus.Limits)
			if err == nil {
				t.Fatal("fetched and extracted; want a refusal")
			}
			if k := kinds[c.Error]; k != nil && !errors.Is(err, k) {
				t.Errorf("%v does not match %v", err, k)
			}
			var me *fastreg.MemberError
			if c.Member != "" && (!errors.As(err, &me) || me.Name != c.Member) {
				t.Errorf("%v does not name member %q", err, c.Member)
			}
			if left, _ := os.ReadDir(neighbour); len(left) != 0 {
				t.Errorf("written beside the root: %v", left)
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

// putBundle stores layer as the bundle whose identity is identity, in
// fastreg's artifact format, as a registry holding a forged bundle would.
func putBundle(t *testing.T, s store.Store, project string, identity v1.Hash, layer []byte) {
	t.Helper()
	ctx := context.Background()
	repo := store.BundleRepo(project)
	d := store.Digest(layer)
	if err := s.PutBlob(ctx, repo, d, int64(len(layer)), bytes.NewReader(layer)); err != nil {
		t.Fatal(err)
	}
	if err := store.PutBlobBytes(ctx, s, repo, store.EmptyJSON); err != nil {
		t.Fatal(err)
	}
	m := store.Manifest{
		SchemaVersion: 2, MediaType: store.MediaTypeOCIManifest, ArtifactType: fastreg.ArtifactType,
		Config: v1.Descriptor{MediaType: types.MediaType(store.MediaTypeEmptyJSON), Size: 2, Digest: store.Digest(store.EmptyJSON)},
		Layers: []v1.Descriptor{{MediaType: fastreg.LayerMediaType, Size: int64(len(layer)), Digest: d}},
	}
	raw, _ := json.Marshal(m)
	if _, err := s.PutManifest(ctx, repo, store.BundleTag(identity.Hex), store.MediaTypeOCIManifest, raw); err != nil {
		t.Fatal(err)
	}
}
