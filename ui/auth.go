package ui

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/textproto"
	"strings"
)

// Auth decides who may read the view. Build one with BearerToken,
// TrustedHeader or Anonymous; Options.Auth left nil refuses everyone, so a
// handler mounted without a decision is closed.
type Auth interface {
	// authenticate returns the name shown as the viewer, or an error that
	// says what was missing (never what was expected).
	authenticate(r *http.Request) (string, error)
	// mode names the mode for the page footer and logs.
	mode() string
}

var (
	errNoAuth      = errors.New("this view has no authentication configured, so it refuses every request; configure a bearer token or a trusted auth-proxy header")
	errNoToken     = errors.New("a bearer token is required: send \"Authorization: Bearer TOKEN\", or sign in at login")
	errBadToken    = errors.New("the bearer token is not valid")
	errNoHeader    = errors.New("this view trusts an auth proxy, and the request did not come through it")
	errNotLoopback = errors.New("anonymous access is allowed from this machine only")
)

// sessionCookie holds a browser's proof of the bearer token (see login).
const sessionCookie = "runway_ui"

type bearer struct{ sum [32]byte }

// BearerToken admits requests that carry token, as "Authorization: Bearer
// TOKEN" (scripts, the JSON twins) or as the session cookie the login page
// sets for browsers. The cookie holds an HMAC of the token, not the token,
// and stays valid until the token changes (which signs everyone out).
// An empty token admits no one.
func BearerToken(token string) Auth { return bearer{sum: sha256.Sum256([]byte(token))} }

func (b bearer) mode() string { return "bearer token" }

func (b bearer) authenticate(r *http.Request) (string, error) {
	if b.sum == sha256.Sum256(nil) {
		return "", errBadToken
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return "", errNoToken
		}
		if !b.matches(strings.TrimSpace(tok)) {
			return "", errBadToken
		}
		return "token", nil
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		got, err := hex.DecodeString(c.Value)
		if err != nil || !hmac.Equal(got, b.session()) {
			return "", errBadToken
		}
		return "token", nil
	}
	return "", errNoToken
}

func (b bearer) matches(tok string) bool {
	got := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(got[:], b.sum[:]) == 1
}

// session is the cookie value: an HMAC keyed by the token's hash, so the
// cookie proves the token without holding it.
func (b bearer) session() []byte {
	m := hmac.New(sha256.New, b.sum[:])
	m.Write([]byte("runway ui session v1"))
	return m.Sum(nil)
}

type trustedHeader struct{ name string }

// TrustedHeader admits requests whose header name (for example
// "X-Forwarded-User", as oauth2-proxy sets it) is not empty, and shows its
// value as the viewer. Use it only where every request reaches runway
// through that proxy, which must strip the header from clients' requests:
// the header proves nothing by itself.
func TrustedHeader(name string) Auth {
	return trustedHeader{name: textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name))}
}

func (t trustedHeader) mode() string { return "auth proxy (" + t.name + ")" }

func (t trustedHeader) authenticate(r *http.Request) (string, error) {
	if t.name == "" {
		return "", errNoHeader
	}
	v := strings.TrimSpace(r.Header.Get(t.name))
	if v == "" {
		return "", errNoHeader
	}
	return v, nil
}

type anonymous struct{ localOnly bool }

// Anonymous admits everyone; with localOnly, only requests from a loopback
// address (what `runway ui` on 127.0.0.1 uses). The address is the
// connection's, so a reverse proxy on the same machine would make every
// request look local: behind a proxy, and mounted in a server, pass a
// token or a trusted header instead.
func Anonymous(localOnly bool) Auth { return anonymous{localOnly: localOnly} }

func (a anonymous) mode() string {
	if a.localOnly {
		return "anonymous, this machine only"
	}
	return "anonymous"
}

func (a anonymous) authenticate(r *http.Request) (string, error) {
	if !a.localOnly {
		return "anonymous", nil
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return "", errNotLoopback
	}
	return "anonymous", nil
}

// AuthMode describes a, for a command's start-up message ("bearer token",
// "anonymous, this machine only"); nil is "closed".
func AuthMode(a Auth) string {
	if a == nil {
		return "closed: no authentication configured"
	}
	return a.mode()
}
