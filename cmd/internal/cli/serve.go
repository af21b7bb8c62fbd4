package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/internal/github"
	"github.com/runway-ci/runway/internal/lock"
	"github.com/runway-ci/runway/prbot"
	"github.com/runway-ci/runway/server"
	"github.com/runway-ci/runway/ui"
)

// The environment variables serve reads secrets from (never flags: a flag
// shows in ps and in a pod's spec).
const (
	EnvWebhookSecret = "RUNWAY_WEBHOOK_SECRET"
	EnvGitHubToken   = "RUNWAY_GITHUB_TOKEN"
	EnvGitHubAppKey  = "RUNWAY_GITHUB_APP_KEY"
)

// ServeOptions are the flags of `runway serve`.
type ServeOptions struct {
	Addr              string
	StateDir          string
	SecretFile        string
	TokenFile         string
	AppID             int64
	AppKeyFile        string
	APIURL            string
	GitURL            string
	Workers           int
	QueueSize         int
	ReconcileInterval time.Duration
	DrainTimeout      time.Duration
	BodyTimeout       time.Duration
	UITokenFile       string
	UITrustedHeader   string

	domain string
}

func newServe(g *Global) *cobra.Command {
	o := &ServeOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the standalone webhook server (a GitHub App, or a token)",
		Long: `Receive GitHub's webhooks and run the same work the GitHub Action does:
the PR pipeline on pull_request (opened, synchronize, reopened), the
/runway comment commands on issue_comment, merge promotion on a push to the
default branch.

Every delivery is checked against the webhook secret (X-Hub-Signature-256
only; the server refuses to start without a secret), written to a journal
in --state-dir and fsynced before GitHub gets its 202, deduplicated on
X-GitHub-Delivery, and worked on by --workers workers: one pull request's
deliveries one at a time and in order, different pull requests in
parallel. A full queue answers 503 with Retry-After. Deliveries not
finished when the server stops (or crashes) are replayed when it starts.
With a GitHub App the server also asks GitHub to redeliver what it missed
while it was down (every --reconcile-interval).

Secrets come from files or the environment, never from flags:
  webhook secret   --webhook-secret-file F, or RUNWAY_WEBHOOK_SECRET
  GitHub App       --github-app-id N with --github-app-key-file F (PEM),
                   or RUNWAY_GITHUB_APP_KEY
  or a token       --github-token-file F, or RUNWAY_GITHUB_TOKEN

Endpoints: POST /webhook, GET /healthz, GET /readyz (journal open, store
reachable), GET /metrics (Prometheus), and the web view under /ui/ when
--ui-token-file (or RUNWAY_UI_TOKEN) or --ui-trusted-header says who may
read it (otherwise it refuses everyone). Logs are JSON lines on stderr, each
about a delivery carrying its id. SIGTERM: new deliveries get 503, the work
in flight finishes within --drain-timeout, the rest stays journaled.

Several replicas: give each its own --state-dir and --lock kubernetes, so
one replica at a time works on one pull request (coordination.k8s.io
Leases); see deploy/server.yaml.`,
		Example: `  # locally, with a token and a secret
  export RUNWAY_WEBHOOK_SECRET=$(cat secret.txt) RUNWAY_GITHUB_TOKEN=$(gh auth token)
  runway serve --addr 127.0.0.1:8080 --platform platform.yaml

  # as a GitHub App, two replicas with Leases (the pod spec in deploy/server.yaml)
  runway serve --addr :8080 --github-app-id 123456 --github-app-key-file /secrets/app/key.pem \
    --webhook-secret-file /secrets/webhook/secret --state-dir /var/lib/runway --lock kubernetes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("domain") {
				o.domain = g.Domain // else the platform's first domain
			}
			return runServe(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Addr, "addr", "127.0.0.1:8080", "listen on HOST:PORT (\":8080\" for every interface, as in a pod)")
	f.StringVar(&o.StateDir, "state-dir", "", "the journal and the checkouts (default $RUNWAY_HOME/serve, else ~/.runway/serve); one per replica")
	f.StringVar(&o.SecretFile, "webhook-secret-file", "", "FILE holding the webhook secret (else $"+EnvWebhookSecret+")")
	f.StringVar(&o.TokenFile, "github-token-file", "", "FILE holding a GitHub token (else $"+EnvGitHubToken+"); not with --github-app-id")
	f.Int64Var(&o.AppID, "github-app-id", 0, "act as this GitHub App (installation tokens from its private key)")
	f.StringVar(&o.AppKeyFile, "github-app-key-file", "", "FILE holding the App's private key, PEM (else $"+EnvGitHubAppKey+")")
	f.StringVar(&o.APIURL, "github-api-url", "", "GitHub's REST API root (default https://api.github.com, or $GITHUB_API_URL)")
	f.StringVar(&o.GitURL, "github-git-url", "", "where repositories are fetched from, as URL/owner/name.git (default https://github.com, or $GITHUB_SERVER_URL)")
	f.IntVar(&o.Workers, "workers", 4, "deliveries worked on at once (different pull requests)")
	f.IntVar(&o.QueueSize, "queue-size", 1000, "deliveries journaled and not finished before new ones get 503")
	f.DurationVar(&o.ReconcileInterval, "reconcile-interval", 10*time.Minute, "how often a GitHub App server asks GitHub to redeliver missed deliveries (0: never)")
	f.DurationVar(&o.DrainTimeout, "drain-timeout", 25*time.Second, "on SIGTERM, how long the work in flight may take before it is left for the next start")
	f.DurationVar(&o.BodyTimeout, "body-timeout", 10*time.Second, "a request body slower than this is refused (408)")
	f.StringVar(&o.UITokenFile, "ui-token-file", "", "serve the web view under /ui/ to readers with the bearer token in FILE (or RUNWAY_UI_TOKEN)")
	f.StringVar(&o.UITrustedHeader, "ui-trusted-header", "", "serve the web view under /ui/ to the reader an auth proxy names in this header")
	addLockFlag(cmd.Flags(), g)
	return cmd
}

// readSecret reads a secret from file, else from the environment variable
// env. Surrounding whitespace (a file's final newline) is not part of it.
func readSecret(g *Global, file, env string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading the secret file: %w", err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return nil, fmt.Errorf("the secret file %s is empty", file)
		}
		return []byte(s), nil
	}
	return []byte(strings.TrimSpace(g.getenv()(env))), nil
}

// serveGitHub is the server's GitHub: a client per installation (an App)
// or one client (a token), the token a checkout fetches with, and the
// App's delivery log when there is an App.
type serveGitHub struct {
	app    *github.App
	client *github.Client
	token  string
}

func (s *serveGitHub) Client(installation int64) (*github.Client, error) {
	if s.app != nil {
		return s.app.Installation(installation)
	}
	return s.client, nil
}

func (s *serveGitHub) Token(ctx context.Context, installation int64) (string, error) {
	if s.app != nil {
		return s.app.Token(ctx, installation)
	}
	return s.token, nil
}

func openServeGitHub(g *Global, o *ServeOptions, log *slog.Logger) (*serveGitHub, error) {
	api := o.APIURL
	if api == "" {
		api = g.getenv()("GITHUB_API_URL")
	}
	opts := []github.Option{github.WithBaseURL(api), github.WithLogger(log)}
	token, err := readSecret(g, o.TokenFile, EnvGitHubToken)
	if err != nil {
		return nil, Usagef("--github-token-file: %v", err)
	}
	if o.AppID != 0 {
		if len(token) > 0 {
			return nil, Usagef("give a GitHub App (--github-app-id) or a token (--github-token-file, $%s), not both", EnvGitHubToken)
		}
		key, err := readSecret(g, o.AppKeyFile, EnvGitHubAppKey)
		if err != nil {
			return nil, Usagef("--github-app-key-file: %v", err)
		}
		if len(key) == 0 {
			return nil, Usagef("--github-app-id needs the App's private key: --github-app-key-file FILE or $%s", EnvGitHubAppKey)
		}
		app, err := github.NewApp(o.AppID, key, opts...)
		if err != nil {
			return nil, err
		}
		return &serveGitHub{app: app}, nil
	}
	if len(token) == 0 {
		return nil, Usagef("no GitHub credentials: --github-app-id with --github-app-key-file (or $%s), or a token in --github-token-file (or $%s)", EnvGitHubAppKey, EnvGitHubToken)
	}
	c, err := github.New(append(opts, github.WithToken(string(token)))...)
	if err != nil {
		return nil, err
	}
	return &serveGitHub{client: c, token: string(token)}, nil
}

func runServe(ctx context.Context, g *Global, o *ServeOptions) error {
	log := slog.New(slog.NewJSONHandler(g.IO.Err, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if g.Verbose {
		log = slog.New(slog.NewJSONHandler(g.IO.Err, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	secret, err := readSecret(g, o.SecretFile, EnvWebhookSecret)
	if err != nil {
		return Usagef("--webhook-secret-file: %v", err)
	}
	if len(secret) == 0 {
		return Usagef("no webhook secret: runway serve refuses unsigned webhooks; set --webhook-secret-file FILE or $%s (and the same secret in the App's or the webhook's settings)", EnvWebhookSecret)
	}
	gh, err := openServeGitHub(g, o, log)
	if err != nil {
		return err
	}
	state := o.StateDir
	if state == "" {
		home := g.getenv()("RUNWAY_HOME")
		if home == "" {
			h, herr := os.UserHomeDir()
			if herr != nil {
				return Usagef("--state-dir is needed: neither RUNWAY_HOME nor HOME is set")
			}
			home = filepath.Join(h, ".runway")
		}
		state = filepath.Join(home, "serve")
	}
	p, err := g.project(KubernetesOptions{})
	if err != nil {
		return err
	}
	gitURL := o.GitURL
	if gitURL == "" {
		if gitURL = g.getenv()("GITHUB_SERVER_URL"); gitURL == "" {
			gitURL = "https://github.com"
		}
	}
	checkouts := server.NewCheckouts(filepath.Join(state, "checkouts"), gitURL, gh.Token, log)
	handler := newServeHandler(p, gh, checkouts, o.domain, log)
	opts := []server.Option{
		server.WithSecret(secret), server.WithStateDir(state), server.WithHandler(handler), server.WithLogger(log),
		server.WithWorkers(o.Workers), server.WithQueueSize(o.QueueSize), server.WithDrainTimeout(o.DrainTimeout),
		server.WithBodyTimeout(o.BodyTimeout), server.WithLocker(lock.For(p.Store)),
		server.WithReadiness(func(ctx context.Context) error { _, err := p.Store.Tags(ctx, "readyz"); return err }),
	}
	if gh.app != nil && o.ReconcileInterval > 0 {
		opts = append(opts, server.WithReconciler(&server.Reconciler{GitHub: gh.app, Interval: o.ReconcileInterval}))
	}
	// The web view: refused to everyone unless a token or an auth proxy
	// says who may read (the webhook port faces GitHub, so never anonymous).
	var uiAuthn ui.Auth
	if o.UITokenFile != "" || o.UITrustedHeader != "" || strings.TrimSpace(g.getenv()("RUNWAY_UI_TOKEN")) != "" {
		if uiAuthn, err = uiAuth(g, &UIOptions{Addr: o.Addr, TokenFile: o.UITokenFile, TrustedHeader: o.UITrustedHeader}); err != nil {
			return err
		}
	}
	uih, err := ui.New(p.Store, ui.Options{Auth: uiAuthn, Platform: p.Platform, Logger: log})
	if err != nil {
		return err
	}
	opts = append(opts, server.WithMount("/ui/", uih))
	srv, err := server.New(opts...)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", o.Addr, err)
	}
	// The address the server got (":0" picks a port), for scripts and tests.
	if g.JSON() {
		_ = g.PrintJSON(map[string]string{"url": "http://" + ln.Addr().String(), "webhook": "http://" + ln.Addr().String() + "/webhook",
			"journal": filepath.Join(state, "journal.db")})
	} else {
		fmt.Fprintf(g.IO.Out, "runway serve: listening on http://%s (journal %s)\n", ln.Addr(), filepath.Join(state, "journal.db"))
	}
	if f, ok := g.IO.Out.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}
	err = srv.Serve(ctx, ln)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// newServeHandler is what does a delivery's work: prbot, through the
// server's checkouts and the delivery's installation.
func newServeHandler(p *flow.Project, gh *serveGitHub, co *server.Checkouts, domain string, log *slog.Logger) server.Handler {
	return &server.Bot{Project: p, Checkouts: co, Domain: domain, Log: log,
		GitHub: func(installation int64) (prbot.GitHub, error) { return gh.Client(installation) }}
}
