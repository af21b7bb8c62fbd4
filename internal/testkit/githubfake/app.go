package githubfake

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The GitHub App side of the fake: JWTs signed by an App's private key are
// verified (RS256, iss = the App id, exp in the future and at most ten
// minutes ahead, as GitHub requires), exchanged for installation tokens
// that expire, and the App's webhook deliveries can be listed and
// redelivered to a webhook URL, signed with the webhook secret.

type app struct {
	id      int64
	key     *rsa.PublicKey
	tokenTT time.Duration
	insts   map[int64]bool
}

// HookDelivery is one delivery attempt of the App's webhook.
type HookDelivery struct {
	ID          int64
	GUID        string
	Event       string
	Action      string
	StatusCode  int
	DeliveredAt time.Time
	Redelivery  bool
	Payload     []byte
}

// AddApp registers a GitHub App by its public key; its installation tokens
// live tokenTTL (GitHub: one hour).
func (f *Fake) AddApp(id int64, key *rsa.PublicKey, tokenTTL time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.apps == nil {
		f.apps = map[int64]*app{}
	}
	f.apps[id] = &app{id: id, key: key, tokenTT: tokenTTL, insts: map[int64]bool{}}
}

// AddInstallation installs App appID (somewhere); its id is installation.
func (f *Fake) AddInstallation(appID, installation int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.apps[appID].insts[installation] = true
}

// TokensMinted counts the installation tokens the fake issued.
func (f *Fake) TokensMinted() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.minted
}

// SetWebhook is where redeliveries are POSTed, signed with secret.
func (f *Fake) SetWebhook(url string, secret []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hookURL, f.hookSecret = url, secret
}

// AddHookDelivery records a delivery attempt GitHub made (for example one
// that met a server that was down: StatusCode 0 or 5xx) and returns its id.
func (f *Fake) AddHookDelivery(d HookDelivery) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	d.ID = f.nextID
	if d.DeliveredAt.IsZero() {
		d.DeliveredAt = f.now()
	}
	f.hookDeliveries = append(f.hookDeliveries, &d)
	return d.ID
}

// HookDeliveries returns every delivery attempt, oldest first.
func (f *Fake) HookDeliveries() []HookDelivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]HookDelivery, len(f.hookDeliveries))
	for i, d := range f.hookDeliveries {
		out[i] = *d
	}
	return out
}

// verifyJWT checks an App's JWT and returns the App.
func (f *Fake) verifyJWT(tok string) (*app, string) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, "A JSON web token could not be decoded"
	}
	var hdr struct{ Alg string }
	var claims struct {
		Iss any   `json:"iss"`
		Iat int64 `json:"iat"`
		Exp int64 `json:"exp"`
	}
	for i, v := range []any{&hdr, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, v) != nil {
			return nil, "A JSON web token could not be decoded"
		}
	}
	if hdr.Alg != "RS256" {
		return nil, "'Expiration time' claim ('exp') must be a numeric value"
	}
	id, _ := strconv.ParseInt(fmt.Sprint(claims.Iss), 10, 64)
	f.mu.Lock()
	a := f.apps[id]
	now := f.now()
	f.mu.Unlock()
	if a == nil {
		return nil, "Integration not found"
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, "A JSON web token could not be decoded"
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(a.key, crypto.SHA256, sum[:], sig) != nil {
		return nil, "A JSON web token could not be decoded"
	}
	if claims.Exp <= now.Unix() || claims.Exp > now.Add(10*time.Minute+30*time.Second).Unix() || claims.Iat > now.Add(60*time.Second).Unix() {
		return nil, "'Expiration time' claim ('exp') is too far in the future, or in the past"
	}
	return a, ""
}

