package remote

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// retryTransport is the HTTP transport under go-containerregistry's auth
// transport: every registry request goes through it and is retried here, and
// only here (go-containerregistry's own retries are switched off).
//
//   - retried: connection errors, 429, 5xx except 501;
//   - wait: Retry-After (seconds or an HTTP date) on 429/503, capped at
//     maxRetryAfter; otherwise exponential backoff with jitter between
//     waitMin and waitMax;
//   - attempts: at most retryMax+1;
//   - bodies: a request body is replayed through req.GetBody, which
//     go-containerregistry sets for manifests, tokens and every blob upload
//     whose layer can be reopened. A body without GetBody (a streamed layer)
//     is sent once, without retries, rather than buffered in memory as
//     retryablehttp.RoundTripper would do;
//   - after the last attempt the last response goes up unchanged, so the
//     caller's error names the registry's status and message.
type retryTransport struct {
	base   http.RoundTripper
	client *retryablehttp.Client
}

type retryConfig struct {
	retryMax      int
	waitMin       time.Duration
	waitMax       time.Duration
	maxRetryAfter time.Duration
	log           *slog.Logger
	now           func() time.Time
}

func newRetryTransport(base http.RoundTripper, cfg retryConfig) *retryTransport {
	c := &retryablehttp.Client{
		HTTPClient: &http.Client{
			Transport: base,
			// Redirects go back up to go-containerregistry's client, which
			// decides where credentials may follow.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		RetryWaitMin: cfg.waitMin,
		RetryWaitMax: cfg.waitMax,
		RetryMax:     cfg.retryMax,
		CheckRetry:   checkRetry,
		Backoff:      cfg.backoff,
		ErrorHandler: func(resp *http.Response, err error, attempts int) (*http.Response, error) {
			if resp != nil {
				return resp, nil
			}
			return nil, fmt.Errorf("giving up after %d attempt(s): %w", attempts, err)
		},
		RequestLogHook: func(_ retryablehttp.Logger, req *http.Request, attempt int) {
			if attempt > 0 {
				cfg.log.Info("retrying registry request", "method", req.Method, "url", redact(req), "attempt", attempt+1)
			}
		},
	}
	return &retryTransport{base: base, client: c}
}

func redact(req *http.Request) string {
	u := *req.URL
	u.RawQuery = ""
	u.User = nil
	return u.String()
}

// RoundTrip implements http.RoundTripper. It does not modify req.
func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	hasBody := req.Body != nil && req.Body != http.NoBody
	if hasBody && req.GetBody == nil {
		return t.base.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Body = nil
	rr, err := retryablehttp.FromRequest(r)
	if err != nil {
		return nil, err
	}
	if hasBody {
		calls := 0
		err := rr.SetBody(retryablehttp.ReaderFunc(func() (io.Reader, error) {
			calls++
			switch calls {
			case 1: // SetBody probes the reader once for its length
				return struct{ io.Reader }{strings.NewReader("")}, nil
			case 2: // first attempt: the body we were given
				return req.Body, nil
			default:
				return req.GetBody()
			}
		}))
		if err != nil {
			return nil, err
		}
		rr.ContentLength = req.ContentLength
		rr.GetBody = req.GetBody
	}
	// The first attempt always hands req.Body to net/http, which closes it.
	resp, err := t.client.Do(rr)
	if err != nil && resp != nil {
		// The body could not be replayed for a retry.
		resp.Body.Close()
		return nil, fmt.Errorf("%w (last status %s)", err, resp.Status)
	}
	return resp, err
}

func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil && plainHTTPServer(err) {
		// go-containerregistry pings https first and falls back to http for
		// insecure registries; retrying the https attempt only delays that.
		return false, err
	}
	return retryablehttp.ErrorPropagatedRetryPolicy(ctx, resp, err)
}

func plainHTTPServer(err error) bool {
	var rh tls.RecordHeaderError
	return errors.As(err, &rh) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}

// backoff implements retryablehttp.Backoff.
func (c retryConfig) backoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), c.now()); ok {
			if d > c.maxRetryAfter {
				c.log.Warn("registry asked to wait longer than allowed; capping", "retry_after", d, "cap", c.maxRetryAfter)
				d = c.maxRetryAfter
			}
			return d
		}
	}
	ceiling := min << min64(attempt, 30)
	if ceiling <= 0 || ceiling > max {
		ceiling = max
	}
	if ceiling <= 0 {
		return 0
	}
	// "Equal jitter": half fixed, half random.
	return ceiling/2 + rand.N(ceiling/2+1)
}

func min64(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(24*time.Hour/time.Second) {
			n = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}
