package remote

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
)

// Defaults; each has an option.
const (
	DefaultRetryMax      = 5
	DefaultRetryWaitMin  = 200 * time.Millisecond
	DefaultRetryWaitMax  = 10 * time.Second
	DefaultMaxRetryAfter = 60 * time.Second
	DefaultParallelism   = 4
)

type options struct {
	retry       retryConfig
	insecure    bool
	keychain    authn.Keychain
	base        http.RoundTripper
	parallelism int
	progress    func(Progress)
	userAgent   string
}

// Option configures New.
type Option func(*options) error

// WithRetryMax sets how many times a failed request is retried (attempts =
// n+1). 0 disables retries.
func WithRetryMax(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("retry max %d is negative", n)
		}
		o.retry.retryMax = n
		return nil
	}
}

// WithRetryWait sets the bounds of the exponential backoff between retries
// when the registry gives no Retry-After.
func WithRetryWait(min, max time.Duration) Option {
	return func(o *options) error {
		if min < 0 || max < min {
			return fmt.Errorf("retry wait bounds %s..%s are invalid", min, max)
		}
		o.retry.waitMin, o.retry.waitMax = min, max
		return nil
	}
}

// WithMaxRetryAfter caps how long a Retry-After header can make a request
// wait.
func WithMaxRetryAfter(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("max Retry-After %s is negative", d)
		}
		o.retry.maxRetryAfter = d
		return nil
	}
}

// WithInsecure talks plain HTTP (and accepts any TLS certificate) to the
// registry. It is on by default for localhost, 127.0.0.1 and ::1.
func WithInsecure(insecure bool) Option {
	return func(o *options) error {
		o.insecure = insecure
		return nil
	}
}

// WithLogger sets the logger for retries and warnings (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("nil logger")
		}
		o.retry.log = l
		return nil
	}
}

// WithParallelism bounds concurrent blob uploads within one WriteImage.
func WithParallelism(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("parallelism %d is less than 1", n)
		}
		o.parallelism = n
		return nil
	}
}

// Progress reports how far a WriteImage has got, in bytes.
type Progress struct {
	Repo     string // repository, relative to the store's prefix
	Tag      string // "" when written by digest
	Complete int64
	Total    int64
}

// WithProgress has WriteImage call fn as bytes go out. fn runs on a
// goroutine of the write and must not block for long.
func WithProgress(fn func(Progress)) Option {
	return func(o *options) error {
		o.progress = fn
		return nil
	}
}

// WithKeychain replaces authn.DefaultKeychain as the source of credentials.
func WithKeychain(kc authn.Keychain) Option {
	return func(o *options) error {
		if kc == nil {
			return errors.New("nil keychain")
		}
		o.keychain = kc
		return nil
	}
}

// WithTransport replaces the HTTP transport under the retries (default: a
// clone of go-containerregistry's remote.DefaultTransport).
func WithTransport(rt http.RoundTripper) Option {
	return func(o *options) error {
		if rt == nil {
			return errors.New("nil transport")
		}
		o.base = rt
		return nil
	}
}

// WithUserAgent replaces runway's User-Agent (version.UserAgent()) at the
// front of every request's User-Agent; go-containerregistry's follows it.
func WithUserAgent(ua string) Option {
	return func(o *options) error {
		if ua == "" {
			return errors.New("empty user agent")
		}
		o.userAgent = ua
		return nil
	}
}
