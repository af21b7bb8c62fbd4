package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gogithub "github.com/google/go-github/v60/github"
)

// App is a GitHub App: it authenticates as the App with a JWT signed by its
// private key (for the App's own endpoints, such as its webhook
// deliveries), and as each installation with an installation token that
// the JWT is exchanged for. Tokens are cached per installation and
// refreshed a minute before they expire (ghinstallation); the clients made
// for installations are kept, so their ETag caches are too.
//
// ghinstallation does the JWT and the token exchange because that is the
// part worth not writing again (clock skew on iat, refresh before expiry,
// concurrent refreshes); everything above it is this package's transport
// stack, so an installation's calls are retried and rate-limited like
// every other runway call.
type App struct {
	id      int64
	apps    *ghinstallation.AppsTransport
	baseURL string
	opts    []Option
	client  *Client

	mu    sync.Mutex
	insts map[int64]*installation
}

type installation struct {
	tr     *ghinstallation.Transport
	client *Client
}

// NewApp returns the App with this id and PEM private key. opts apply to
// every client it makes (WithBaseURL, WithLogger, WithRetryMax, ...);
// WithToken and WithTransport are the App's to set.
func NewApp(appID int64, privateKeyPEM []byte, opts ...Option) (*App, error) {
	if appID <= 0 {
		return nil, fmt.Errorf("github app id must be positive, got %d", appID)
	}
	o := &options{}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	base := o.transport
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	atr, err := ghinstallation.NewAppsTransport(base, appID, privateKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("github app %d: reading its private key: %w", appID, err)
	}
	api := "https://api.github.com"
	if o.baseURL != "" {
		api = strings.TrimRight(o.baseURL, "/")
	}
	atr.BaseURL = api
	a := &App{id: appID, apps: atr, baseURL: api, opts: opts, insts: map[int64]*installation{}}
	if a.client, err = New(append(append([]Option{}, opts...), WithTransport(atr))...); err != nil {
		return nil, err
	}
	return a, nil
}

// ID is the App's id.
func (a *App) ID() int64 { return a.id }

func (a *App) installation(id int64) (*installation, error) {
	if id <= 0 {
		return nil, fmt.Errorf("github app %d: the delivery names no installation", a.id)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if in, ok := a.insts[id]; ok {
		return in, nil
	}
	tr := ghinstallation.NewFromAppsTransport(a.apps, id)
	tr.BaseURL = a.baseURL
	c, err := New(append(append([]Option{}, a.opts...), WithTransport(tr))...)
	if err != nil {
		return nil, err
	}
	in := &installation{tr: tr, client: c}
	a.insts[id] = in
	return in, nil
}

// Installation returns the client that acts as installation id.
func (a *App) Installation(id int64) (*Client, error) {
	in, err := a.installation(id)
	if err != nil {
		return nil, err
	}
	return in.client, nil
}

// Token returns a current installation token, for git over HTTPS
// (user x-access-token). It is the cached one unless it expires within a
// minute.
func (a *App) Token(ctx context.Context, id int64) (string, error) {
	in, err := a.installation(id)
	if err != nil {
		return "", err
	}
	t, err := in.tr.Token(ctx)
	if err != nil {
		return "", fmt.Errorf("github app %d: installation %d token: %w", a.id, id, err)
	}
	return t, nil
}

// HookDelivery is one attempt at a webhook delivery, as GitHub lists them.
type HookDelivery struct {
	ID          int64     // this attempt
	GUID        string    // X-GitHub-Delivery, shared by the redeliveries
	DeliveredAt time.Time //
	StatusCode  int       // the answer GitHub got; 0 when it got none
	Event       string
	Action      string
	Redelivery  bool
}

// HookDeliveries lists the App's webhook deliveries made since, newest
// first (GET /app/hook/deliveries, cursor-paginated).
func (a *App) HookDeliveries(ctx context.Context, since time.Time) ([]HookDelivery, error) {
	var out []HookDelivery
	opts := &gogithub.ListCursorOptions{PerPage: 100}
	for {
		page, resp, err := a.client.REST.Apps.ListHookDeliveries(ctx, opts)
		if err != nil {
			return nil, wrap(fmt.Sprintf("listing the webhook deliveries of github app %d", a.id), resp, err)
		}
		older := false
		for _, d := range page {
			hd := HookDelivery{ID: d.GetID(), GUID: d.GetGUID(), DeliveredAt: d.GetDeliveredAt().Time,
				StatusCode: d.GetStatusCode(), Event: d.GetEvent(), Action: d.GetAction(), Redelivery: d.GetRedelivery()}
			if hd.DeliveredAt.Before(since) {
				older = true
				continue
			}
			out = append(out, hd)
		}
		if older || resp.Cursor == "" || len(page) == 0 {
			return out, nil
		}
		opts.Cursor = resp.Cursor
	}
}

// Redeliver asks GitHub to deliver a webhook delivery again
// (POST /app/hook/deliveries/{id}/attempts).
func (a *App) Redeliver(ctx context.Context, id int64) error {
	_, resp, err := a.client.REST.Apps.RedeliverHookDelivery(ctx, id)
	if accepted := (*gogithub.AcceptedError)(nil); errors.As(err, &accepted) {
		err = nil // 202 is the documented answer
	}
	return wrap(fmt.Sprintf("asking github app %d to redeliver delivery %d", a.id, id), resp, err)
}
