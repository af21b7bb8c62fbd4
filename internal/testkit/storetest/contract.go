package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/store"
)

// Run checks that the stores newStore makes meet the store.Store contract.
// newStore is called once per subtest and must return an empty store.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Blobs", testBlobs},
		{"BlobDigestMismatch", testBlobDigestMismatch},
		{"MountBlob", testMountBlob},
		{"ManifestByTagAndDigest", testManifestByTagAndDigest},
		{"ArtifactRoundTrip", testArtifactRoundTrip},
		{"TagMove", testTagMove},
		{"DeleteTag", testDeleteTag},
		{"TagsAndRepositories", testTagsAndRepositories},
		{"NotFound", testNotFound},
		{"Referrers", testReferrers},
		{"Lock", testLock},
		{"ConcurrentSameDigest", testConcurrentSameDigest},
		{"ConcurrentDistinctTags", testConcurrentDistinctTags},
		{"InvalidInput", testInvalidInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: got error %v, want one wrapping store.ErrNotFound", what, err)
	}
}

func artifact(kind, payload string) store.Artifact {
	return store.Artifact{
		ArtifactType: "application/vnd.runway.test." + kind + "+json",
		Layers:       []store.Blob{{MediaType: "application/vnd.runway.test.layer+json", Data: []byte(payload)}},
		Annotations:  map[string]string{"test": payload},
	}
}

func testBlobs(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	data := []byte("hello blob")
	d := store.Digest(data)
	if ok, err := s.HasBlob(ctx, "p/blobs", d); err != nil || ok {
		t.Fatalf("HasBlob before put = %v, %v; want false, nil", ok, err)
	}
	for i := 0; i < 2; i++ { // the second put is a no-op
		if err := s.PutBlob(ctx, "p/blobs", d, int64(len(data)), bytes.NewReader(data)); err != nil {
			t.Fatalf("PutBlob #%d: %v", i+1, err)
		}
	}
	if ok, err := s.HasBlob(ctx, "p/blobs", d); err != nil || !ok {
		t.Fatalf("HasBlob after put = %v, %v; want true, nil", ok, err)
	}
	got, err := store.ReadBlob(ctx, s, "p/blobs", d, 1<<20)
	if err != nil {
		t.Fatalf("ReadBlob: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("ReadBlob = %q, want %q", got, data)
	}
	// Unknown size.
	other := []byte("size unknown")
	if err := s.PutBlob(ctx, "p/blobs", store.Digest(other), -1, bytes.NewReader(other)); err != nil {
		t.Fatalf("PutBlob with size -1: %v", err)
	}
	if got, err := store.ReadBlob(ctx, s, "p/blobs", store.Digest(other), 1<<20); err != nil || !bytes.Equal(got, other) {
		t.Fatalf("ReadBlob of size -1 blob = %q, %v", got, err)
	}
	// A non-seekable reader works for a first upload.
	third := []byte("not seekable")
	if err := s.PutBlob(ctx, "p/blobs", store.Digest(third), int64(len(third)), io.MultiReader(bytes.NewReader(third))); err != nil {
		t.Fatalf("PutBlob with a plain io.Reader: %v", err)
	}
}

func testBlobDigestMismatch(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	claimed := store.Digest([]byte("what the caller claims"))
	err := s.PutBlob(ctx, "p/blobs", claimed, -1, bytes.NewReader([]byte("other bytes")))
	if err == nil {
		t.Fatal("PutBlob with content that does not match its digest succeeded")
	}
	if ok, err := s.HasBlob(ctx, "p/blobs", claimed); err != nil || ok {
		t.Fatalf("HasBlob after a refused put = %v, %v; want false, nil", ok, err)
	}
}

func testMountBlob(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	data := []byte("mount me")
	d := store.Digest(data)
	if err := store.PutBlobBytes(ctx, s, "p/dev/a", data); err != nil {
		t.Fatal(err)
	}
	if err := s.MountBlob(ctx, "p/dev/a", "p/prod/a", d); err != nil {
		t.Fatalf("MountBlob: %v", err)
	}
	if err := s.MountBlob(ctx, "p/dev/a", "p/prod/a", d); err != nil {
		t.Fatalf("MountBlob again: %v", err)
	}
	if ok, err := s.HasBlob(ctx, "p/prod/a", d); err != nil || !ok {
		t.Fatalf("HasBlob in the mount target = %v, %v", ok, err)
	}
	got, err := store.ReadBlob(ctx, s, "p/prod/a", d, 1<<20)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadBlob in the mount target = %q, %v", got, err)
	}
	missing := store.Digest([]byte("never written"))
	mustNotFound(t, "MountBlob of a missing blob", s.MountBlob(ctx, "p/dev/a", "p/prod/a", missing))
}

