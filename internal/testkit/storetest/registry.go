package storetest

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Kind classifies a registry request by its path.
type Kind string

// Request kinds, from the OCI distribution spec's endpoints.
const (
	KindPing      Kind = "ping"      // /v2/
	KindBlob      Kind = "blob"      // /v2/<repo>/blobs/<digest>
	KindUpload    Kind = "upload"    // /v2/<repo>/blobs/uploads/...
	KindManifest  Kind = "manifest"  // /v2/<repo>/manifests/<ref>
	KindTags      Kind = "tags"      // /v2/<repo>/tags/list
	KindCatalog   Kind = "catalog"   // /v2/_catalog
	KindReferrers Kind = "referrers" // /v2/<repo>/referrers/<digest>
	KindOther     Kind = "other"
)

// Classify returns the kind of a registry request.
func Classify(r *http.Request) Kind {
	p := strings.TrimSuffix(r.URL.Path, "/")
	el := strings.Split(strings.TrimPrefix(p, "/"), "/")
	switch {
	case p == "/v2":
		return KindPing
	case len(el) >= 2 && el[len(el)-1] == "_catalog":
		return KindCatalog
	case strings.Contains(p, "/blobs/uploads"):
		return KindUpload
	case len(el) >= 4 && el[len(el)-2] == "blobs":
		return KindBlob
	case len(el) >= 4 && el[len(el)-2] == "manifests":
		return KindManifest
	case len(el) >= 4 && el[len(el)-2] == "tags":
		return KindTags
	case len(el) >= 4 && el[len(el)-2] == "referrers":
		return KindReferrers
	}
	return KindOther
}

// Registry is an in-process OCI registry for tests. Its fields are set by
// NewRegistry; its methods are safe for concurrent use.
type Registry struct {
	// Host is "127.0.0.1:PORT": the spec for remote.New and store Open
	// (append "/PREFIX" for a prefix). Plain HTTP is chosen for it
	// automatically.
	Host string
	// URL is "http://127.0.0.1:PORT".
	URL string

	handler  http.Handler
	mu       sync.Mutex
	counts   map[string]int // "METHOD kind"
	total    int
	uploaded atomic.Int64
	faults   []*Fault
}

type registryConfig struct {
	referrers bool
	logf      func(format string, args ...any)
}

// RegistryOption configures NewRegistry.
type RegistryOption func(*registryConfig)

// WithReferrersAPI turns on the registry's OCI 1.1 referrers API. Without
// it the registry behaves like distribution 2.8 and clients fall back to
// the referrers tag schema.
func WithReferrersAPI() RegistryOption {
	return func(c *registryConfig) { c.referrers = true }
}

// WithRequestLog logs every request through t.Logf (quiet by default).
func WithRequestLog(t testing.TB) RegistryOption {
	return func(c *registryConfig) { c.logf = t.Logf }
}

