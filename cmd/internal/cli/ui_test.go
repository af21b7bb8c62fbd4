package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runway-ci/runway/ui"
)

// lockedBuffer is an output stream a test reads while a command writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var uiURL = regexp.MustCompile(`http://127\.0\.0\.1:\d+/ui/`)

// startUI runs `runway ui ARGS` until the test ends and returns the URL it
// printed.
func startUI(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errb := &lockedBuffer{}, &lockedBuffer{}
	g := &Global{IO: IO{In: strings.NewReader(""), Out: out, Err: errb, Environment: func(k string) string { return env[k] }}}
	root := NewRoot(g)
	root.SetArgs(append([]string{"ui"}, args...))
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("runway ui ended with %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("runway ui did not stop within 10s of its context ending")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if u := uiURL.FindString(out.String()); u != "" {
			return u
		}
		select {
		case err := <-done:
			t.Fatalf("runway ui ended: %v\n%s%s", err, out, errb)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("runway ui printed no URL:\n%s%s", out, errb)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestUIServesTheStoreOnLoopback(t *testing.T) {
	home := t.TempDir()
	u := startUI(t, map[string]string{"RUNWAY_HOME": home}, "--addr", "127.0.0.1:0")
	resp, err := http.Get(strings.TrimSuffix(u, "ui/"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/ui/" || resp.StatusCode != 200 {
		t.Errorf("/ leads to %s (%d), want /ui/", resp.Request.URL, resp.StatusCode)
	}
	resp, err = http.Get(u + "?o=json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var list []any
	if err := json.Unmarshal(body, &list); err != nil || len(list) != 0 {
		t.Errorf("an empty store's executions: %v %s", err, body)
	}
}

func TestUIRefusesToListenOpenBeyondLoopback(t *testing.T) {
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte("  s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		o    UIOptions
		env  string
		mode string // "" = refused
		want string
	}{
		{UIOptions{Addr: "127.0.0.1:7070"}, "", "anonymous, this machine only", ""},
		{UIOptions{Addr: "localhost:0"}, "", "anonymous, this machine only", ""},
		{UIOptions{Addr: "[::1]:0"}, "", "anonymous, this machine only", ""},
		{UIOptions{Addr: "0.0.0.0:7070"}, "", "", "can be reached from other machines"},
		{UIOptions{Addr: ":7070"}, "", "", "can be reached from other machines"},
		{UIOptions{Addr: "0.0.0.0:7070", TokenFile: tok}, "", "bearer token", ""},
		{UIOptions{Addr: "0.0.0.0:7070"}, "s3cret", "bearer token", ""},
		{UIOptions{Addr: "0.0.0.0:7070", TrustedHeader: "X-Forwarded-User"}, "", "auth proxy (X-Forwarded-User)", ""},
		{UIOptions{Addr: "0.0.0.0:7070", TokenFile: tok, TrustedHeader: "X-Forwarded-User"}, "", "", "not both"},
		{UIOptions{Addr: "0.0.0.0:7070", TokenFile: empty}, "", "", "is empty"},
		{UIOptions{Addr: "0.0.0.0:7070", TokenFile: filepath.Join(t.TempDir(), "absent")}, "", "", "reading --token-file"},
		{UIOptions{Addr: "nonsense"}, "", "", "want HOST:PORT"},
	} {
		g := &Global{IO: IO{Environment: func(k string) string {
			if k == "RUNWAY_UI_TOKEN" {
				return tc.env
			}
			return ""
		}}}
		a, err := uiAuth(g, &tc.o)
		switch {
		case tc.mode == "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: %v, want an error with %q", tc.o, err, tc.want)
		case tc.mode != "" && err != nil:
			t.Errorf("%+v: %v", tc.o, err)
		case tc.mode != "" && a != nil && !strings.Contains(ui.AuthMode(a), tc.mode):
			t.Errorf("%+v: mode %q, want %q", tc.o, ui.AuthMode(a), tc.mode)
		}
	}
	// Through the command: the refusal is a usage error, exit 2.
	r := run(t, t.TempDir(), "ui", "--addr", "0.0.0.0:0")
	if r.code != ExitUsage || !strings.Contains(r.err, "--token-file") {
		t.Errorf("exit %d: %s", r.code, r.err)
	}
}
