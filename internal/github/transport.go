package github

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// methodKey carries the request method to the retry policy, which
// go-retryablehttp calls with the request's context but without the request
// (a connection error has no response to read it from).
type methodKey struct{}

type methodTransport struct{ next http.RoundTripper }

func (t *methodTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.next.RoundTrip(r.WithContext(context.WithValue(r.Context(), methodKey{}, r.Method)))
}

// policy decides retries and waits; see the package documentation.
type policy struct {
	maxWait time.Duration
	now     func() time.Time
	log     *slog.Logger
}

func idempotent(ctx context.Context) bool {
	m, _ := ctx.Value(methodKey{}).(string)
	return m != http.MethodPost
}

// rateLimitWait reports whether resp is a rate-limit refusal and how long
// GitHub asks to wait.
func (p *policy) rateLimitWait(resp *http.Response) (time.Duration, bool) {
	if resp == nil || (resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests) {
		return 0, false
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			return time.Duration(n) * time.Second, true
		}
		if t, err := http.ParseTime(s); err == nil {
			return max(t.Sub(p.now()), 0), true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if n, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			// Reset is whole seconds; one more second avoids arriving early.
			return max(time.Unix(n, 0).Sub(p.now())+time.Second, 0), true
		}
		return time.Minute, true
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return time.Minute, true
	}
	return 0, false // a plain 403: permission denied, not a limit
}

func (p *policy) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if wait, limited := p.rateLimitWait(resp); limited {
		if wait > p.maxWait {
			p.log.Warn("github rate limit resets later than runway waits; giving up",
				"wait", wait, "cap", p.maxWait, "url", resp.Request.URL.Path)
			return false, nil
		}
		p.log.Info("github rate limit hit; waiting", "wait", wait, "url", resp.Request.URL.Path)
		return true, nil
	}
	if !idempotent(ctx) {
		return false, nil
	}
	if err != nil {
		return true, nil //nolint:nilerr // a connection error is retried: true, and no error, is that answer
	}
	switch resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		p.log.Info("github server error; retrying", "status", resp.StatusCode, "url", resp.Request.URL.Path)
		return true, nil
	}
	return false, nil
}

func (p *policy) backoff(min, maxB time.Duration, attempt int, resp *http.Response) time.Duration {
	if wait, limited := p.rateLimitWait(resp); limited {
		return wait
	}
	d := time.Duration(float64(min) * math.Pow(2, float64(attempt)))
	if d > maxB || d <= 0 {
		d = maxB
	}
	return d
}

// limitTransport bounds the requests in flight.
type limitTransport struct {
	next  http.RoundTripper
	slots chan struct{}
}

func (t *limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case t.slots <- struct{}{}:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		<-t.slots
		return nil, err
	}
	// The slot is held until the body is read, because a response being
	// streamed is a request in flight for GitHub.
	resp.Body = &releaseBody{ReadCloser: resp.Body, release: func() { <-t.slots }}
	return resp, nil
}

type releaseBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

// Read releases the slot once the body is read to its end: go-github's
// CheckResponse reads an error response whole and swaps the body for a
// copy, so the original is never closed, and without this every error
// answer (a 404, a 422) would keep its slot forever.
func (b *releaseBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.once.Do(b.release)
	}
	return n, err
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

// etagTransport makes GETs conditional; see the package documentation.
type etagTransport struct {
	next    http.RoundTripper
	mu      sync.Mutex
	entries map[string]etagEntry
}

type etagEntry struct {
	etag   string
	header http.Header
	body   []byte
}

// maxCachedBody bounds what one cached response may hold.
const maxCachedBody = 4 << 20

func cacheKey(r *http.Request) string {
	h := sha256.Sum256([]byte(r.Header.Get("Authorization")))
	return r.URL.String() + " " + r.Header.Get("Accept") + " " + hex.EncodeToString(h[:8])
}

func (t *etagTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet || r.Header.Get("If-None-Match") != "" {
		return t.next.RoundTrip(r)
	}
	key := cacheKey(r)
	t.mu.Lock()
	e, ok := t.entries[key]
	t.mu.Unlock()
	if ok {
		r = r.Clone(r.Context())
		r.Header.Set("If-None-Match", e.etag)
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if ok && resp.StatusCode == http.StatusNotModified {
		resp.Body.Close()
		h := e.header.Clone()
		// Rate-limit headers of the 304 are current; the cached ones are not.
		for k, v := range resp.Header {
			h[k] = v
		}
		return &http.Response{
			Status: "200 OK", StatusCode: http.StatusOK, Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
			Header: h, Body: io.NopCloser(bytes.NewReader(e.body)), ContentLength: int64(len(e.body)), Request: resp.Request,
		}, nil
	}
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || etag == "" || resp.ContentLength > maxCachedBody {
		return resp, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCachedBody+1))
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	if len(body) > maxCachedBody { // too large to keep: hand it on unread
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		return resp, nil
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	t.mu.Lock()
	t.entries[key] = etagEntry{etag: etag, header: resp.Header.Clone(), body: body}
	t.mu.Unlock()
	return resp, nil
}
