package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runway-ci/runway/ui"
)

// DefaultUIAddr is where `runway ui` listens unless --addr says otherwise.
const DefaultUIAddr = "127.0.0.1:7070"

// UIOptions are the flags of `runway ui`.
type UIOptions struct {
	Addr          string
	TokenFile     string
	TrustedHeader string
}

func newUI(g *Global) *cobra.Command {
	o := &UIOptions{}
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Serve a read-only web view of the store: executions, DAGs, outputs, promotions",
		Long: `Serve a read-only web view of the store in a browser, and print its URL.

Pages: executions (filter by project, domain, status and launch plan); one
execution as a DAG coloured by state, a timeline of its nodes, and each
node's inputs, outputs (file and dir outputs download by digest), failure
class and message, resources and cache key; an entity's versions in every
domain, what is active, and its promotion history with actor, evidence and
approvals; and the trail of one version: PR, plan decision, image and
bundle, entities, promotions and runs. Every page has a JSON twin: add
?o=json to its URL, or send Accept: application/json. Running executions
update live.

It reads every project of the store (--store, else the platform's, else
$RUNWAY_HOME/store) and never writes to it. Nothing is loaded from the
internet: the pages work offline.

On 127.0.0.1 (the default) anyone on this machine may read it. To listen on
another address, say who may read: --token-file FILE (or RUNWAY_UI_TOKEN)
for a bearer token (scripts send "Authorization: Bearer TOKEN"; browsers
sign in once at /ui/login), or --trusted-header NAME when an auth proxy
such as oauth2-proxy sets that header and every request comes through it.
Without either, runway ui refuses to listen beyond this machine.`,
		Example: `  runway ui                                   # http://127.0.0.1:7070/ui/
  runway ui --addr 127.0.0.1:0                # any free port; the URL is printed
  runway ui --store file:///tmp/runway-store
  RUNWAY_UI_TOKEN=$(cat /etc/runway/ui-token) runway ui --addr 0.0.0.0:7070
  runway ui --addr 10.0.0.5:7070 --trusted-header X-Forwarded-User   # behind oauth2-proxy
  curl -s http://127.0.0.1:7070/ui/?o=json    # the executions list, as -o json prints it`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUI(cmd.Context(), g, o)
		},
	}
	cmd.Flags().StringVar(&o.Addr, "addr", DefaultUIAddr, "HOST:PORT to listen on (port 0: any free port)")
	cmd.Flags().StringVar(&o.TokenFile, "token-file", "", "FILE holding the bearer token readers must present (or set RUNWAY_UI_TOKEN)")
	cmd.Flags().StringVar(&o.TrustedHeader, "trusted-header", "", "trust this header set by an auth proxy (such as X-Forwarded-User) as the reader's name")
	return cmd
}

// uiAuth decides who may read, from the flags and the environment. A
// token and a trusted header are exclusive; with neither, only a loopback
// address is allowed (anonymous, this machine only).
func uiAuth(g *Global, o *UIOptions) (ui.Auth, error) {
	token := strings.TrimSpace(g.getenv()("RUNWAY_UI_TOKEN"))
	if o.TokenFile != "" {
		b, err := os.ReadFile(o.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("reading --token-file: %w", err)
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			return nil, Usagef("--token-file %s is empty", o.TokenFile)
		}
	}
	switch {
	case token != "" && o.TrustedHeader != "":
		return nil, Usagef("give a bearer token (--token-file or RUNWAY_UI_TOKEN) or --trusted-header, not both")
	case token != "":
		return ui.BearerToken(token), nil
	case o.TrustedHeader != "":
		return ui.TrustedHeader(o.TrustedHeader), nil
	}
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, Usagef("--addr %q: want HOST:PORT, such as %s", o.Addr, DefaultUIAddr)
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return ui.Anonymous(true), nil
	}
	return nil, Usagef("--addr %s can be reached from other machines, so say who may read: --token-file FILE (or RUNWAY_UI_TOKEN) for a bearer token, or --trusted-header NAME behind an auth proxy; or listen on 127.0.0.1", o.Addr)
}

func runUI(ctx context.Context, g *Global, o *UIOptions) error {
	auth, err := uiAuth(g, o)
	if err != nil {
		return err
	}
	p, err := g.project(KubernetesOptions{})
	if err != nil {
		return err
	}
	h, err := ui.New(p.Store, ui.Options{Auth: auth, Platform: p.Platform, Logger: g.Log(), LogDir: p.LogDir})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w (is another runway ui running? --addr 127.0.0.1:0 picks a free port)", o.Addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ui/", h)
	mux.Handle("GET /{$}", http.RedirectHandler("/ui/", http.StatusFound))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		// Requests end with the command, so open event streams close.
		BaseContext: func(net.Listener) context.Context { return ctx }}
	url := "http://" + ln.Addr().String() + "/ui/"
	if g.JSON() {
		if err := g.PrintJSON(map[string]string{"url": url, "store": p.Store.String(), "auth": ui.AuthMode(auth)}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(g.IO.Out, "runway ui: %s\n  read-only view of %s; readers: %s\n  Ctrl-C stops it\n", url, p.Store, ui.AuthMode(auth))
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving %s: %w", url, err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
