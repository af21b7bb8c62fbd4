// Package httprec records the requests a real server receives, for tests
// that check what runway puts on the wire (its User-Agent) without touching
// the server: Serve puts a recorder in front of an http.Handler (the
// in-process registry), Proxy in front of a running server (the GitHub
// fake).
package httprec

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
)

// Request is what the recorder keeps of one request.
type Request struct {
	Method, Path, UserAgent string
}

// Recorder is a test server that records each request, then hands it on.
type Recorder struct {
	URL  string // http://127.0.0.1:PORT
	Host string // 127.0.0.1:PORT

	mu   sync.Mutex
	reqs []Request
	next http.Handler
}

// Serve starts a recorder in front of h; it stops when the test ends.
func Serve(t testing.TB, h http.Handler) *Recorder {
	t.Helper()
	r := &Recorder{next: h}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	r.Host = srv.Listener.Addr().String()
	return r
}

// Proxy starts a recorder that forwards to the server at target.
func Proxy(t testing.TB, target string) *Recorder {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("httprec: parsing %q: %v", target, err)
	}
	p := httputil.NewSingleHostReverseProxy(u)
	return Serve(t, p)
}

func (r *Recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.reqs = append(r.reqs, Request{Method: req.Method, Path: req.URL.Path, UserAgent: req.Header.Get("User-Agent")})
	r.mu.Unlock()
	r.next.ServeHTTP(w, req)
}

// Requests returns the requests received so far.
func (r *Recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}
