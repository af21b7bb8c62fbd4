package remote

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/version"
)

// Store is an OCI registry seen through go-containerregistry. Create it with
// New.
type Store struct {
	reg      name.Registry
	prefix   string // repository prefix, no slashes at either end; may be empty
	nameOpts []name.Option
	keychain authn.Keychain
	rt       http.RoundTripper // retrying transport, under authentication
	cfg      retryConfig
	jobs     int
	progress func(Progress)
	locks    store.KeyedLocker

	authMu sync.Mutex
	shared http.RoundTripper // set once pinged, when the registry needs no per-repository tokens
	bearer bool
	pinged bool

	clients sync.Map // full repository name -> *lazyClient
}

var (
	_ store.Store       = (*Store)(nil)
	_ store.ImageWriter = (*Store)(nil)
)

// New opens the registry named by spec, "HOST[:PORT][/PREFIX]" (optionally
// with an http:// or https:// scheme). Repository r of the store is
// PREFIX/r in the registry. Nothing is sent until the first operation.
func New(spec string, opts ...Option) (*Store, error) {
	o := options{
		retry: retryConfig{
			retryMax:      DefaultRetryMax,
			waitMin:       DefaultRetryWaitMin,
			waitMax:       DefaultRetryWaitMax,
			maxRetryAfter: DefaultMaxRetryAfter,
			log:           slog.New(slog.DiscardHandler),
			now:           time.Now,
		},
		keychain:    authn.DefaultKeychain,
		parallelism: DefaultParallelism,
		userAgent:   version.UserAgent(),
	}
	host, prefix, scheme, err := parseSpec(spec)
	if err != nil {
		return nil, err
	}
	switch scheme {
	case "http":
		o.insecure = true
	case "":
		o.insecure = isLoopback(host)
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("configuring registry store %s: %w", spec, err)
		}
	}
	nameOpts := []name.Option{name.StrictValidation}
	if o.insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("parsing registry store %q: %w", spec, err)
	}
	if prefix != "" {
		if _, err := name.NewRepository(reg.Name()+"/"+prefix, nameOpts...); err != nil {
			return nil, fmt.Errorf("parsing registry store %q: invalid prefix %q: %w", spec, prefix, err)
		}
	}
	base := o.base
	if base == nil {
		t := ggcr.DefaultTransport.(*http.Transport).Clone()
		if o.insecure {
			t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for with WithInsecure
		}
		base = t
	}
	// Innermost, so every request (token exchange, blob, manifest, ping)
	// carries it: "runway/VERSION (...) go-containerregistry/VERSION".
	base = transport.NewUserAgent(base, o.userAgent)
	return &Store{
		reg:      reg,
		prefix:   prefix,
		nameOpts: nameOpts,
		keychain: o.keychain,
		rt:       newRetryTransport(base, o.retry),
		cfg:      o.retry,
		jobs:     o.parallelism,
		progress: o.progress,
	}, nil
}

func parseSpec(spec string) (host, prefix, scheme string, err error) {
	s := spec
	for _, sc := range []string{"http", "https"} {
		if strings.HasPrefix(s, sc+"://") {
			scheme, s = sc, strings.TrimPrefix(s, sc+"://")
		}
	}
	s = strings.TrimRight(s, "/")
	host, prefix, _ = strings.Cut(s, "/")
	if host == "" {
		return "", "", "", fmt.Errorf("parsing registry store %q: no host (want HOST[:PORT][/PREFIX])", spec)
	}
	if strings.ContainsAny(host, " \t@?#") {
		return "", "", "", fmt.Errorf("parsing registry store %q: invalid host %q", spec, host)
	}
	return host, prefix, scheme, nil
}