// handleApp serves the /app routes; ok is false for other routes.
func (f *Fake) handleApp(c *call, a *app) (int, any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch c.route.OperationID {
	case "apps/create-installation-access-token":
		id, _ := strconv.ParseInt(c.params["installation_id"], 10, 64)
		if !a.insts[id] {
			return http.StatusNotFound, apiError("Not Found")
		}
		f.minted++
		tok := fmt.Sprintf("ghs_fake%d_%d", id, f.minted)
		exp := f.now().Add(a.tokenTT)
		f.tokens[tok] = true
		if f.expiry == nil {
			f.expiry = map[string]time.Time{}
		}
		f.expiry[tok] = exp
		return http.StatusCreated, map[string]any{"token": tok, "expires_at": exp.UTC().Format(time.RFC3339),
			"permissions":          map[string]any{"contents": "read", "pull_requests": "write", "issues": "write", "statuses": "write"},
			"repository_selection": "all"}
	case "apps/list-webhook-deliveries":
		out := []map[string]any{}
		for i := len(f.hookDeliveries) - 1; i >= 0; i-- { // newest first, as GitHub lists them
			d := f.hookDeliveries[i]
			status := "OK"
			if d.StatusCode < 200 || d.StatusCode > 299 {
				status = "failed"
			}
			out = append(out, map[string]any{"id": d.ID, "guid": d.GUID, "delivered_at": d.DeliveredAt.UTC().Format(time.RFC3339),
				"redelivery": d.Redelivery, "duration": 0.1, "status": status, "status_code": d.StatusCode, "event": d.Event,
				"action": nilIfEmpty(d.Action), "installation_id": nil, "repository_id": nil})
		}
		return http.StatusOK, out
	case "apps/redeliver-webhook-delivery":
		id, _ := strconv.ParseInt(c.params["delivery_id"], 10, 64)
		var orig *HookDelivery
		for _, d := range f.hookDeliveries {
			if d.ID == id {
				orig = d
			}
		}
		if orig == nil {
			return http.StatusUnprocessableEntity, apiError("delivery not found")
		}
		f.nextID++
		re := &HookDelivery{ID: f.nextID, GUID: orig.GUID, Event: orig.Event, Action: orig.Action, Redelivery: true, Payload: orig.Payload, DeliveredAt: f.now()}
		f.hookDeliveries = append(f.hookDeliveries, re)
		url, secret := f.hookURL, f.hookSecret
		go f.deliver(re, url, secret) // GitHub redelivers after answering
		return http.StatusAccepted, map[string]any{}
	}
	return http.StatusInternalServerError, apiError("githubfake has no handler for " + c.route.OperationID)
}

// deliver POSTs a delivery to the webhook as GitHub does and records the
// answer's status.
func (f *Fake) deliver(d *HookDelivery, url string, secret []byte) {
	code := 0
	defer func() {
		f.mu.Lock()
		d.StatusCode = code
		f.mu.Unlock()
	}()
	if url == "" {
		return
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(d.Payload))
	if err != nil {
		return
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(d.Payload)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/fake")
	req.Header.Set("X-GitHub-Event", d.Event)
	req.Header.Set("X-GitHub-Delivery", d.GUID)
	req.Header.Set("X-GitHub-Hook-ID", "1")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return
	}
	resp.Body.Close()
	code = resp.StatusCode
}

// cursorPage answers one page of a cursor-paginated list (the webhook
// deliveries): the cursor is the offset of the page.
func (f *Fake) cursorPage(w http.ResponseWriter, r *http.Request, all []map[string]any) []map[string]any {
	q := r.URL.Query()
	per := min(atoiOr(q, "per_page", 30), 100)
	from, _ := strconv.Atoi(q.Get("cursor"))
	from = min(max(from, 0), len(all))
	to := min(from+per, len(all))
	if to < len(all) {
		u := *r.URL
		qq := u.Query()
		qq.Set("cursor", strconv.Itoa(to))
		qq.Set("per_page", strconv.Itoa(per))
		u.RawQuery = qq.Encode()
		w.Header().Set("Link", fmt.Sprintf("<%s%s>; rel=\"next\"", f.srv.URL, u.RequestURI()))
	}
	return all[from:to]
}

// TokenValid reports whether tok is a token the fake accepts now (a
// test's token, or an installation token it minted that has not expired):
// what a git host in GitHub's place checks.
func (f *Fake) TokenValid(tok string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.tokens[tok]; !ok {
		return false
	}
	exp, ok := f.expiry[tok]
	return !ok || f.now().Before(exp)
}
