//go:build adversarial

package remote_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/remote"
)

// Registry faults (issue 16, item 8) that storetest's status faults cannot
// make: a body cut off without a length, a body that trickles, and a
// registry that accepts a blob and then loses it. (429 with Retry-After,
// 500 and refused connections: fault_test.go.)

// front serves go-containerregistry's registry, with a hook that may take
// a request over.
type front struct {
	mu   sync.Mutex
	hook func(w http.ResponseWriter, r *http.Request) bool // true: handled
	reg  http.Handler
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	hook := f.hook
	f.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	f.reg.ServeHTTP(w, r)
}

func newFront(t *testing.T) (*front, *remote.Store) {
	t.Helper()
	f := &front{reg: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	s, err := remote.New(strings.TrimPrefix(srv.URL, "http://")+"/runway", remote.WithInsecure(true),
		remote.WithRetryMax(2), remote.WithRetryWait(time.Millisecond, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return f, s
}

func isBlobGet(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:")
}

// A blob whose body is cut off half way, on a response with no length
// (the connection just closes), reads as a clean EOF at the HTTP layer. It
// must never be taken for the blob.
func TestAdversarialRegistryCutsBodyWithoutLength(t *testing.T) {
	f, s := newFront(t)
	ctx := context.Background()
	payload := bytes.Repeat([]byte("runway "), 10000)
	d := store.Digest(payload)
	if err := s.PutBlob(ctx, "p/data", d, int64(len(payload)), bytes.NewReader(payload)); err != nil {
		t.Fatal(err)
	}
	cuts := 0
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if !isBlobGet(r) {
			return false
		}
		cuts++
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return true
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n")
		buf.Write(payload[:len(payload)/2])
		buf.Flush()
		return true
	}
	b, err := store.ReadBlob(ctx, s, "p/data", d, 1<<20)
	if err == nil {
		t.Fatalf("a blob cut in half was read as %d bytes and accepted", len(b))
	}
	if !errors.Is(err, store.ErrDigestMismatch) && !strings.Contains(err.Error(), "checksum") && !strings.Contains(err.Error(), "EOF") {
		t.Errorf("error does not say what went wrong: %v", err)
	}
	t.Logf("%d cut responses; %v", cuts, err)
}

// A registry that trickles a body (a byte every 100 ms) cannot hold runway
// beyond its context.
func TestAdversarialRegistrySlowBody(t *testing.T) {
	f, s := newFront(t)
	ctx := context.Background()
	payload := bytes.Repeat([]byte("x"), 4096)
	d := store.Digest(payload)
	if err := s.PutBlob(ctx, "p/data", d, int64(len(payload)), bytes.NewReader(payload)); err != nil {
		t.Fatal(err)
	}
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if !isBlobGet(r) {
			return false
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(payload)))
		w.WriteHeader(http.StatusOK)
		fl := w.(http.Flusher)
		for i := range payload {
			if _, err := w.Write(payload[i : i+1]); err != nil {
				return true
			}
			fl.Flush()
			select {
			case <-r.Context().Done():
				return true
			case <-time.After(100 * time.Millisecond):
			}
		}
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	start := time.Now()
	_, err := store.ReadBlob(ctx, s, "p/data", d, 1<<20)
	if err == nil {
		t.Fatal("read a trickled blob within a second")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("a 1 s context took %s to give up on a slow body", took)
	}
	t.Logf("%v after %s", err, time.Since(start).Round(time.Millisecond))
}

// A registry that accepts every blob and then loses it: HEAD and GET say
// BLOB_UNKNOWN, and a manifest naming it is refused MANIFEST_BLOB_UNKNOWN.
// Writing an artifact fails after a bounded number of tries, with an error
// that says the registry does not have the blob, and never reports success.
func TestAdversarialRegistryLosesBlobs(t *testing.T) {
	f, s := newFront(t)
	manifestPuts := 0
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		switch {
		case (r.Method == http.MethodHead || r.Method == http.MethodGet) && strings.Contains(r.URL.Path, "/blobs/sha256:"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			if r.Method == http.MethodGet {
				fmt.Fprint(w, `{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}`)
			}
			return true
		case r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/"):
			manifestPuts++
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry"}]}`)
			return true
		}
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	a := store.Artifact{ArtifactType: "application/vnd.test", Layers: []store.Blob{{MediaType: "application/octet-stream", Data: []byte("lost")}}}
	_, err := store.PutArtifact(ctx, s, "p/dev/task/a", "v1", a)
	if err == nil {
		t.Fatal("an artifact whose blobs the registry lost was reported written")
	}
	if !strings.Contains(strings.ToLower(err.Error()), "unknown") {
		t.Errorf("error does not say the registry does not know the blob: %v", err)
	}
	if took := time.Since(start); took > 30*time.Second || manifestPuts > 10 {
		t.Errorf("gave up after %s and %d manifest PUTs; want a bounded retry", took, manifestPuts)
	}
	t.Logf("%d manifest PUTs in %s: %v", manifestPuts, time.Since(start).Round(time.Millisecond), err)
}
