package ui

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/promote"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the view.
type Options struct {
	// Auth decides who may read. Nil refuses every request: a handler
	// mounted without a decision is closed.
	Auth Auth
	// Prefix is the path the handler is mounted at, with a slash at both
	// ends (default "/ui/"). Every link the pages make starts with it.
	Prefix string
	// Platform gives the domains in promotion order (nil: the embedded
	// defaults).
	Platform *platform.Config
	// Logger receives request errors (default: discard).
	Logger *slog.Logger
	// Now is the clock for durations of running executions (default time.Now).
	Now func() time.Time
	// PollInterval is how often a live page's event stream re-reads a
	// running execution's record (default 1s; the engine writes records at
	// most every 100ms).
	PollInterval time.Duration
	// ListLimit is how many of the newest executions of each project's
	// domain the list and the version trail read (default 200).
	ListLimit int
	// LogDir is where the local executor keeps every attempt's log
	// ($RUNWAY_HOME/logs; see executor/local). "" shows no logs: a server
	// whose tasks run on Kubernetes has them in its pods.
	LogDir string
}

// Handler serves the read-only web view of a store. It is an
// http.Handler for the paths under its prefix.
type Handler struct {
	store     store.Store
	plat      *platform.Config
	promoter  *promote.Promoter
	auth      Auth
	prefix    string
	log       *slog.Logger
	now       func() time.Time
	poll      time.Duration
	listLimit int
	logDir    string
	pages     map[string]*template.Template
	mux       *http.ServeMux
}

// New returns the view of s. The store is only read.
func New(s store.Store, o Options) (*Handler, error) {
	if s == nil {
		return nil, errors.New("ui: nil store")
	}
	h := &Handler{store: s, plat: o.Platform, auth: o.Auth, prefix: o.Prefix, log: o.Logger, now: o.Now,
		poll: o.PollInterval, listLimit: o.ListLimit, logDir: o.LogDir}
	if h.prefix == "" {
		h.prefix = "/ui/"
	}
	if !strings.HasPrefix(h.prefix, "/") || !strings.HasSuffix(h.prefix, "/") || strings.ContainsAny(h.prefix, "{}? #") {
		return nil, fmt.Errorf("ui: prefix %q: want a path with a slash at both ends, such as /ui/", o.Prefix)
	}
	if h.plat == nil {
		h.plat = platform.Default()
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.poll <= 0 {
		h.poll = time.Second
	}
	if h.listLimit <= 0 {
		h.listLimit = 200
	}
	p, err := promote.New(s, h.plat)
	if err != nil {
		return nil, err
	}
	h.promoter = p
	if h.pages, err = parsePages(h.prefix); err != nil {
		return nil, err
	}
	h.routes()
	return h, nil
}

func (h *Handler) routes() {
	m := http.NewServeMux()
	p := h.prefix
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET "+p+"static/", http.StripPrefix(p+"static/", staticHandler(http.FileServerFS(static))))
	m.HandleFunc("GET "+p+"login", h.loginPage)
	m.HandleFunc("POST "+p+"login", h.login)
	m.Handle("GET "+p+"{$}", h.guard(h.executionsPage))
	m.Handle("GET "+p+"executions/{project}/{domain}/{id}", h.guard(h.executionPage))
	m.Handle("GET "+p+"executions/{project}/{domain}/{id}/events", h.guard(h.executionEvents))
	m.Handle("GET "+p+"executions/{project}/{domain}/{id}/nodes/{node}", h.guard(h.nodePage))
	m.Handle("GET "+p+"blobs/{project}/{domain}/{digest}", h.guard(h.blob))
	m.Handle("GET "+p+"executions/{project}/{domain}/{id}/nodes/{node}/logs/{attempt}", h.guard(h.attemptLog))
	m.Handle("GET "+p+"entities", h.guard(h.entitiesPage))
	m.Handle("GET "+p+"entities/{project}/{kind}/{name}", h.guard(h.entityPage))
	m.Handle("GET "+p+"versions", h.guard(h.versionsPage))
	m.Handle("GET "+p+"versions/{project}/{version}", h.guard(h.trailPage))
	m.Handle("GET "+p, h.guard(func(w http.ResponseWriter, r *http.Request) error {
		return notFound("no page at %s", r.URL.Path)
	}))
	h.mux = m
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	// Pages load only their own CSS and script; nothing inline runs, so
	// even a value that escaped escaping could not execute.
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	h.mux.ServeHTTP(w, r)
}

func staticHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// viewerKey carries the authenticated viewer's name to the pages.
type viewerKey struct{}

// handlerFunc is a page: it returns an error to render instead.
type handlerFunc func(http.ResponseWriter, *http.Request) error

// guard authenticates, then runs the page and renders its error.
func (h *Handler) guard(f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if h.auth == nil {
			h.fail(w, r, &httpError{code: http.StatusForbidden, err: errNoAuth})
			return
		}
		who, err := h.auth.authenticate(r)
		if err != nil {
			code := http.StatusForbidden
			if _, ok := h.auth.(bearer); ok {
				code = http.StatusUnauthorized
				w.Header().Set("WWW-Authenticate", `Bearer realm="runway"`)
			}
			h.fail(w, r, &httpError{code: code, err: err, login: code == http.StatusUnauthorized})
			return
		}
		r = r.WithContext(withViewer(r.Context(), who))
		if err := f(w, r); err != nil {
			h.fail(w, r, err)
		}
	})
}

// httpError is an error with the status it is served with.
type httpError struct {
	code  int
	err   error
	login bool // offer the login page
}

func (e *httpError) Error() string { return e.err.Error() }
func (e *httpError) Unwrap() error { return e.err }

func notFound(format string, args ...any) error {
	return &httpError{code: http.StatusNotFound, err: fmt.Errorf(format, args...)}
}

func badRequest(format string, args ...any) error {
	return &httpError{code: http.StatusBadRequest, err: fmt.Errorf(format, args...)}
}

// fail renders err as a page or, for JSON, as {"error": ...}.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	var he *httpError
	switch {
	case errors.As(err, &he):
		code = he.code
	case errors.Is(err, store.ErrNotFound), errors.Is(err, errNothing):
		code = http.StatusNotFound
	case errors.Is(err, executor.ErrInvalidID):
		code = http.StatusBadRequest
	}
	if code >= 500 {
		h.log.Error("ui request", "path", r.URL.Path, "err", err)
	}
	if wantsJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": err.Error(), "status": code})
		return
	}
	data := struct {
		Code    int
		Status  string
		Message string
		Login   bool
	}{code, http.StatusText(code), err.Error(), he != nil && he.login}
	h.render(w, r, code, "error", http.StatusText(code), "", data)
}

// wantsJSON reports whether the request asks for a page's JSON twin:
// ?o=json (as -o json on the command line) or an Accept header that
// prefers JSON.
func wantsJSON(r *http.Request) bool {
	if o := r.URL.Query().Get("o"); o != "" {
		return o == "json"
	}
	acc := r.Header.Get("Accept")
	return strings.HasPrefix(acc, "application/json")
}

// writeJSON writes v as the JSON twin of a page: indented, HTML-escaped
// (so a value can never close a script or style context if pasted).
func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// jsonURL is the URL of a request's JSON twin.
func jsonURL(r *http.Request) string {
	q := r.URL.Query()
	q.Set("o", "json")
	return r.URL.Path + "?" + q.Encode()
}

// link builds a path under the prefix from segments, each escaped.
func link(prefix string, segs ...string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for i, s := range segs {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}
