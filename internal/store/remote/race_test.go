package remote_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/remote"
)

// racingRegistry is go-containerregistry's registry behind a handler that
// answers the first `times` requests matching match with a registry error
// code, as distribution does when another writer of the same blob got in
// the way. With forward, the request still reaches the registry first (the
// other writer's commit landed; ours is refused).
func racingRegistry(t *testing.T, code string, times int32, forward bool, match func(*http.Request) bool) (string, *atomic.Int32) {
	reg := registry.New()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if match(r) && hits.Load() < times {
			hits.Add(1)
			if forward {
				reg.ServeHTTP(httptest.NewRecorder(), r)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"errors":[{"code":"` + code + `","message":"injected race"}]}`))
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), &hits
}

func isBlobCommit(r *http.Request) bool {
	return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/")
}

func isManifestPut(r *http.Request) bool {
	return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/")
}

func TestBlobCommitRaceIsCheckedAndRetried(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	data := []byte("the same layer, uploaded by eight writers at once")
	d := store.Digest(data)

	// Another writer's commit landed: HEAD finds the blob, done.
	host, hits := racingRegistry(t, "DIGEST_INVALID", 1, true, isBlobCommit)
	s, _ := remote.New(host, remote.WithRetryMax(0))
	if err := s.PutBlob(ctx, "p/bundle", d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatalf("PutBlob after a raced commit: %v", err)
	}
	if hits.Load() != 1 {
		t.Fatalf("the race was not injected (%d)", hits.Load())
	}
	if ok, err := s.HasBlob(ctx, "p/bundle", d); err != nil || !ok {
		t.Fatalf("blob missing after PutBlob: %v %v", ok, err)
	}

	// Ours was refused and no one else's landed: upload again.
	host, hits = racingRegistry(t, "DIGEST_INVALID", 2, false, isBlobCommit)
	s, _ = remote.New(host, remote.WithRetryMax(0))
	if err := s.PutBlob(ctx, "p/bundle", d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatalf("PutBlob after two refused commits: %v", err)
	}
	if ok, _ := s.HasBlob(ctx, "p/bundle", d); !ok || hits.Load() != 2 {
		t.Fatalf("blob missing or race not injected (%d)", hits.Load())
	}

	// A race that never ends is bounded and says so.
	host, _ = racingRegistry(t, "DIGEST_INVALID", 1000, false, isBlobCommit)
	s, _ = remote.New(host, remote.WithRetryMax(0))
	err := s.PutBlob(ctx, "p/bundle", d, int64(len(data)), bytes.NewReader(data))
	if err == nil || !strings.Contains(err.Error(), "still racing another writer") || !strings.Contains(err.Error(), "DIGEST_INVALID") {
		t.Fatalf("want a bounded race error, got %v", err)
	}
}

func TestManifestBlobUnknownRaceIsRetried(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	host, hits := racingRegistry(t, "MANIFEST_BLOB_UNKNOWN", 2, false, isManifestPut)
	s, _ := remote.New(host, remote.WithRetryMax(0))
	desc, err := store.PutArtifact(ctx, s, "p/dev/task/a", "v1", store.Artifact{ArtifactType: "application/x-test",
		Layers: []store.Blob{{MediaType: "application/x-test", Data: []byte("x")}}})
	if err != nil {
		t.Fatalf("PutArtifact after two MANIFEST_BLOB_UNKNOWN: %v", err)
	}
	if hits.Load() != 2 {
		t.Fatalf("race not injected (%d)", hits.Load())
	}
	got, err := s.HeadManifest(ctx, "p/dev/task/a", "v1")
	if err != nil || got.Digest != desc.Digest {
		t.Fatalf("manifest not in place: %v %v", got, err)
	}

	// Other refusals are not races: no retry.
	host, hits = racingRegistry(t, "MANIFEST_INVALID", 1000, false, isManifestPut)
	s, _ = remote.New(host, remote.WithRetryMax(0))
	if _, err := store.PutArtifact(ctx, s, "p/dev/task/a", "v1", store.Artifact{ArtifactType: "application/x-test"}); err == nil {
		t.Fatal("MANIFEST_INVALID accepted")
	}
	if hits.Load() != 1 {
		t.Fatalf("a MANIFEST_INVALID was retried (%d attempts)", hits.Load())
	}
}
