package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/runway-ci/runway/internal/lock"
)

// Option configures New.
type Option func(*options) error

type options struct {
	secret        []byte
	stateDir      string
	handler       Handler
	log           *slog.Logger
	workers       int
	queueSize     int
	maxAttempts   int
	bodyTimeout   time.Duration
	drainTimeout  time.Duration
	ready         func(context.Context) error
	locker        lock.Locker
	reconciler    *Reconciler
	retention     time.Duration
	mounts        map[string]http.Handler
	readHeaderTTL time.Duration
	requeueAfter  time.Duration
}

// WithSecret sets the webhook secret. New refuses to build a server
// without one: an unsigned webhook endpoint would run anyone's commands.
func WithSecret(secret []byte) Option {
	return func(o *options) error {
		if len(secret) == 0 {
			return errors.New("the webhook secret is empty")
		}
		o.secret = secret
		return nil
	}
}

// WithStateDir sets the directory of the journal.
func WithStateDir(dir string) Option {
	return func(o *options) error { o.stateDir = dir; return nil }
}

// WithHandler sets what does the work of a relevant delivery.
func WithHandler(h Handler) Option {
	return func(o *options) error { o.handler = h; return nil }
}

// WithLogger sets the logger (JSON in production; every line about a
// delivery carries its id).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l != nil {
			o.log = l
		}
		return nil
	}
}

// WithWorkers bounds the deliveries handled at once (default 4).
func WithWorkers(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("workers must be at least 1, got %d", n)
		}
		o.workers = n
		return nil
	}
}

// WithQueueSize bounds the deliveries journaled and not finished (default
// 1000); beyond it the webhook answers 503 with Retry-After.
func WithQueueSize(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("queue size must be at least 1, got %d", n)
		}
		o.queueSize = n
		return nil
	}
}

// WithMaxAttempts bounds how often a delivery is started (default 3): one
// that was in flight at each of that many crashes is marked failed
// instead of being replayed again.
func WithMaxAttempts(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("max attempts must be at least 1, got %d", n)
		}
		o.maxAttempts = n
		return nil
	}
}

// WithBodyTimeout bounds how long a request body may take to arrive
// (default 10s, GitHub's own delivery deadline).
func WithBodyTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("body timeout must be positive, got %v", d)
		}
		o.bodyTimeout = d
		return nil
	}
}

// WithDrainTimeout bounds how long shutdown waits for work in flight
// (default 25s, inside Kubernetes' default 30s grace period). Work not
// finished by then stays in the journal and is replayed on the next start.
func WithDrainTimeout(d time.Duration) Option {
	return func(o *options) error { o.drainTimeout = d; return nil }
}

// WithReadiness adds a check to /readyz (the store is reachable).
func WithReadiness(check func(context.Context) error) Option {
	return func(o *options) error { o.ready = check; return nil }
}

// WithLocker makes replicas take the lane's lock (lock.PRKey for one pull
// request, lock.BranchKey for one default branch) before working on a
// delivery, and the reconciler's (lock.LeaderKey) before a sweep: with a
// Kubernetes Lease locker, one replica at a time works on one pull request.
func WithLocker(l lock.Locker) Option {
	return func(o *options) error { o.locker = l; return nil }
}

// WithReconciler runs r's sweep for missed deliveries periodically.
func WithReconciler(r *Reconciler) Option {
	return func(o *options) error { o.reconciler = r; return nil }
}

// WithMount serves h under prefix (the web UI under /ui/).
func WithMount(prefix string, h http.Handler) Option {
	return func(o *options) error {
		if o.mounts == nil {
			o.mounts = map[string]http.Handler{}
		}
		o.mounts[prefix] = h
		return nil
	}
}

// Server is a running webhook server.
type Server struct {
	o        options
	log      *slog.Logger
	j        *Journal
	q        *queue
	m        *metrics
	mux      *http.ServeMux
	draining atomic.Bool
	wg       sync.WaitGroup
}