// NewRegistry starts a registry that stops when the test ends.
func NewRegistry(t testing.TB, opts ...RegistryOption) *Registry {
	t.Helper()
	var cfg registryConfig
	for _, o := range opts {
		o(&cfg)
	}
	logger := log.New(io.Discard, "", 0)
	if cfg.logf != nil {
		logger = log.New(logfWriter(cfg.logf), "registry: ", 0)
	}
	r := &Registry{
		handler: registry.New(registry.Logger(logger), registry.WithReferrersSupport(cfg.referrers)),
		counts:  map[string]int{},
	}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	r.Host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

type logfWriter func(format string, args ...any)

func (w logfWriter) Write(p []byte) (int, error) {
	w("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// ServeHTTP counts the request, applies the first matching fault, or hands
// the request to the registry.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	kind := Classify(req)
	r.mu.Lock()
	r.counts[req.Method+" "+string(kind)]++
	r.total++
	var hit *Fault
	for _, f := range r.faults {
		if f.remaining != 0 && (f.Match == nil || f.Match(req)) {
			if f.remaining > 0 {
				f.remaining--
			}
			f.hits++
			hit = f
			break
		}
	}
	r.mu.Unlock()
	if hit != nil {
		if hit.RetryAfter != "" {
			w.Header().Set("Retry-After", hit.RetryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(hit.Status)
		fmt.Fprintf(w, `{"errors":[{"code":"UNKNOWN","message":"fault injected by storetest (status %d)"}]}`, hit.Status)
		return
	}
	if kind == KindUpload && req.Body != nil {
		req.Body = &countingBody{rc: req.Body, n: &r.uploaded}
	}
	r.handler.ServeHTTP(w, req)
}

type countingBody struct {
	rc io.ReadCloser
	n  *atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingBody) Close() error { return c.rc.Close() }

// UploadedBytes is the number of bytes received in blob upload bodies
// (POST, PATCH and PUT under /blobs/uploads/).
func (r *Registry) UploadedBytes() int64 { return r.uploaded.Load() }

// Requests counts the requests received with method and kind; method ""
// counts every method.
func (r *Registry) Requests(method string, kind Kind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if method != "" {
		return r.counts[method+" "+string(kind)]
	}
	n := 0
	for k, v := range r.counts {
		if strings.HasSuffix(k, " "+string(kind)) {
			n += v
		}
	}
	return n
}

// TotalRequests counts every request received, faulted ones included.
func (r *Registry) TotalRequests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

// Counts returns a copy of the request counters keyed "METHOD kind", for
// test failure messages.
func (r *Registry) Counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.counts))
	for k, v := range r.counts {
		out[k] = v
	}
	return out
}

// ResetCounters zeroes the request and byte counters (faults stay).
func (r *Registry) ResetCounters() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts = map[string]int{}
	r.total = 0
	r.uploaded.Store(0)
}

// Fault makes the registry answer matching requests with Status instead of
// serving them.
type Fault struct {
	// Match selects requests; nil matches every request. See MatchKind.
	Match func(*http.Request) bool
	// Status is the HTTP status to answer with (500, 429, ...).
	Status int
	// RetryAfter, if set, is sent as the Retry-After header ("2", or an
	// HTTP date).
	RetryAfter string
	// Times is how many requests to fail; a negative value fails every
	// matching request until the fault is removed.
	Times int

	remaining int
	hits      int
	mu        *sync.Mutex // the registry's
}

// Inject adds a fault and returns it, to read Hits from. Faults are tried
// in the order they were added; a request hits at most one.
func (r *Registry) Inject(f Fault) *Fault {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f.Status == 0 {
		f.Status = http.StatusInternalServerError
	}
	f.remaining = f.Times
	f.mu = &r.mu
	p := &f
	r.faults = append(r.faults, p)
	return p
}

// FailNext is shorthand for Inject(Fault{Match: match, Status: status,
// Times: n}).
func (r *Registry) FailNext(n, status int, match func(*http.Request) bool) *Fault {
	return r.Inject(Fault{Match: match, Status: status, Times: n})
}

// ClearFaults removes every fault.
func (r *Registry) ClearFaults() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults = nil
}

// Hits is how many requests the fault has answered.
func (f *Fault) Hits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits
}

// MatchKind matches requests of a kind and, if method is not "", a method.
func MatchKind(method string, kind Kind) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return Classify(r) == kind && (method == "" || r.Method == method)
	}
}

// MatchRepo matches requests whose path names the repository repo (the
// registry's full name, prefix included).
func MatchRepo(repo string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return strings.HasPrefix(r.URL.Path, "/v2/"+repo+"/")
	}
}

// All matches requests that every predicate matches.
func All(preds ...func(*http.Request) bool) func(*http.Request) bool {
	return func(r *http.Request) bool {
		for _, p := range preds {
			if !p(r) {
				return false
			}
		}
		return true
	}
}
