package remote_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/storetest"
)

func TestWriteImageSkipsExistingBlobsAndReportsProgress(t *testing.T) {
	ctx := context.Background()
	reg := storetest.NewRegistry(t)
	var mu sync.Mutex
	var last remote.Progress
	calls := 0
	s := newStore(t, reg, remote.WithParallelism(3), remote.WithProgress(func(p remote.Progress) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		last = p
	}))
	img, err := random.Image(64<<10, 4)
	if err != nil {
		t.Fatal(err)
	}
	size := int64(0)
	layers, _ := img.Layers()
	for _, l := range layers {
		n, _ := l.Size()
		size += n
	}
	desc, err := store.WriteImage(ctx, s, "p/image", "deps-1", img)
	if err != nil {
		t.Fatalf("WriteImage: %v", err)
	}
	want, _ := img.Digest()
	if desc.Digest != want {
		t.Fatalf("descriptor digest %s, image digest %s", desc.Digest, want)
	}
	if got := reg.UploadedBytes(); got < size {
		t.Fatalf("registry received %d bytes, layers are %d", got, size)
	}
	mu.Lock()
	if calls == 0 || last.Complete != last.Total || last.Repo != "p/image" || last.Tag != "deps-1" {
		t.Errorf("progress: %d calls, last %+v", calls, last)
	}
	mu.Unlock()
	h, err := s.HeadManifest(ctx, "p/image", "deps-1")
	if err != nil || h.Digest != want {
		t.Fatalf("HeadManifest = %v, %v", h, err)
	}

	// The same image under another tag uploads no blob bytes.
	reg.ResetCounters()
	if _, err := store.WriteImage(ctx, s, "p/image", "deps-2", img); err != nil {
		t.Fatal(err)
	}
	if got := reg.UploadedBytes(); got != 0 {
		t.Fatalf("second write of the same image uploaded %d bytes, want 0", got)
	}
}

// With no referrers API, a referrer is recorded in the subject's
// sha256-<hex> index, which an independent client (ggcr) can read.
func TestReferrersTagSchemaIndex(t *testing.T) {
	ctx := context.Background()
	reg := storetest.NewRegistry(t)
	s := newStore(t, reg)
	subject, err := store.PutArtifact(ctx, s, "p/dev/task/a", "v1", store.Artifact{ArtifactType: "application/vnd.test.entity"})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := store.PutArtifact(ctx, s, "p/dev/task/a", "", store.Artifact{ArtifactType: "application/vnd.test.promotion", Subject: &subject})
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(reg.Host + "/runway/p/dev/task/a:sha256-" + subject.Digest.Hex)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ggcr.Get(tag)
	if err != nil {
		t.Fatalf("reading the referrers index with ggcr: %v", err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(d.Manifest, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 1 || idx.Manifests[0].Digest != ref.Digest || idx.Manifests[0].ArtifactType != "application/vnd.test.promotion" {
		t.Fatalf("referrers index = %+v", idx)
	}
	// ggcr's own referrers client finds it too.
	got, err := ggcr.Referrers(tag.Context().Digest(subject.Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	im, _ := got.IndexManifest()
	if len(im.Manifests) != 1 {
		t.Fatalf("ggcr.Referrers = %+v", im)
	}
}

// With the referrers API the store writes no index tag of its own… unless
// the registry omits OCI-Subject, as ggcr's in-process registry does; the
// index is then written and hidden from Tags.
func TestReferrersAPIRegistry(t *testing.T) {
	ctx := context.Background()
	reg := storetest.NewRegistry(t, storetest.WithReferrersAPI())
	s := newStore(t, reg)
	subject, err := store.PutArtifact(ctx, s, "p/x", "v1", store.Artifact{ArtifactType: "application/vnd.test.entity"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutArtifact(ctx, s, "p/x", "", store.Artifact{ArtifactType: "application/vnd.test.promotion", Subject: &subject}); err != nil {
		t.Fatal(err)
	}
	reg.ResetCounters()
	got, err := s.Referrers(ctx, "p/x", subject.Digest, "application/vnd.test.promotion")
	if err != nil || len(got) != 1 {
		t.Fatalf("Referrers = %+v, %v", got, err)
	}
	if reg.Requests("GET", storetest.KindReferrers) != 1 {
		t.Fatalf("Referrers did not use the referrers API: %v", reg.Counts())
	}
}
