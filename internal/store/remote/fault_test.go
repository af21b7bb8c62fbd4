package remote_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/storetest"
)

// newStore keeps backoff short so fault tests run in milliseconds.
func newStore(t *testing.T, reg *storetest.Registry, opts ...remote.Option) *remote.Store {
	t.Helper()
	opts = append([]remote.Option{remote.WithRetryWait(time.Millisecond, 5*time.Millisecond)}, opts...)
	s, err := remote.New(reg.Host+"/runway", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRetryThenSucceed(t *testing.T) {
	tests := []struct {
		name  string
		match func(*http.Request) bool
	}{
		{"manifest put", storetest.MatchKind(http.MethodPut, storetest.KindManifest)},
		{"blob upload body", storetest.MatchKind(http.MethodPatch, storetest.KindUpload)},
		{"blob upload start", storetest.MatchKind(http.MethodPost, storetest.KindUpload)},
		{"blob existence check", storetest.MatchKind(http.MethodHead, storetest.KindBlob)},
		{"ping", storetest.MatchKind(http.MethodGet, storetest.KindPing)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			reg := storetest.NewRegistry(t)
			s := newStore(t, reg, remote.WithRetryMax(3))
			f := reg.Inject(storetest.Fault{Match: tc.match, Status: http.StatusInternalServerError, Times: 1})
			payload := bytes.Repeat([]byte("x"), 4096)
			a := store.Artifact{ArtifactType: "application/vnd.test", Layers: []store.Blob{{MediaType: "application/octet-stream", Data: payload}}}
			desc, err := store.PutArtifact(ctx, s, "p/dev/task/a", "v1", a)
			if err != nil {
				t.Fatalf("PutArtifact after one 500: %v", err)
			}
			if f.Hits() != 1 {
				t.Fatalf("fault hit %d times, want 1", f.Hits())
			}
			m, got, err := store.GetArtifact(ctx, s, "p/dev/task/a", "v1")
			if err != nil || got.Digest != desc.Digest {
				t.Fatalf("GetArtifact = %v, %v", got, err)
			}
			b, err := store.ReadBlob(ctx, s, "p/dev/task/a", m.Layers[0].Digest, 1<<20)
			if err != nil || !bytes.Equal(b, payload) {
				t.Fatalf("layer read back wrong: %v", err)
			}
		})
	}
}

func TestPersistent500NamesWhatWasWritten(t *testing.T) {
	ctx := context.Background()
	reg := storetest.NewRegistry(t)
	s := newStore(t, reg, remote.WithRetryMax(2))
	f := reg.Inject(storetest.Fault{Match: storetest.MatchKind(http.MethodPut, storetest.KindManifest), Status: http.StatusInternalServerError, Times: -1})
	_, err := store.PutArtifact(ctx, s, "p/dev/task/a", "v1", store.Artifact{ArtifactType: "application/vnd.test"})
	if err == nil {
		t.Fatal("PutArtifact against a registry that always fails succeeded")
	}
	t.Log(err)
	for _, want := range []string{"p/dev/task/a:v1", "sha256:", "500", "3 attempt"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if f.Hits() != 3 {
		t.Errorf("registry saw %d attempts, want 3 (RetryMax 2)", f.Hits())
	}

	// Blob uploads too.
	reg.ClearFaults()
	reg.Inject(storetest.Fault{Match: storetest.MatchKind(http.MethodPatch, storetest.KindUpload), Status: http.StatusBadGateway, Times: -1})
	data := []byte("layer bytes")
	err = s.PutBlob(ctx, "p/bundle", store.Digest(data), int64(len(data)), bytes.NewReader(data))
	if err == nil {
		t.Fatal("PutBlob against a failing registry succeeded")
	}
	t.Log(err)
	for _, want := range []string{"p/bundle", store.Digest(data).String(), "502"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestAttemptsBounded(t *testing.T) {
	tests := []struct{ retryMax, want int }{{0, 1}, {1, 2}, {4, 5}}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.retryMax), func(t *testing.T) {
			reg := storetest.NewRegistry(t)
			s := newStore(t, reg, remote.WithRetryMax(tc.retryMax))
			f := reg.Inject(storetest.Fault{Match: storetest.MatchKind(http.MethodHead, storetest.KindManifest), Status: http.StatusServiceUnavailable, Times: -1})
			_, err := s.HeadManifest(context.Background(), "p/x", "v1")
			if err == nil || errors.Is(err, store.ErrNotFound) {
				t.Fatalf("HeadManifest = %v, want a 503 error", err)
			}
			if f.Hits() != tc.want {
				t.Fatalf("%d attempts, want %d", f.Hits(), tc.want)
			}
		})
	}
}

func TestNoRetryOnClientErrorsOr501(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotImplemented} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			reg := storetest.NewRegistry(t)
			s := newStore(t, reg, remote.WithRetryMax(3))
			f := reg.Inject(storetest.Fault{Match: storetest.MatchKind(http.MethodGet, storetest.KindManifest), Status: status, Times: -1})
			if _, _, err := s.GetManifest(context.Background(), "p/x", "v1"); err == nil {
				t.Fatal("GetManifest succeeded")
			}
			if f.Hits() != 1 {
				t.Fatalf("%d attempts for status %d, want 1", f.Hits(), status)
			}
		})
	}
}

