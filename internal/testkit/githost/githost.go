// Package githost is a real git smart-HTTP host on loopback for tests, in
// GitHub's place: git's own `git http-backend` served through net/http/cgi,
// over bare repositories at ROOT/owner/name.git, with HTTP basic auth
// checked the way GitHub checks an installation token (user
// x-access-token, the token as password).
package githost

import (
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Backend is where Debian's git package installs git http-backend.
const Backend = "/usr/lib/git-core/git-http-backend"

// Host is a running git host.
type Host struct {
	// URL is the host's root: repository owner/name is URL/owner/name.git.
	URL  string
	Root string

	t       testing.TB
	mu      sync.Mutex
	allow   func(token string) bool
	fetches int
	refused int
	held    chan struct{} // non-nil: fetches wait until it is closed
}

// Hold makes every fetch wait until Release: a git host that has stopped
// answering, for tests that need work stuck in flight.
func (h *Host) Hold() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held == nil {
		h.held = make(chan struct{})
	}
}

// Release lets held and later fetches through.
func (h *Host) Release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held != nil {
		close(h.held)
		h.held = nil
	}
}

// New starts a git host that accepts a request whose basic-auth password
// allow accepts (nil: anonymous reads are allowed).
func New(t testing.TB, allow func(token string) bool) *Host {
	t.Helper()
	backend := Backend
	if _, err := os.Stat(backend); err != nil {
		p, err := exec.Command("git", "--exec-path").Output()
		if err != nil {
			t.Fatalf("githost needs git's http-backend (apt-get install git): %v", err)
		}
		backend = filepath.Join(strings.TrimSpace(string(p)), "git-http-backend")
	}
	h := &Host{Root: t.TempDir(), t: t, allow: allow}
	cg := &cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + h.Root, "GIT_HTTP_EXPORT_ALL=1",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "HOME=" + h.Root}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.allow != nil {
			user, pass, ok := r.BasicAuth()
			if !ok || user != "x-access-token" || !h.allow(pass) {
				h.mu.Lock()
				h.refused++
				h.mu.Unlock()
				w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
				http.Error(w, "Invalid username or token.", http.StatusUnauthorized)
				return
			}
		}
		if strings.HasSuffix(r.URL.Path, "/git-receive-pack") || r.URL.Query().Get("service") == "git-receive-pack" {
			http.Error(w, "pushes go through the test's git CLI", http.StatusForbidden)
			return
		}
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
			h.mu.Lock()
			h.fetches++
			held := h.held
			h.mu.Unlock()
			if held != nil {
				select {
				case <-held:
				case <-r.Context().Done():
					return
				}
			}
		}
		cg.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { h.Release(); srv.Close() })
	h.URL = srv.URL
	return h
}

// Path is the bare repository of owner/name.
func (h *Host) Path(fullName string) string {
	return filepath.Join(h.Root, filepath.FromSlash(fullName)+".git")
}

// Push pushes refspecs from the repository in dir to owner/name, creating
// it on first use (as `git push` to GitHub would; refs/pull/N/head is
// written the same way, as GitHub does for a pull request).
func (h *Host) Push(fullName, dir string, refspecs ...string) {
	h.t.Helper()
	bare := h.Path(fullName)
	if _, err := os.Stat(bare); err != nil {
		h.git("", "init", "-q", "--bare", bare)
	}
	h.git(dir, append([]string{"push", "-q", "--force", bare}, refspecs...)...)
}

func (h *Host) git(dir string, args ...string) {
	h.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		h.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// Fetches counts the fetches served (POSTs to git-upload-pack).
func (h *Host) Fetches() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fetches
}

// Refused counts the requests refused for their credentials.
func (h *Host) Refused() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.refused
}