func testManifestByTagAndDigest(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	desc, err := store.PutArtifact(ctx, s, "p/dev/task/a", "v1", artifact("entity", "one"))
	if err != nil {
		t.Fatalf("PutArtifact: %v", err)
	}
	if desc.MediaType != store.MediaTypeOCIManifest || desc.Size <= 0 || desc.Digest.Hex == "" {
		t.Fatalf("PutArtifact descriptor = %+v", desc)
	}
	byTag, d1, err := s.GetManifest(ctx, "p/dev/task/a", "v1")
	if err != nil {
		t.Fatalf("GetManifest by tag: %v", err)
	}
	byDigest, d2, err := s.GetManifest(ctx, "p/dev/task/a", desc.Digest.String())
	if err != nil {
		t.Fatalf("GetManifest by digest: %v", err)
	}
	if !bytes.Equal(byTag, byDigest) || store.Digest(byTag) != desc.Digest {
		t.Fatalf("manifest by tag and by digest differ or do not hash to %s", desc.Digest)
	}
	for name, d := range map[string]v1.Descriptor{"by tag": d1, "by digest": d2} {
		if d.Digest != desc.Digest || d.Size != desc.Size || d.MediaType != desc.MediaType {
			t.Errorf("GetManifest %s descriptor = %+v, want %+v", name, d, desc)
		}
	}
	for _, ref := range []string{"v1", desc.Digest.String()} {
		h, err := s.HeadManifest(ctx, "p/dev/task/a", ref)
		if err != nil {
			t.Fatalf("HeadManifest %s: %v", ref, err)
		}
		if h.Digest != desc.Digest || h.Size != desc.Size || h.MediaType != desc.MediaType {
			t.Errorf("HeadManifest %s = %+v, want %+v", ref, h, desc)
		}
	}
	// Putting the same manifest again under the same tag is a no-op success.
	again, err := store.PutArtifact(ctx, s, "p/dev/task/a", "v1", artifact("entity", "one"))
	if err != nil || again.Digest != desc.Digest {
		t.Fatalf("PutArtifact again = %v, %v", again, err)
	}
	// A manifest put by digest only is readable by digest and adds no tag.
	untagged, err := store.PutArtifact(ctx, s, "p/dev/task/a", "", artifact("entity", "untagged"))
	if err != nil {
		t.Fatalf("PutArtifact without tag: %v", err)
	}
	if _, _, err := s.GetManifest(ctx, "p/dev/task/a", untagged.Digest.String()); err != nil {
		t.Fatalf("GetManifest of untagged manifest: %v", err)
	}
	tags, err := s.Tags(ctx, "p/dev/task/a")
	if err != nil || fmt.Sprint(tags) != "[v1]" {
		t.Fatalf("Tags = %v, %v; want [v1]", tags, err)
	}
}

func testArtifactRoundTrip(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	a := store.Artifact{
		ArtifactType: "application/vnd.runway.entity.v1+json",
		Layers: []store.Blob{
			{MediaType: "application/vnd.runway.entity.v1+json", Data: []byte(`{"name":"prepare"}`), Annotations: map[string]string{"k": "v"}},
			{MediaType: "application/octet-stream", Data: bytes.Repeat([]byte{0, 1, 2, 3}, 1000)},
		},
		Annotations: map[string]string{store.AnnotationRevision: "abc"},
	}
	desc, err := store.PutArtifact(ctx, s, "p/dev/task/prepare", "0123456789012345678901234567890123456789", a)
	if err != nil {
		t.Fatalf("PutArtifact: %v", err)
	}
	m, got, err := store.GetArtifact(ctx, s, "p/dev/task/prepare", "0123456789012345678901234567890123456789")
	if err != nil {
		t.Fatalf("GetArtifact: %v", err)
	}
	if got.Digest != desc.Digest {
		t.Fatalf("GetArtifact digest %s, PutArtifact said %s", got.Digest, desc.Digest)
	}
	if m.ArtifactType != a.ArtifactType || m.Annotations[store.AnnotationRevision] != "abc" || len(m.Layers) != 2 {
		t.Fatalf("GetArtifact manifest = %+v", m)
	}
	if m.Layers[0].Annotations["k"] != "v" {
		t.Errorf("layer annotations lost: %+v", m.Layers[0])
	}
	for i, l := range m.Layers {
		b, err := store.ReadBlob(ctx, s, "p/dev/task/prepare", l.Digest, 1<<20)
		if err != nil {
			t.Fatalf("ReadBlob layer %d: %v", i, err)
		}
		if !bytes.Equal(b, a.Layers[i].Data) {
			t.Errorf("layer %d bytes differ", i)
		}
	}
}

