package github

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	gogithub "github.com/google/go-github/v60/github"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/runway-ci/runway/internal/version"
)

// Client talks to GitHub's REST API through the transport stack described
// in the package documentation.
type Client struct {
	// REST is the underlying go-github client, for calls Client does not wrap.
	REST *gogithub.Client
	log  *slog.Logger
}

// Option configures New.
type Option func(*options) error

type options struct {
	baseURL     string
	token       string
	log         *slog.Logger
	retryMax    int
	minBackoff  time.Duration
	maxBackoff  time.Duration
	maxWait     time.Duration
	concurrency int
	transport   http.RoundTripper
	now         func() time.Time
}

// WithBaseURL points the client at a GitHub API root other than
// https://api.github.com/ (GitHub Enterprise Server, or a test fake).
func WithBaseURL(u string) Option {
	return func(o *options) error {
		if u == "" {
			return nil
		}
		p, err := url.Parse(u)
		if err != nil || p.Scheme == "" || p.Host == "" {
			return fmt.Errorf("github API URL %q is not an absolute URL", u)
		}
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		o.baseURL = u
		return nil
	}
}

// WithToken authenticates every request with a token (GITHUB_TOKEN, an
// installation token or a personal access token).
func WithToken(t string) Option {
	return func(o *options) error { o.token = t; return nil }
}

// WithLogger logs retries and rate-limit waits.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l != nil {
			o.log = l
		}
		return nil
	}
}

// WithRetryMax sets how many times a request is retried (default 4).
func WithRetryMax(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("github retry count must not be negative, got %d", n)
		}
		o.retryMax = n
		return nil
	}
}

// WithBackoff sets the first and the largest backoff between retries of a
// failed (5xx) request (default 500ms and 10s).
func WithBackoff(min, max time.Duration) Option {
	return func(o *options) error {
		if min <= 0 || max < min {
			return fmt.Errorf("github backoff needs 0 < min <= max, got %v and %v", min, max)
		}
		o.minBackoff, o.maxBackoff = min, max
		return nil
	}
}

// WithMaxWait caps how long a rate-limited request waits for the limit to
// reset (default 60s). A later reset fails the call at once.
func WithMaxWait(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("github rate-limit wait cap must not be negative, got %v", d)
		}
		o.maxWait = d
		return nil
	}
}

// WithConcurrency bounds the requests in flight (default 4).
func WithConcurrency(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("github concurrency must be at least 1, got %d", n)
		}
		o.concurrency = n
		return nil
	}
}

// WithTransport sets the transport under the stack (default
// http.DefaultTransport's clone).
func WithTransport(rt http.RoundTripper) Option {
	return func(o *options) error {
		if rt == nil {
			return errors.New("github transport must not be nil")
		}
		o.transport = rt
		return nil
	}
}

// New returns a Client.
func New(opts ...Option) (*Client, error) {
	o := &options{
		log:         slog.New(slog.DiscardHandler),
		retryMax:    4,
		minBackoff:  500 * time.Millisecond,
		maxBackoff:  10 * time.Second,
		maxWait:     60 * time.Second,
		concurrency: 4,
		now:         time.Now,
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	base := o.transport
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	limited := &limitTransport{next: base, slots: make(chan struct{}, o.concurrency)}
	cached := &etagTransport{next: limited, entries: map[string]etagEntry{}}

	p := &policy{maxWait: o.maxWait, now: o.now, log: o.log}
	rc := &retryablehttp.Client{
		HTTPClient:   &http.Client{Transport: cached},
		Logger:       nil,
		RetryWaitMin: o.minBackoff,
		RetryWaitMax: o.maxBackoff,
		RetryMax:     o.retryMax,
		CheckRetry:   p.checkRetry,
		Backoff:      p.backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	hc := &http.Client{Transport: &methodTransport{next: &retryablehttp.RoundTripper{Client: rc}}}
	gh := gogithub.NewClient(hc)
	gh.UserAgent = version.UserAgent() + " " + gh.UserAgent // "runway/VERSION (...) go-github/VERSION"
	if o.token != "" {
		gh = gh.WithAuthToken(o.token)
	}
	if o.baseURL != "" {
		u, err := url.Parse(o.baseURL)
		if err != nil {
			return nil, fmt.Errorf("parsing github API URL: %w", err)
		}
		gh.BaseURL = u
	}
	return &Client{REST: gh, log: o.log}, nil
}