func isLoopback(host string) bool {
	h := host
	if sh, _, err := net.SplitHostPort(host); err == nil {
		h = sh
	}
	h = strings.Trim(h, "[]")
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// String implements store.Store.
func (s *Store) String() string {
	if s.prefix == "" {
		return s.reg.Name()
	}
	return s.reg.Name() + "/" + s.prefix
}

// repository maps a store repository name to the registry's.
func (s *Store) repository(repo string) (name.Repository, error) {
	if repo == "" {
		return name.Repository{}, errors.New("empty repository name")
	}
	full := repo
	if s.prefix != "" {
		full = s.prefix + "/" + repo
	}
	r, err := name.NewRepository(s.reg.Name()+"/"+full, s.nameOpts...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("invalid repository name %q: %w", repo, err)
	}
	return r, nil
}

// Lock implements store.Store. A registry has no compare-and-swap, so the
// lock is in-process only: it orders the goroutines of this process, not
// two processes writing the same registry. Cross-process callers take a
// lock from package lock (a Lease, or the registry claim protocol).
func (s *Store) Lock(ctx context.Context, key string) (func(), error) {
	return s.locks.Lock(ctx, key)
}

// client is everything needed to talk to one repository, authenticated
// once and reused.
type client struct {
	rt     http.RoundTripper // authenticated (*transport.Wrapper: ggcr adds nothing on top)
	http   *http.Client
	puller *ggcr.Puller
	pusher *ggcr.Pusher
}

type lazyClient struct {
	once sync.Once
	c    *client
	err  error
}

func (s *Store) client(ctx context.Context, repo name.Repository) (*client, error) {
	v, _ := s.clients.LoadOrStore(repo.String(), &lazyClient{})
	lc := v.(*lazyClient)
	lc.once.Do(func() {
		lc.c, lc.err = s.newClient(ctx, repo)
	})
	if lc.err != nil {
		s.clients.CompareAndDelete(repo.String(), lc)
		return nil, lc.err
	}
	return lc.c, nil
}

func (s *Store) newClient(ctx context.Context, repo name.Repository) (*client, error) {
	rt, err := s.authTransport(ctx, repo, []string{repo.Scope(transport.PushScope)})
	if err != nil {
		return nil, err
	}
	return s.clientFor(rt)
}

func (s *Store) clientFor(rt http.RoundTripper) (*client, error) {
	opts := s.ggcrOptions(rt)
	puller, err := ggcr.NewPuller(opts...)
	if err != nil {
		return nil, err
	}
	pusher, err := ggcr.NewPusher(opts...)
	if err != nil {
		return nil, err
	}
	return &client{rt: rt, http: &http.Client{Transport: rt}, puller: puller, pusher: pusher}, nil
}

// ggcrOptions are the options of every go-containerregistry call. rt is an
// authenticated *transport.Wrapper, so ggcr wraps nothing around it; its
// retries are switched off all the same (one step, nothing retryable), so
// that retryTransport is the only place requests are retried.
func (s *Store) ggcrOptions(rt http.RoundTripper) []ggcr.Option {
	return []ggcr.Option{
		ggcr.WithTransport(rt),
		ggcr.WithJobs(s.jobs),
		ggcr.WithRetryBackoff(ggcr.Backoff{Steps: 1}),
		ggcr.WithRetryPredicate(func(error) bool { return false }),
		ggcr.WithRetryStatusCodes(),
	}
}

// authTransport returns an authenticated transport for scopes. A registry
// that answers the ping without a bearer challenge (anonymous or basic auth)
// gets one shared transport; a token registry gets one per call, scoped.
func (s *Store) authTransport(ctx context.Context, res authn.Resource, scopes []string) (http.RoundTripper, error) {
	s.authMu.Lock()
	if !s.pinged {
		ch, err := transport.Ping(ctx, s.reg, s.rt)
		if err != nil {
			s.authMu.Unlock()
			return nil, fmt.Errorf("contacting registry %s: %w", s.reg.Name(), err)
		}
		s.bearer = strings.EqualFold(ch.Scheme, "bearer")
		if !s.bearer {
			auth, err := s.keychain.Resolve(s.reg)
			if err != nil {
				s.authMu.Unlock()
				return nil, fmt.Errorf("resolving credentials for %s: %w", s.reg.Name(), err)
			}
			rt, err := transport.NewWithContext(ctx, s.reg, auth, s.rt, nil)
			if err != nil {
				s.authMu.Unlock()
				return nil, fmt.Errorf("authenticating to %s: %w", s.reg.Name(), err)
			}
			s.shared = rt
		}
		s.pinged = true
	}
	shared := s.shared
	s.authMu.Unlock()
	if shared != nil {
		return shared, nil
	}
	auth, err := s.keychain.Resolve(res)
	if err != nil {
		return nil, fmt.Errorf("resolving credentials for %s: %w", res.String(), err)
	}
	rt, err := transport.NewWithContext(ctx, s.reg, auth, s.rt, scopes)
	if err != nil {
		return nil, fmt.Errorf("authenticating to %s for %s: %w", s.reg.Name(), strings.Join(scopes, " "), err)
	}
	return rt, nil
}

// describe wraps err, mapping a registry 404 to store.ErrNotFound and
// noting that a retryable status came back after every attempt was used.
func (s *Store) describe(err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch {
		case terr.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%w: %w", err, store.ErrNotFound)
		case retryableStatus(terr.StatusCode):
			return fmt.Errorf("gave up after %d attempt(s), last status %d: %w", s.cfg.retryMax+1, terr.StatusCode, err)
		}
	}
	return err
}

func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || (code >= 500 && code != http.StatusNotImplemented)
}

func isNotFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}