func testTagMove(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	repo := "p/dev/launchplan/nightly"
	first, err := store.PutArtifact(ctx, s, repo, store.ActiveTag, artifact("lp", "first"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := store.PutArtifact(ctx, s, repo, store.ActiveTag, artifact("lp", "second"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.HeadManifest(ctx, repo, store.ActiveTag)
	if err != nil || h.Digest != second.Digest {
		t.Fatalf("after the move the tag points at %v (%v), want %s", h.Digest, err, second.Digest)
	}
	if _, _, err := s.GetManifest(ctx, repo, first.Digest.String()); err != nil {
		t.Fatalf("the manifest the tag moved away from is no longer readable by digest: %v", err)
	}
	tags, err := s.Tags(ctx, repo)
	if err != nil || fmt.Sprint(tags) != "[active]" {
		t.Fatalf("Tags = %v, %v; want [active]", tags, err)
	}
}

func testDeleteTag(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	repo := "p/dev/task/a"
	desc, err := store.PutArtifact(ctx, s, repo, "v1", artifact("entity", "x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutArtifact(ctx, s, repo, "v2", artifact("entity", "x")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTag(ctx, repo, "v1"); err != nil {
		t.Fatalf("DeleteTag: %v", err)
	}
	_, _, err = s.GetManifest(ctx, repo, "v1")
	mustNotFound(t, "GetManifest of a deleted tag", err)
	if _, _, err := s.GetManifest(ctx, repo, desc.Digest.String()); err != nil {
		t.Fatalf("the manifest is gone by digest after DeleteTag: %v", err)
	}
	if _, _, err := s.GetManifest(ctx, repo, "v2"); err != nil {
		t.Fatalf("another tag of the same manifest is gone: %v", err)
	}
	tags, err := s.Tags(ctx, repo)
	if err != nil || fmt.Sprint(tags) != "[v2]" {
		t.Fatalf("Tags = %v, %v; want [v2]", tags, err)
	}
	mustNotFound(t, "DeleteTag of a missing tag", s.DeleteTag(ctx, repo, "nope"))
}

func testTagsAndRepositories(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	puts := []struct{ repo, tag string }{
		{"p/dev/task/b", "v2"}, {"p/dev/task/b", "v1"}, {"p/dev/task/a", "v1"},
		{"p/prod/task/a", "v1"}, {"q/bundle", "sha256-0123"}, {"p/dev/task/b", "v10"},
	}
	for i, p := range puts {
		if _, err := store.PutArtifact(ctx, s, p.repo, p.tag, artifact("e", fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	tags, err := s.Tags(ctx, "p/dev/task/b")
	if err != nil || fmt.Sprint(tags) != "[v1 v10 v2]" {
		t.Errorf("Tags = %v, %v; want [v1 v10 v2]", tags, err)
	}
	tags, err = s.Tags(ctx, "p/dev/task/missing")
	if err != nil || len(tags) != 0 {
		t.Errorf("Tags of a missing repository = %v, %v; want none, nil", tags, err)
	}
	for _, tc := range []struct{ prefix, want string }{
		{"p/dev/", "[p/dev/task/a p/dev/task/b]"},
		{"p/", "[p/dev/task/a p/dev/task/b p/prod/task/a]"},
		{"", "[p/dev/task/a p/dev/task/b p/prod/task/a q/bundle]"},
		{"z/", "[]"},
	} {
		repos, err := s.Repositories(ctx, tc.prefix)
		if err != nil || fmt.Sprint(repos) != tc.want {
			t.Errorf("Repositories(%q) = %v, %v; want %s", tc.prefix, repos, err, tc.want)
		}
	}
}

func testNotFound(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	missing := store.Digest([]byte("missing"))
	_, _, err := s.GetManifest(ctx, "p/none", "v1")
	mustNotFound(t, "GetManifest in a missing repository", err)
	if _, err := store.PutArtifact(ctx, s, "p/some", "v1", artifact("e", "1")); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.GetManifest(ctx, "p/some", "v2")
	mustNotFound(t, "GetManifest of a missing tag", err)
	_, _, err = s.GetManifest(ctx, "p/some", missing.String())
	mustNotFound(t, "GetManifest of a missing digest", err)
	_, err = s.HeadManifest(ctx, "p/some", "v2")
	mustNotFound(t, "HeadManifest of a missing tag", err)
	_, err = s.HeadManifest(ctx, "p/none", missing.String())
	mustNotFound(t, "HeadManifest of a missing digest", err)
	_, err = store.ReadBlob(ctx, s, "p/some", missing, 10)
	mustNotFound(t, "ReadBlob of a missing blob", err)
	mustNotFound(t, "DeleteTag in a missing repository", s.DeleteTag(ctx, "p/none", "v1"))
}

func testReferrers(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	repo := "p/dev/task/a"
	subject, err := store.PutArtifact(ctx, s, repo, "v1", artifact("entity", "subject"))
	if err != nil {
		t.Fatal(err)
	}
	const promo, sig = "application/vnd.runway.promotion.v1+json", "application/vnd.runway.signature.v1+json"
	var want []v1.Hash
	for i, at := range []string{promo, promo, sig} {
		a := store.Artifact{
			ArtifactType: at,
			Layers:       []store.Blob{{MediaType: "application/json", Data: []byte(fmt.Sprintf(`{"n":%d}`, i))}},
			Subject:      &subject,
			Annotations:  map[string]string{"org.example.n": fmt.Sprint(i)},
		}
		d, err := store.PutArtifact(ctx, s, repo, "", a)
		if err != nil {
			t.Fatalf("PutArtifact referrer %d: %v", i, err)
		}
		want = append(want, d.Digest)
	}
	all, err := s.Referrers(ctx, repo, subject.Digest, "")
	if err != nil {
		t.Fatalf("Referrers: %v", err)
	}
	if len(all) != 3 {
		t.Fatalf("Referrers = %d descriptors %+v, want 3", len(all), all)
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].Digest.String() >= all[i].Digest.String() {
			t.Errorf("Referrers not sorted by digest: %v", all)
		}
	}
	byDigest := map[v1.Hash]v1.Descriptor{}
	for _, d := range all {
		byDigest[d.Digest] = d
	}
	for i, d := range want {
		got, ok := byDigest[d]
		if !ok {
			t.Errorf("referrer %d (%s) missing", i, d)
			continue
		}
		if got.Annotations["org.example.n"] != fmt.Sprint(i) {
			t.Errorf("referrer %d annotations = %v", i, got.Annotations)
		}
		if got.MediaType != store.MediaTypeOCIManifest || got.Size <= 0 {
			t.Errorf("referrer %d descriptor = %+v", i, got)
		}
	}
	promos, err := s.Referrers(ctx, repo, subject.Digest, promo)
	if err != nil || len(promos) != 2 {
		t.Fatalf("Referrers(%s) = %+v, %v; want 2", promo, promos, err)
	}
	for _, d := range promos {
		if d.ArtifactType != promo {
			t.Errorf("filtered referrer has artifactType %q", d.ArtifactType)
		}
	}
	none, err := s.Referrers(ctx, repo, store.Digest([]byte("no referrers")), "")
	if err != nil || len(none) != 0 {
		t.Fatalf("Referrers of a digest without referrers = %+v, %v", none, err)
	}
	// Referrers bookkeeping never shows up as a tag.
	tags, err := s.Tags(ctx, repo)
	if err != nil || fmt.Sprint(tags) != "[v1]" {
		t.Fatalf("Tags = %v, %v; want [v1]", tags, err)
	}
	// Putting a referrer twice does not list it twice.
	again := store.Artifact{ArtifactType: sig, Layers: []store.Blob{{MediaType: "application/json", Data: []byte(`{"n":2}`)}}, Subject: &subject, Annotations: map[string]string{"org.example.n": "2"}}
	if _, err := store.PutArtifact(ctx, s, repo, "", again); err != nil {
		t.Fatal(err)
	}
	if all, err := s.Referrers(ctx, repo, subject.Digest, ""); err != nil || len(all) != 3 {
		t.Fatalf("after a repeated put, Referrers = %d, %v; want 3", len(all), err)
	}
}

func testLock(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	var inside, maxInside, total atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := s.Lock(ctx, "p/dev/launchplan/nightly:active")
			if err != nil {
				errs <- err
				return
			}
			n := inside.Add(1)
			for {
				m := maxInside.Load()
				if n <= m || maxInside.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(2 * time.Millisecond)
			total.Add(1)
			inside.Add(-1)
			unlock()
			unlock() // a second call is harmless
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Lock: %v", err)
	}
	if maxInside.Load() != 1 || total.Load() != 16 {
		t.Fatalf("%d holders at once (want 1), %d done (want 16)", maxInside.Load(), total.Load())
	}

	// A held lock blocks the same key until ctx ends, not another key.
	unlock, err := s.Lock(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.Lock(ctx, "b")
	if err != nil {
		t.Fatalf("Lock of another key while one is held: %v", err)
	}
	other()
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if u, err := s.Lock(short, "a"); err == nil {
		u()
		t.Fatal("Lock of a held key succeeded")
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock of a held key failed with %v, want context.DeadlineExceeded", err)
	}
	unlock()
	u, err := s.Lock(ctx, "a")
	if err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
	u()
}

func testConcurrentSameDigest(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	a := artifact("entity", "same bytes from every writer")
	var wg sync.WaitGroup
	digests := make([]v1.Hash, 8)
	errs := make([]error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := store.PutArtifact(ctx, s, "p/dev/cache", "key", a)
			digests[i], errs[i] = d.Digest, err
		}()
	}
	wg.Wait()
	for i := range 8 {
		if errs[i] != nil {
			t.Fatalf("writer %d: %v", i, errs[i])
		}
		if digests[i] != digests[0] {
			t.Fatalf("writer %d got digest %s, writer 0 got %s", i, digests[i], digests[0])
		}
	}
	m, _, err := store.GetArtifact(ctx, s, "p/dev/cache", "key")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := store.ReadBlob(ctx, s, "p/dev/cache", m.Layers[0].Digest, 1<<20); err != nil || string(b) != "same bytes from every writer" {
		t.Fatalf("ReadBlob = %q, %v", b, err)
	}
}

func testConcurrentDistinctTags(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := store.PutArtifact(ctx, s, "p/dev/execution", fmt.Sprintf("run-%02d", i), artifact("exec", fmt.Sprint(i))); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	tags, err := s.Tags(ctx, "p/dev/execution")
	if err != nil || len(tags) != n {
		t.Fatalf("after %d concurrent tagged writes Tags has %d (%v): %v", n, len(tags), err, tags)
	}
}

func testInvalidInput(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	good := store.Digest([]byte("x"))
	raw, err := store.BuildManifest(artifact("e", "x"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  func() error
	}{
		{"uppercase repository", func() error { _, err := s.Tags(ctx, "P/Dev"); return err }},
		{"empty repository", func() error { _, _, err := s.GetManifest(ctx, "", "v1"); return err }},
		{"bad tag", func() error { _, _, err := s.GetManifest(ctx, "p/x", "bad tag!"); return err }},
		{"bad digest reference", func() error { _, err := s.HeadManifest(ctx, "p/x", "sha256:xyz"); return err }},
		{"bad digest", func() error {
			return s.PutBlob(ctx, "p/x", v1.Hash{Algorithm: "sha256", Hex: "zz"}, 1, bytes.NewReader([]byte("x")))
		}},
		{"bad repository for blob", func() error { return s.PutBlob(ctx, "p/X!", good, 1, bytes.NewReader([]byte("x"))) }},
		{"manifest that is not JSON", func() error {
			_, err := s.PutManifest(ctx, "p/x", "v1", store.MediaTypeOCIManifest, []byte("not json"))
			return err
		}},
		{"manifest media type disagrees", func() error {
			_, err := s.PutManifest(ctx, "p/x", "v1", store.MediaTypeOCIIndex, raw)
			return err
		}},
		{"empty media type", func() error { _, err := s.PutManifest(ctx, "p/x", "v1", "", raw); return err }},
		{"bad tag on put", func() error { _, err := s.PutManifest(ctx, "p/x", "v 1", store.MediaTypeOCIManifest, raw); return err }},
		{"bad tag on delete", func() error { return s.DeleteTag(ctx, "p/x", "") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
		})
	}
}
