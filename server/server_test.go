package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runway-ci/runway/internal/lock"
)

var testSecret = []byte("It's a Secret to Everybody")

type running struct {
	s    *Server
	url  string
	stop func() error
}

func start(t *testing.T, dir string, h Handler, opts ...Option) *running {
	t.Helper()
	s, err := New(append([]Option{WithSecret(testSecret), WithStateDir(dir), WithHandler(h), WithMaxAttempts(3)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	var once sync.Once
	var serr error
	stop := func() error {
		once.Do(func() { cancel(); serr = <-done })
		return serr
	}
	t.Cleanup(func() { _ = stop() })
	return &running{s: s, url: "http://" + ln.Addr().String(), stop: stop}
}

func prPayload(repo string, number int, action, head string) []byte {
	b, _ := json.Marshal(map[string]any{
		"action": action, "number": number,
		"repository":   map[string]any{"full_name": repo, "default_branch": "main"},
		"installation": map[string]any{"id": 42},
		"pull_request": map[string]any{"number": number, "head": map[string]any{"sha": head}},
	})
	return b
}

func commentPayload(repo string, number int, body string) []byte {
	b, _ := json.Marshal(map[string]any{
		"action": "created", "repository": map[string]any{"full_name": repo, "default_branch": "main"},
		"issue":   map[string]any{"number": number, "pull_request": map[string]any{}},
		"comment": map[string]any{"body": body, "user": map[string]any{"login": "alice", "type": "User"}},
	})
	return b
}

type post struct {
	event, id   string
	body        []byte
	contentType string
	header      map[string]string // "" value deletes
}

func (r *running) send(t *testing.T, p post) (int, answer, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.url+"/webhook", bytes.NewReader(p.body))
	req.Header.Set("X-GitHub-Event", p.event)
	req.Header.Set("X-GitHub-Delivery", p.id)
	req.Header.Set("X-Hub-Signature-256", Sign(testSecret, p.body))
	ct := p.contentType
	if ct == "" {
		ct = "application/json"
	}
	req.Header.Set("Content-Type", ct)
	for k, v := range p.header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &a)
	return resp.StatusCode, a, resp.Header
}

func counts(t *testing.T, j *Journal) map[string]int {
	t.Helper()
	c, err := j.Counts()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRefusesWithoutSecret(t *testing.T) {
	_, err := New(WithStateDir(t.TempDir()), WithHandler(HandlerFunc(func(context.Context, *Delivery) error { return nil })))
	if err == nil || !strings.Contains(err.Error(), "secret") {
		t.Fatalf("New without a secret: %v", err)
	}
	if _, err := New(WithSecret(nil)); err == nil {
		t.Fatal("WithSecret(nil) accepted")
	}
}

func TestRefusals(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	r := start(t, t.TempDir(), HandlerFunc(func(ctx context.Context, d *Delivery) error { <-block; return nil }),
		WithBodyTimeout(300*time.Millisecond))
	body := prPayload("octo/pipelines", 7, "opened", "aaa")
	for _, tc := range []struct {
		name   string
		p      post
		status int
		reason string
	}{
		{"forged", post{event: "pull_request", id: "f1", body: body, header: map[string]string{"X-Hub-Signature-256": Sign([]byte("guess"), body)}}, 401, reasonForged},
		{"not hex", post{event: "pull_request", id: "f2", body: body, header: map[string]string{"X-Hub-Signature-256": "sha256=zz"}}, 401, reasonForged},
		{"unsigned", post{event: "pull_request", id: "u1", body: body, header: map[string]string{"X-Hub-Signature-256": ""}}, 401, reasonUnsigned},
		{"sha1 only", post{event: "pull_request", id: "s1", body: body, header: map[string]string{"X-Hub-Signature-256": "", "X-Hub-Signature": "sha1=0123"}}, 401, reasonSHA1Only},
		{"no delivery id", post{event: "pull_request", id: "", body: body}, 400, reasonBadRequest},
		{"not JSON", post{event: "pull_request", id: "j1", body: []byte("{nope")}, 400, reasonBadEncoding},
		{"form without payload", post{event: "pull_request", id: "j2", body: []byte("a=b"), contentType: "application/x-www-form-urlencoded"}, 400, reasonBadEncoding},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, a, _ := r.send(t, tc.p)
			if code != tc.status || a.Reason != tc.reason || a.Message == "" {
				t.Fatalf("got %d %+v, want %d reason %s and a message", code, a, tc.status, tc.reason)
			}
		})
	}
	t.Run("oversized", func(t *testing.T) {
		big := append([]byte(`{"x":"`), bytes.Repeat([]byte("a"), MaxBody)...)
		big = append(big, `"}`...)
		code, a, _ := r.send(t, post{event: "pull_request", id: "o1", body: big})
		if code != http.StatusRequestEntityTooLarge || a.Reason != reasonTooLarge {
			t.Fatalf("declared length: %d %+v", code, a)
		}
		// The same without Content-Length (chunked): cut off while reading
		// (a server of its own: 25 MiB take longer than this one's 300ms).
		r := start(t, t.TempDir(), HandlerFunc(func(context.Context, *Delivery) error { return nil }))
		req, _ := http.NewRequest(http.MethodPost, r.url+"/webhook", io.MultiReader(bytes.NewReader(big)))
		req.ContentLength = -1
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", "o2")
		req.Header.Set("X-Hub-Signature-256", Sign(testSecret, big))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("chunked: %d", resp.StatusCode)
		}
		if c := counts(t, r.s.j); len(c) != 0 {
			t.Fatalf("an oversized request was journaled: %v", c)
		}
	})
	t.Run("slow body", func(t *testing.T) {
		c, err := net.Dial("tcp", strings.TrimPrefix(r.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: pull_request\r\nX-GitHub-Delivery: slow1\r\n"+
			"X-Hub-Signature-256: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", Sign(testSecret, body), len(body), body[:10])
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), reasonSlowBody) {
			t.Fatalf("slow body: %d %s", resp.StatusCode, b)
		}
	})
	if c := counts(t, r.s.j); len(c) != 0 {
		t.Fatalf("refused requests were journaled: %v", c)
	}
	// Replayed: the first is journaled, the second is not.
	if code, a, _ := r.send(t, post{event: "pull_request", id: "r1", body: body}); code != http.StatusAccepted || a.Status != "accepted" {
		t.Fatalf("first delivery: %d %+v", code, a)
	}
	code, a, _ := r.send(t, post{event: "pull_request", id: "r1", body: body})
	if code != http.StatusOK || a.Status != "duplicate" || !strings.Contains(a.Message, "received before") {
		t.Fatalf("replayed delivery: %d %+v", code, a)
	}
	// Replayed under a fresh delivery id: GitHub signs the body, not the
	// X-GitHub-Delivery header, so the signature verifies; the body gives
	// the replay away.
	code, a, _ = r.send(t, post{event: "pull_request", id: "r2-forged-id", body: body})
	if code != http.StatusOK || a.Status != "duplicate" {
		t.Fatalf("the same signed body under a new delivery id: %d %+v", code, a)
	}
	if c := counts(t, r.s.j); c[statePending]+c[stateDone] != 1 {
		t.Fatalf("journal %v, want the one delivery", c)
	}
	metrics := get(t, r.url+"/metrics")
	for _, want := range []string{`runway_webhook_rejections_total{reason="sha1_only"} 1`, `runway_webhook_dedupes_total 2`, `runway_webhook_rejections_total{reason="slow_body"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestFormEncodedAndIgnored(t *testing.T) {
	got := make(chan *Delivery, 4)
	r := start(t, t.TempDir(), HandlerFunc(func(ctx context.Context, d *Delivery) error { got <- d; return nil }))
	body := prPayload("octo/pipelines", 7, "opened", "aaa")
	form := []byte("payload=" + url.QueryEscape(string(body)))
	if code, a, _ := r.send(t, post{event: "pull_request", id: "form1", body: form, contentType: "application/x-www-form-urlencoded"}); code != 202 || a.Status != "accepted" {
		t.Fatalf("form-encoded: %d %+v", code, a)
	}
	d := <-got
	if d.Key != "pr/octo/pipelines/7" || !json.Valid(d.Payload) || d.Installation != 42 {
		t.Fatalf("delivery %+v", d)
	}
	for _, p := range []post{
		{event: "star", id: "i1", body: []byte(`{"action":"created"}`)},
		{event: "pull_request", id: "i2", body: prPayload("octo/pipelines", 7, "labeled", "aaa")},
		{event: "issue_comment", id: "i3", body: commentPayload("octo/pipelines", 7, "LGTM")},
	} {
		if code, a, _ := r.send(t, p); code != 202 || a.Status != "ignored" {
			t.Fatalf("%s: %d %+v", p.id, code, a)
		}
	}
	if c := counts(t, r.s.j); c[stateDone]+c[statePending] != 1 {
		t.Fatalf("journal %v: ignored deliveries were journaled", c)
	}
}

func TestQueueFullAnswers503(t *testing.T) {
	block := make(chan struct{})
	r := start(t, t.TempDir(), HandlerFunc(func(ctx context.Context, d *Delivery) error { <-block; return nil }), WithQueueSize(2), WithWorkers(1))
	for i := 0; i < 2; i++ {
		code, a, _ := r.send(t, post{event: "pull_request", id: fmt.Sprint("q", i), body: prPayload("o/r", 5, "synchronize", fmt.Sprint("a", i))})
		if code != 202 || a.Position != i {
			t.Fatalf("delivery %d: %d %+v, want position %d", i, code, a, i)
		}
		if i == 1 && !strings.Contains(a.Message, "queued behind 1 in pr/o/r/5") {
			t.Fatalf("the answer does not say where it is queued: %q", a.Message)
		}
	}
	code, a, h := r.send(t, post{event: "pull_request", id: "q2", body: prPayload("o/r", 9, "opened", "a")})
	defer close(block)
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || a.Reason != reasonQueueFull {
		t.Fatalf("full queue: %d %+v Retry-After=%q", code, a, h.Get("Retry-After"))
	}
	if _, ok, _ := r.s.j.Seen("q2"); ok {
		t.Fatal("the refused delivery was journaled")
	}
}

// TestOrderPerPullRequest: one pull request's deliveries run one at a time
// in the order received; other pull requests run beside them.
func TestOrderPerPullRequest(t *testing.T) {
	var mu sync.Mutex
	order := map[string][]string{}
	active := map[string]int{}
	var maxParallel, now atomic.Int32
	var done sync.WaitGroup
	r := start(t, t.TempDir(), HandlerFunc(func(ctx context.Context, d *Delivery) error {
		defer done.Done()
		n := now.Add(1)
		defer now.Add(-1)
		for m := maxParallel.Load(); n > m && !maxParallel.CompareAndSwap(m, n); m = maxParallel.Load() {
		}
		mu.Lock()
		active[d.Key]++
		if active[d.Key] > 1 {
			t.Errorf("two deliveries of %s at once", d.Key)
		}
		order[d.Key] = append(order[d.Key], d.ID)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		active[d.Key]--
		mu.Unlock()
		return nil
	}), WithWorkers(4))
	done.Add(20)
	for i := 0; i < 10; i++ {
		for _, pr := range []int{1, 2} {
			r.send(t, post{event: "pull_request", id: fmt.Sprintf("pr%d-%02d", pr, i), body: prPayload("o/r", pr, "synchronize", fmt.Sprint(i))})
		}
	}
	done.Wait()
	for _, pr := range []string{"pr/o/r/1", "pr/o/r/2"} {
		for i, id := range order[pr] {
			if want := fmt.Sprintf("pr%s-%02d", pr[len(pr)-1:], i); id != want {
				t.Fatalf("%s ran %v, out of order", pr, order[pr])
			}
		}
	}
	if maxParallel.Load() < 2 {
		t.Errorf("two pull requests never ran in parallel")
	}
}

// TestCommentRecordsHead: a command is filed with the head runway last saw
// for its pull request, as of when it was received.
func TestCommentRecordsHead(t *testing.T) {
	got := make(chan *Delivery, 8)
	r := start(t, t.TempDir(), HandlerFunc(func(ctx context.Context, d *Delivery) error { got <- d; return nil }), WithWorkers(1))
	r.send(t, post{event: "pull_request", id: "p1", body: prPayload("o/r", 3, "opened", "head1")})
	r.send(t, post{event: "issue_comment", id: "c1", body: commentPayload("o/r", 3, "/runway plan")})
	r.send(t, post{event: "pull_request", id: "p2", body: prPayload("o/r", 3, "synchronize", "head2")})
	r.send(t, post{event: "issue_comment", id: "c2", body: commentPayload("o/r", 3, "/runway register")})
	heads := map[string]string{}
	for i := 0; i < 4; i++ {
		d := <-got
		heads[d.ID] = d.Head
	}
	if heads["c1"] != "head1" || heads["c2"] != "head2" {
		t.Fatalf("heads %v", heads)
	}
}

// TestRestartReplays: deliveries journaled but not finished when the
// server stops are handled after it starts again, once.
func TestRestartReplays(t *testing.T) {
	dir := t.TempDir()
	block := make(chan struct{})
	r := start(t, dir, HandlerFunc(func(ctx context.Context, d *Delivery) error {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return ctx.Err()
	}), WithWorkers(2), WithDrainTimeout(100*time.Millisecond))
	for i := 0; i < 10; i++ {
		r.send(t, post{event: "pull_request", id: fmt.Sprint("d", i), body: prPayload("o/r", i, "opened", "a")})
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	wg.Add(10)
	r2 := start(t, dir, HandlerFunc(func(ctx context.Context, d *Delivery) error {
		mu.Lock()
		seen[d.ID]++
		mu.Unlock()
		wg.Done()
		return nil
	}))
	wg.Wait()
	time.Sleep(50 * time.Millisecond)
	if err := r2.stop(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if n := seen[fmt.Sprint("d", i)]; n != 1 {
			t.Errorf("d%d handled %d times after the restart", i, n)
		}
	}
	j, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if c := counts(t, j); c[stateDone] != 10 || c[statePending] != 0 {
		t.Fatalf("journal %v", c)
	}
}

// TestFailuresAreFinal: a handler's error marks the delivery failed at
// once (the clients under it retry the network; a second run would post
// its replies again), and a panic fails the delivery, not the server.
func TestFailuresAreFinal(t *testing.T) {
	var calls atomic.Int32
	r := start(t, t.TempDir(), HandlerFunc(func(ctx context.Context, d *Delivery) error {
		calls.Add(1)
		if d.ID == "boom" {
			panic("a bug")
		}
		return fmt.Errorf("the registry refused")
	}))
	r.send(t, post{event: "pull_request", id: "x", body: prPayload("o/r", 1, "opened", "a")})
	r.send(t, post{event: "pull_request", id: "boom", body: prPayload("o/r", 2, "opened", "a")})
	deadline := time.Now().Add(5 * time.Second)
	for {
		sx, _, _ := r.s.j.Seen("x")
		sb, _, _ := r.s.j.Seen("boom")
		if sx == stateFailed && sb == stateFailed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("states %s and %s, want failed", sx, sb)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if calls.Load() != 2 {
		t.Fatalf("%d calls, want 2", calls.Load())
	}
	if code, _, _ := r.send(t, post{event: "pull_request", id: "after", body: prPayload("o/r", 3, "opened", "a")}); code != 202 {
		t.Fatalf("after a panic the server answered %d", code)
	}
}

// TestCrashLoopGivesUp: a delivery started MaxAttempts times without
// finishing (it killed the server each time) is marked failed, not run.
func TestCrashLoopGivesUp(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := &Delivery{ID: "poison", Event: "pull_request", Key: "pr/o/r/1", Received: time.Now(), Payload: []byte(`{}`)}
	if err := j.Add(d, ""); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := j.Started(d); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	var calls atomic.Int32
	r := start(t, dir, HandlerFunc(func(context.Context, *Delivery) error { calls.Add(1); return nil }))
	deadline := time.Now().Add(5 * time.Second)
	for st, _, _ := r.s.j.Seen("poison"); st != stateFailed; st, _, _ = r.s.j.Seen("poison") {
		if time.Now().After(deadline) {
			t.Fatalf("state %s, want failed", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if calls.Load() != 0 {
		t.Fatal("the poison delivery ran again")
	}
}

func TestHealthAndReadiness(t *testing.T) {
	var storeErr atomic.Value
	storeErr.Store("")
	r := start(t, t.TempDir(), HandlerFunc(func(context.Context, *Delivery) error { return nil }), WithReadiness(func(context.Context) error {
		if s := storeErr.Load().(string); s != "" {
			return fmt.Errorf("%s", s)
		}
		return nil
	}))
	if got := get(t, r.url+"/healthz"); got != "ok\n" {
		t.Fatalf("healthz %q", got)
	}
	if got := get(t, r.url+"/readyz"); got != "ready\n" {
		t.Fatalf("readyz %q", got)
	}
	storeErr.Store("registry unreachable")
	resp, err := http.Get(r.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the store down: %d", resp.StatusCode)
	}
}

// flakyLocker hands out locks whose context ends (as lost) shortly after
// the first acquisition: the lock a replica loses while working.
type flakyLocker struct {
	mu    sync.Mutex
	n     int
	locks lock.Process
}

type flakyHeld struct {
	lock.Held
	ctx context.Context
}

func (h flakyHeld) Context() context.Context { return h.ctx }

func (f *flakyLocker) Acquire(ctx context.Context, key string) (lock.Held, error) {
	h, err := f.locks.Acquire(ctx, key)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.n++
	first := f.n == 1
	f.mu.Unlock()
	if !first {
		return h, nil
	}
	lctx, cancel := context.WithCancelCause(h.Context())
	time.AfterFunc(50*time.Millisecond, func() { cancel(lock.ErrLost) })
	return flakyHeld{Held: h, ctx: lctx}, nil
}

func (f *flakyLocker) String() string { return "flaky test locks" }

// TestLostLockRequeues: work whose lane lock is lost stops, and the
// delivery runs again (not only after a restart).
func TestLostLockRequeues(t *testing.T) {
	var calls atomic.Int32
	r := start(t, t.TempDir(), HandlerFunc(func(ctx context.Context, d *Delivery) error {
		calls.Add(1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
			return nil
		}
	}), WithLocker(&flakyLocker{}), func(o *options) error { o.requeueAfter = 10 * time.Millisecond; return nil })
	r.send(t, post{event: "pull_request", id: "lost", body: prPayload("o/r", 1, "opened", "a")})
	deadline := time.Now().Add(5 * time.Second)
	for st, _, _ := r.s.j.Seen("lost"); st != stateDone; st, _, _ = r.s.j.Seen("lost") {
		if time.Now().After(deadline) {
			t.Fatalf("state %q after the lost lock, want done", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if calls.Load() != 2 {
		t.Fatalf("%d runs, want 2 (stopped when the lock was lost, then again)", calls.Load())
	}
}