func TestRetryAfterHonouredAndCapped(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string
		cap        time.Duration
		min, max   time.Duration
	}{
		{"seconds honoured", "1", 10 * time.Second, 900 * time.Millisecond, 8 * time.Second},
		{"seconds capped", "120", 300 * time.Millisecond, 250 * time.Millisecond, 5 * time.Second},
		{"http date capped", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), 300 * time.Millisecond, 250 * time.Millisecond, 5 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := storetest.NewRegistry(t)
			s := newStore(t, reg, remote.WithRetryMax(2), remote.WithMaxRetryAfter(tc.cap))
			ctx := context.Background()
			if _, err := store.PutArtifact(ctx, s, "p/x", "v1", store.Artifact{ArtifactType: "application/vnd.test"}); err != nil {
				t.Fatal(err)
			}
			f := reg.Inject(storetest.Fault{Match: storetest.MatchKind(http.MethodGet, storetest.KindManifest), Status: http.StatusTooManyRequests, RetryAfter: tc.retryAfter, Times: 1})
			start := time.Now()
			if _, _, err := s.GetManifest(ctx, "p/x", "v1"); err != nil {
				t.Fatalf("GetManifest after a 429: %v", err)
			}
			el := time.Since(start)
			if f.Hits() != 1 {
				t.Fatalf("fault hit %d times", f.Hits())
			}
			if el < tc.min || el > tc.max {
				t.Fatalf("waited %s, want between %s and %s", el, tc.min, tc.max)
			}
		})
	}
}

// A blob body is replayed from the start on a retry when the reader seeks,
// and a plain reader fails with an error that says why.
func TestUploadBodyRewind(t *testing.T) {
	ctx := context.Background()
	reg := storetest.NewRegistry(t)
	s := newStore(t, reg, remote.WithRetryMax(2))
	data := bytes.Repeat([]byte("0123456789"), 10000)
	reg.Inject(storetest.Fault{Match: storetest.MatchKind(http.MethodPatch, storetest.KindUpload), Status: http.StatusInternalServerError, Times: 1})
	if err := s.PutBlob(ctx, "p/bundle", store.Digest(data), int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatalf("PutBlob with a retried PATCH: %v", err)
	}
	if got := reg.UploadedBytes(); got != int64(len(data)) {
		t.Errorf("registry received %d upload bytes, want %d", got, len(data))
	}
	got, err := store.ReadBlob(ctx, s, "p/bundle", store.Digest(data), 1<<20)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadBlob after retried upload: %v", err)
	}

	other := bytes.Repeat([]byte("abc"), 1000)
	reg.Inject(storetest.Fault{Match: storetest.MatchKind(http.MethodPatch, storetest.KindUpload), Status: http.StatusInternalServerError, Times: 1})
	err = s.PutBlob(ctx, "p/bundle", store.Digest(other), int64(len(other)), io.MultiReader(bytes.NewReader(other)))
	if err == nil || !strings.Contains(err.Error(), "io.Seeker") {
		t.Fatalf("PutBlob of a non-seekable reader with a failed PATCH = %v, want an error about rewinding", err)
	}
	t.Log(err)
}

func TestConnectionErrorsRetriedAndBounded(t *testing.T) {
	// Nothing listens on port 1.
	s, err := remote.New("127.0.0.1:1/runway", remote.WithRetryMax(2), remote.WithRetryWait(time.Millisecond, 2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.HasBlob(context.Background(), "p/x", store.Digest([]byte("x")))
	if err == nil {
		t.Fatal("HasBlob against a closed port succeeded")
	}
	if !strings.Contains(err.Error(), "attempt") {
		t.Errorf("error %q does not say attempts were made", err)
	}
	t.Log(err)
}