// New opens the journal and queues every delivery it holds unfinished
// (replay). Serve starts the work.
func New(opts ...Option) (*Server, error) {
	o := options{
		log: slog.New(slog.DiscardHandler), workers: 4, queueSize: 1000, maxAttempts: 3,
		bodyTimeout: 10 * time.Second, drainTimeout: 25 * time.Second,
		retention: 30 * 24 * time.Hour, readHeaderTTL: 5 * time.Second, requeueAfter: time.Second,
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if len(o.secret) == 0 {
		return nil, errors.New("no webhook secret: runway serve refuses to accept unsigned webhooks (--webhook-secret-file or RUNWAY_WEBHOOK_SECRET)")
	}
	if o.stateDir == "" {
		return nil, errors.New("no state directory for the journal")
	}
	if o.handler == nil {
		return nil, errors.New("no handler for deliveries")
	}
	j, err := OpenJournal(o.stateDir)
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, log: o.log, j: j, q: newQueue(o.queueSize)}
	s.m = newMetrics(s.q)
	pending, err := j.Pending()
	if err != nil {
		j.Close()
		return nil, fmt.Errorf("reading unfinished deliveries from the journal: %w", err)
	}
	for _, d := range pending {
		s.q.push(d, false)
	}
	if len(pending) > 0 {
		s.log.Info("replaying unfinished deliveries from the journal", "count", len(pending))
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/webhook", s.webhook)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{}))
	for p, h := range o.mounts {
		s.mux.Handle(p, h)
	}
	return s, nil
}

// Handler is the server's HTTP handler (for tests that serve it themselves).
func (s *Server) Handler() http.Handler { return s.mux }

// Journal is the server's journal.
func (s *Server) Journal() *Journal { return s.j }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		http.Error(w, "draining", http.StatusServiceUnavailable)
		return
	}
	if _, _, err := s.j.Seen("readyz"); err != nil {
		http.Error(w, "journal: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	if s.o.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := s.o.ready(ctx); err != nil {
			http.Error(w, "store: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	_, _ = w.Write([]byte("ready\n"))
}

// Serve answers on ln and works the queue until ctx ends; then it drains:
// it stops accepting deliveries, waits up to the drain timeout for the work
// in flight, and closes the journal. Deliveries not finished stay in the
// journal for the next start.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: s.o.readHeaderTTL,
		ReadTimeout:       s.o.bodyTimeout + 5*time.Second, // readBody's own deadline answers first
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	for i := 0; i < s.o.workers; i++ {
		s.wg.Add(1)
		go s.worker(workCtx)
	}
	if s.o.reconciler != nil {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.o.reconciler.loop(workCtx, s) }()
	}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.pruneLoop(workCtx) }()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.log.Info("runway serve listening", "addr", ln.Addr().String(), "journal", s.j.Path(), "workers", s.o.workers)
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	// Drain: refuse new deliveries (503, so GitHub's redelivery or another
	// replica takes them), let the work in flight finish, keep the rest.
	s.draining.Store(true)
	s.log.Info("draining: no new deliveries; waiting for the work in flight", "timeout", s.o.drainTimeout)
	shCtx, cancel := context.WithTimeout(context.Background(), s.o.drainTimeout)
	defer cancel()
	_ = hs.Shutdown(shCtx)
	s.q.close()
	if !s.q.waitIdle(shCtx) {
		s.log.Warn("drain timeout: cancelling the work in flight; it stays in the journal and is replayed on the next start")
	}
	cancelWork()
	s.wg.Wait()
	if err := s.j.Close(); err != nil && serveErr == nil {
		serveErr = err
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	s.log.Info("runway serve stopped")
	return serveErr
}

func (s *Server) pruneLoop(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := s.j.Prune(time.Now().Add(-s.o.retention)); err != nil {
			s.log.Error("pruning the journal", "err", err)
		} else if n > 0 {
			s.log.Info("pruned finished deliveries from the journal", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
