package testenv

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Registry is go-containerregistry's in-process registry behind a handler
// that counts what clients send to it.
type Registry struct {
	// Host is "127.0.0.1:PORT", the registry part of references.
	Host string
	// URL is "http://127.0.0.1:PORT".
	URL string

	mu    sync.Mutex
	stats Stats
}

// Stats counts requests a registry received.
type Stats struct {
	// BlobBytes is the number of request body bytes sent to blob upload
	// endpoints (POST/PATCH/PUT under /blobs/uploads/): the bytes of
	// layers and configs uploaded.
	BlobBytes int64
	// BlobUploads is the number of finished blob uploads (PUT with a digest).
	BlobUploads int
	// Mounts is the number of cross-repository mount requests.
	Mounts int
	// ManifestBytes and ManifestPuts count manifests written.
	ManifestBytes int64
	ManifestPuts  int
	// Requests counts requests by method.
	Requests map[string]int
}

// Uploaded is every byte written: blobs plus manifests.
func (s Stats) Uploaded() int64 { return s.BlobBytes + s.ManifestBytes }

// NewRegistry starts an in-process registry for the test and stops it at
// the end.
func NewRegistry(tb testing.TB) *Registry {
	tb.Helper()
	r := &Registry{}
	r.stats.Requests = map[string]int{}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.count(req)
		inner.ServeHTTP(w, req)
	}))
	tb.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		tb.Fatalf("parsing test registry URL %q: %v", srv.URL, err)
	}
	r.Host, r.URL = u.Host, srv.URL
	return r
}

func (r *Registry) count(req *http.Request) {
	body := &countingBody{ReadCloser: req.Body}
	req.Body = body
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Requests[req.Method]++
	p := req.URL.Path
	switch {
	case strings.Contains(p, "/blobs/uploads/"):
		if req.Method == http.MethodPost && req.URL.Query().Get("mount") != "" {
			r.stats.Mounts++
		}
		if req.Method == http.MethodPut && req.URL.Query().Get("digest") != "" {
			r.stats.BlobUploads++
		}
		body.add = func(n int64) { r.mu.Lock(); r.stats.BlobBytes += n; r.mu.Unlock() }
	case strings.Contains(p, "/manifests/") && req.Method == http.MethodPut:
		r.stats.ManifestPuts++
		body.add = func(n int64) { r.mu.Lock(); r.stats.ManifestBytes += n; r.mu.Unlock() }
	}
}

// Stats returns a snapshot of the counters.
func (r *Registry) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Requests = make(map[string]int, len(r.stats.Requests))
	for k, v := range r.stats.Requests {
		s.Requests[k] = v
	}
	return s
}

// Reset zeroes the counters.
func (r *Registry) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats = Stats{Requests: map[string]int{}}
}

type countingBody struct {
	io.ReadCloser
	add func(int64)
}

func (c *countingBody) Read(p []byte) (int, error) {
	if c.ReadCloser == nil {
		return 0, io.EOF
	}
	n, err := c.ReadCloser.Read(p)
	if c.add != nil && n > 0 {
		c.add(int64(n))
	}
	return n, err
}
