package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	runway "github.com/runway-ci/runway"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/storeopen"
	"github.com/runway-ci/runway/internal/testkit/githost"
	"github.com/runway-ci/runway/internal/testkit/githubfake"
	"github.com/runway-ci/runway/server"
)

// These tests run `runway serve` as a real process (this test binary,
// which TestMain turns into runway for "serve"), against the strict GitHub
// fake, a git host (git http-backend) holding the sample pipeline, and an
// on-disk store, and POST GitHub's own example payloads to it, signed.

const serveRepo = "Codertocat/Hello-World" // the repository of GitHub's examples

type serveWorld struct {
	t                  *testing.T
	gh                 *githubfake.Fake
	host               *githost.Host
	store, state, home string
	secret             []byte
	base, head         string
	env                []string // more environment for the next start
}

func newServeWorld(t *testing.T) *serveWorld {
	t.Helper()
	w := &serveWorld{t: t, secret: []byte("serve-test-secret"), store: t.TempDir(), state: t.TempDir(), home: t.TempDir()}
	src := t.TempDir()
	if err := runway.WriteSample(src); err != nil {
		t.Fatal(err)
	}
	gitOut(t, src, "init", "-q", "-b", "master")
	w.base = gitCommitAll(t, src, "the sample")
	gitOut(t, src, "checkout", "-q", "-b", "feature")
	f, err := os.OpenFile(filepath.Join(src, "pipeline", "train.py"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "# a code change: a bundle, not an image")
	f.Close()
	w.head = gitCommitAll(t, src, "change the model code")
	w.gh = githubfake.New(t)
	w.gh.AddToken("ghs_server", true)
	w.gh.AddRepo(serveRepo)
	w.gh.SetRole(serveRepo, "Codertocat", "admin")
	w.host = githost.New(t, func(tok string) bool { return tok == "ghs_server" })
	w.host.Push(serveRepo, src, "master:refs/heads/master", "feature:refs/pull/2/head")
	return w
}

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func gitCommitAll(t *testing.T, dir, msg string) string {
	gitOut(t, dir, "add", "-A")
	gitOut(t, dir, "commit", "-q", "-m", msg)
	return gitOut(t, dir, "rev-parse", "HEAD")
}

// serveProc is one running `runway serve`.
type serveProc struct {
	cmd  *exec.Cmd
	url  string
	logs string // its stderr: JSON lines
	done chan struct{}
}

func (w *serveWorld) start(args ...string) *serveProc {
	w.t.Helper()
	return w.startEnv(nil, args...)
}

// startEnv is start with more environment (later entries win).
func (w *serveWorld) startEnv(env []string, args ...string) *serveProc {
	w.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		w.t.Fatal(err)
	}
	p := &serveProc{logs: filepath.Join(w.t.TempDir(), "serve.log"), done: make(chan struct{})}
	logf, err := os.Create(p.logs)
	if err != nil {
		w.t.Fatal(err)
	}
	all := append([]string{"serve", "--addr", "127.0.0.1:0", "--state-dir", w.state, "--store", "file://" + w.store,
		"--github-api-url", w.gh.URL(), "--github-git-url", w.host.URL}, args...)
	p.cmd = exec.Command(exe, all...)
	p.cmd.Env = append(os.Environ(), EnvWebhookSecret+"="+string(w.secret), EnvGitHubToken+"=ghs_server", "RUNWAY_HOME="+w.home)
	p.cmd.Env = append(append(p.cmd.Env, w.env...), env...)
	p.cmd.Stderr = logf
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); logf.Close(); close(p.done) }()
	w.t.Cleanup(func() { p.kill() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b, _ := os.ReadFile(p.logs)
		w.t.Fatalf("runway serve did not start: %v\n%s", err, b)
	}
	m := regexp.MustCompile(`http://(\S+)`).FindStringSubmatch(line)
	if m == nil {
		w.t.Fatalf("runway serve printed %q", line)
	}
	p.url = "http://" + m[1]
	return p
}

func (p *serveProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *serveProc) post(t *testing.T, secret []byte, event, id string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.url+"/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-Hub-Signature-256", server.Sign(secret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s %s: %v", event, id, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metric sums the samples of a series whose labels contain every of match.
func (p *serveProc) metric(t *testing.T, name string, match ...string) float64 {
	t.Helper()
	resp, err := http.Get(p.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	sum := 0.0
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, name+" ") && !strings.HasPrefix(l, name+"{") {
			continue
		}
		ok := true
		for _, m := range match {
			ok = ok && strings.Contains(l, m)
		}
		if !ok {
			continue
		}
		f := strings.Fields(l)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		sum += v
	}
	return sum
}

// waitIdle waits until every accepted delivery is finished.
func (p *serveProc) waitIdle(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		acc := p.metric(t, "runway_webhook_deliveries_total", `outcome="accepted"`)
		fin := p.metric(t, "runway_webhook_deliveries_total", `outcome="handled"`) + p.metric(t, "runway_webhook_deliveries_total", `outcome="failed"`)
		if fin >= acc && p.metric(t, "runway_webhook_queue_depth") == 0 && p.metric(t, "runway_webhook_workers_busy") == 0 {
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(p.logs)
			_ = os.WriteFile(filepath.Join(os.TempDir(), "runway-serve-test.log"), b, 0o644)
			t.Fatalf("still working after %v: %v accepted, %v finished (log in %s)\n%s", timeout, acc, fin,
				filepath.Join(os.TempDir(), "runway-serve-test.log"), tail(string(b), 4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// logLines returns the server's log lines with msg, as maps.
func (p *serveProc) logLines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(p.logs)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, l := range strings.Split(string(b), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

var (
	corpusOnce sync.Once
	corpus     []struct {
		Name     string           `json:"name"`
		Examples []map[string]any `json:"examples"`
	}
	corpusErr error
)

// octokitExamples is every example payload of @octokit/webhooks-examples.
func octokitExamples(t *testing.T) []struct {
	Name     string           `json:"name"`
	Examples []map[string]any `json:"examples"`
} {
	t.Helper()
	corpusOnce.Do(func() {
		dir, err := githubfake.NPMPackage(context.Background(), githubfake.WebhookExamplesPackage, githubfake.WebhookExamplesVersion, "api.github.com/")
		if err != nil {
			corpusErr = err
			return
		}
		b, err := os.ReadFile(filepath.Join(dir, "api.github.com", "index.json"))
		if err != nil {
			corpusErr = err
			return
		}
		corpusErr = json.Unmarshal(b, &corpus)
	})
	if corpusErr != nil {
		t.Fatalf("GitHub's example payloads (%s@%s, fetched with npm): %v", githubfake.WebhookExamplesPackage, githubfake.WebhookExamplesVersion, corpusErr)
	}
	return corpus
}

// adapt points a pull_request example at the world's commits, and a push
// to the default branch at the head (a push that merged no pull request).
func (w *serveWorld) adapt(event string, ex map[string]any) []byte {
	b, _ := json.Marshal(ex)
	var p map[string]any
	_ = json.Unmarshal(b, &p)
	if pr, ok := p["pull_request"].(map[string]any); ok && event == "pull_request" {
		pr["head"].(map[string]any)["sha"] = w.head
		pr["base"].(map[string]any)["sha"] = w.base
	}
	if event == "push" && p["ref"] == "refs/heads/master" {
		p["after"] = w.head
	}
	out, _ := json.Marshal(p)
	return out
}

// commentOn is GitHub's issue_comment example for a comment the fake
// knows (so reactions to it land): body on #number, by Codertocat.
func (w *serveWorld) commentOn(t *testing.T, number int, body string) []byte {
	id := w.gh.AddComment(serveRepo, number, "Codertocat", body)
	for _, e := range octokitExamples(t) {
		if e.Name != "issue_comment" {
			continue
		}
		for _, ex := range e.Examples {
			if ex["action"] == "created" {
				b, _ := json.Marshal(ex)
				var p map[string]any
				_ = json.Unmarshal(b, &p)
				p["issue"].(map[string]any)["number"] = number
				p["comment"].(map[string]any)["body"] = body
				p["comment"].(map[string]any)["id"] = id
				out, _ := json.Marshal(p)
				return out
			}
		}
	}
	t.Fatal("no issue_comment created example")
	return nil
}

// TestServeOctokitCorpus POSTs every example payload GitHub publishes,
// signed, to a running runway serve: no answer is a 5xx, the relevant ones
// do their work against the GitHub fake, every other one is ignored and
// counted.
func TestServeOctokitCorpus(t *testing.T) {
	w := newServeWorld(t)
	w.gh.SetPullRequest(serveRepo, githubfake.PullRequest{Number: 2, Title: "Update the README with new information.", User: "Codertocat",
		HeadSHA: w.head, HeadRef: "changes", BaseSHA: w.base, BaseRef: "master"})
	w.gh.SetPullRequest(serveRepo, githubfake.PullRequest{Number: 1, Title: "an issue's number", User: "Codertocat", HeadSHA: w.head, BaseSHA: w.base, BaseRef: "master"})
	p := w.start("--workers", "2")
	accepted, recorded, ignored, n := 0, 0, 0, 0
	for _, e := range octokitExamples(t) {
		for i, ex := range e.Examples {
			n++
			code, body := p.post(t, w.secret, e.Name, fmt.Sprintf("corpus-%s-%d", e.Name, i), w.adapt(e.Name, ex))
			if code >= 500 {
				t.Errorf("%s example %d: %d %s", e.Name, i, code, body)
			}
			switch {
			case code == http.StatusAccepted && strings.Contains(body, `"accepted"`):
				accepted++
			case code == http.StatusAccepted && strings.Contains(body, `"ignored"`):
				ignored++
			case code == http.StatusAccepted && strings.Contains(body, `"recorded"`) && (e.Name == "ping" || strings.HasPrefix(e.Name, "installation")):
				recorded++
			default:
				t.Errorf("%s example %d: %d %s", e.Name, i, code, body)
			}
		}
	}
	// Comment commands, on GitHub's issue_comment example: the same parser
	// and authorizer as the Action.
	for i, c := range []string{"/runway help", "/runway plan", "/runway frobnicate"} {
		if code, body := p.post(t, w.secret, "issue_comment", fmt.Sprint("command-", i), w.commentOn(t, 2, c)); code != http.StatusAccepted || !strings.Contains(body, `"accepted"`) {
			t.Errorf("%q: %d %s", c, code, body)
		}
		accepted++
	}
	p.waitIdle(t, 2*time.Minute)
	t.Logf("%d examples: %d journaled for work, %d recorded, %d ignored", n, accepted-3, recorded, ignored)
	if recorded == 0 || accepted-3 == 0 {
		t.Errorf("nothing recorded (%d) or journaled for work (%d)", recorded, accepted-3)
	}
	if got := p.metric(t, "runway_webhook_deliveries_total", `outcome="ignored"`); int(got) != ignored {
		t.Errorf("ignored counted %v, answered %d", got, ignored)
	}
	if failed := p.metric(t, "runway_webhook_deliveries_total", `outcome="failed"`); failed != 0 {
		t.Errorf("%v deliveries failed:\n%v", failed, p.logLines(t, "delivery failed"))
	}
	// The PR pipeline ran: one sticky comment on #2, edited in place, and
	// the runway status on the head.
	sticky := 0
	for _, c := range w.gh.Comments(serveRepo, 2) {
		if strings.Contains(c.Body, "runway") && c.User == "github-actions[bot]" && c.Edits > 0 {
			sticky++
		}
	}
	if sticky != 1 {
		t.Errorf("%d edited runway comments on #2, want the one sticky comment", sticky)
	}
	st := w.gh.Statuses(serveRepo, w.head)
	if len(st) == 0 || st[len(st)-1].State != "success" {
		t.Errorf("statuses on the head: %+v", st)
	}
	// The commands were answered, each once.
	replies := map[string]int{}
	for _, c := range w.gh.Comments(serveRepo, 2) {
		switch {
		case strings.Contains(c.Body, "runway understands these commands"):
			replies["help"]++
		case strings.Contains(c.Body, "frobnicate"):
			replies["usage"]++
		}
	}
	if replies["help"] < 1 || replies["usage"] != 1 {
		t.Errorf("replies %v", replies)
	}
	// Every log line about a delivery names it.
	for _, l := range p.logLines(t, "delivery handled") {
		if l["delivery"] == nil || l["delivery"] == "" {
			t.Errorf("a log line without the delivery id: %v", l)
		}
	}
}

// TestServeCrashReplay kills runway serve with -9 while 50 deliveries are
// journaled and unfinished, starts it again, and counts the effects: each
// delivery was handled exactly once.
func TestServeCrashReplay(t *testing.T) {
	w := newServeWorld(t)
	const prs, helps = 10, 40
	for n := 1; n <= prs; n++ {
		w.gh.SetPullRequest(serveRepo, githubfake.PullRequest{Number: 100 + n, Title: "pr", User: "Codertocat", HeadSHA: w.head, HeadRef: "changes", BaseSHA: w.base, BaseRef: "master"})
	}
	w.gh.SetPullRequest(serveRepo, githubfake.PullRequest{Number: 2, Title: "pr", User: "Codertocat", HeadSHA: w.head, BaseSHA: w.base, BaseRef: "master"})
	var prExample map[string]any
	for _, e := range octokitExamples(t) {
		for _, ex := range e.Examples {
			if e.Name == "pull_request" && ex["action"] == "opened" && prExample == nil {
				prExample = ex
			}
		}
	}
	// The git host stops answering: the first pull request's checkout hangs
	// in flight and, with one worker, everything else waits journaled.
	w.host.Hold()
	p := w.start("--workers", "1")
	var ids []string
	for n := 1; n <= prs; n++ {
		b, _ := json.Marshal(prExample)
		var ex map[string]any
		_ = json.Unmarshal(b, &ex)
		ex["number"] = 100 + n
		ex["pull_request"].(map[string]any)["number"] = 100 + n
		id := fmt.Sprint("crash-pr-", n)
		if code, body := p.post(t, w.secret, "pull_request", id, w.adapt("pull_request", ex)); code != http.StatusAccepted {
			t.Fatalf("%s: %d %s", id, code, body)
		}
		ids = append(ids, id)
	}
	for i := 0; i < helps; i++ {
		id := fmt.Sprint("crash-help-", i)
		body := w.commentOn(t, 2, "/runway help")
		if code, b := p.post(t, w.secret, "issue_comment", id, body); code != http.StatusAccepted {
			t.Fatalf("%s: %d %s", id, code, b)
		}
		ids = append(ids, id)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	if n := len(p.logLines(t, "delivery handled")); n != 0 {
		t.Fatalf("%d deliveries were handled before the kill; the test needs all 50 unfinished", n)
	}
	if writes := w.gh.Writes(); writes != 0 {
		t.Fatalf("%d writes to GitHub before the kill", writes)
	}
	w.host.Release()
	p2 := w.start("--workers", "2")
	p2.waitIdle(t, 5*time.Minute)
	handled := map[string]int{}
	for _, l := range p2.logLines(t, "delivery handled") {
		handled[fmt.Sprint(l["delivery"])]++
	}
	for _, id := range ids {
		if handled[id] != 1 {
			t.Errorf("%s handled %d times after the restart, want 1", id, handled[id])
		}
	}
	if len(handled) != len(ids) {
		t.Errorf("%d deliveries handled, want %d", len(handled), len(ids))
	}
	// Effects at GitHub: one help reply per comment, one sticky comment per
	// pull request, and two statuses (pending, success) per pipeline run.
	helpReplies := 0
	for _, c := range w.gh.Comments(serveRepo, 2) {
		if strings.Contains(c.Body, "runway understands these commands") {
			helpReplies++
		}
	}
	if helpReplies != helps {
		t.Errorf("%d help replies, want %d (one per command)", helpReplies, helps)
	}
	for n := 1; n <= prs; n++ {
		if c := w.gh.Comments(serveRepo, 100+n); len(c) != 1 {
			t.Errorf("#%d has %d comments, want the one sticky comment", 100+n, len(c))
		}
	}
	if st := w.gh.Statuses(serveRepo, w.head); len(st) != 2*prs {
		t.Errorf("%d statuses on the head, want %d (pending and success, once per pull request)", len(st), 2*prs)
	}
	// Effects in the store: the head is registered, once, in development.
	tags := storeTags(t, w.store, store.EntityRepo("house-prices", "development", "workflow", "train"))
	if len(tags) != 1 || tags[0] != w.head {
		t.Errorf("workflow train's versions in development: %v, want [%s]", tags, w.head)
	}
}

func storeTags(t *testing.T, dir, repo string) []string {
	t.Helper()
	s, err := storeopen.Open("file://" + dir)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := s.Tags(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	return tags
}

func httpGet(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeRefusalsHealthAndUI: the real process refuses what is not
// GitHub's, answers its probes, and keeps the web view closed unless told
// who may read it.
func TestServeRefusalsHealthAndUI(t *testing.T) {
	w := newServeWorld(t)
	p := w.start()
	body := []byte(`{"zen":"Design for failure.","hook_id":1}`)
	for _, tc := range []struct {
		name, header, value, want string
	}{
		{"unsigned", "X-Hub-Signature-256", "", "unsigned"},
		{"sha1 only", "X-Hub-Signature", "sha1=" + strings.Repeat("0", 40), "sha1_only"},
		{"forged", "X-Hub-Signature-256", server.Sign([]byte("not the secret"), body), "bad_signature"},
	} {
		req, _ := http.NewRequest(http.MethodPost, p.url+"/webhook", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "ping")
		req.Header.Set("X-GitHub-Delivery", "refused-"+tc.name)
		if tc.value != "" {
			req.Header.Set(tc.header, tc.value)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s: %d %s", tc.name, resp.StatusCode, b)
		}
	}
	if n := p.metric(t, "runway_webhook_deliveries_total"); n != 0 {
		t.Errorf("refused requests counted as deliveries: %v", n)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, b := httpGet(t, p.url+path); code != 200 {
			t.Errorf("%s: %d %s", path, code, b)
		}
	}
	if code, _ := httpGet(t, p.url+"/ui/"); code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Errorf("the web view answered %d to an anonymous reader; it must be closed by default", code)
	}
	p.kill()
	if b, _ := os.ReadFile(p.logs); bytes.Contains(b, w.secret) || bytes.Contains(b, []byte("ghs_server")) {
		t.Errorf("a secret is in the server's log:\n%s", b)
	}
	w.env = []string{"RUNWAY_UI_TOKEN=ui-secret-token"}
	p = w.start()
	if code, _ := httpGet(t, p.url+"/ui/"); code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Errorf("the web view answered %d without the token", code)
	}
	if code, b := httpGet(t, p.url+"/ui/", "Authorization", "Bearer ui-secret-token"); code != http.StatusOK {
		t.Errorf("the web view with the token: %d %s", code, tail(b, 300))
	}
}

// TestServeDrainsOnSIGTERM: on SIGTERM the server answers new deliveries
// 503, gives the work in flight its drain timeout, exits 0, and leaves what
// it did not finish in the journal for the next start.
func TestServeDrainsOnSIGTERM(t *testing.T) {
	w := newServeWorld(t)
	w.gh.SetPullRequest(serveRepo, githubfake.PullRequest{Number: 2, Title: "pr", User: "Codertocat", HeadSHA: w.head, HeadRef: "changes", BaseSHA: w.base, BaseRef: "master"})
	var prExample map[string]any
	for _, e := range octokitExamples(t) {
		for _, ex := range e.Examples {
			if e.Name == "pull_request" && ex["action"] == "opened" && prExample == nil {
				prExample = ex
			}
		}
	}
	w.host.Hold() // the checkout hangs: the delivery stays in flight
	p := w.start("--drain-timeout", "3s")
	if code, b := p.post(t, w.secret, "pull_request", "drain-1", w.adapt("pull_request", prExample)); code != http.StatusAccepted {
		t.Fatalf("%d %s", code, b)
	}
	for p.metric(t, "runway_webhook_workers_busy") != 1 {
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// While it drains, a new delivery is refused with 503 (GitHub's
	// redelivery, or the reconciler, brings it back).
	refused := false
	for time.Since(start) < 2*time.Second && !refused {
		req, _ := http.NewRequest(http.MethodPost, p.url+"/webhook", bytes.NewReader([]byte(`{}`)))
		req.Header.Set("X-GitHub-Event", "ping")
		req.Header.Set("X-GitHub-Delivery", "during-drain")
		req.Header.Set("X-Hub-Signature-256", server.Sign(w.secret, []byte(`{}`)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			break // the listener is closed: also a refusal
		}
		resp.Body.Close()
		refused = resp.StatusCode == http.StatusServiceUnavailable
		if !refused && resp.StatusCode != http.StatusAccepted {
			t.Fatalf("during the drain: %d", resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
	<-p.done
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
	if el := time.Since(start); el < 2*time.Second || el > 20*time.Second {
		t.Errorf("stopped after %v; the drain timeout is 3s", el)
	}
	w.host.Release()
	p2 := w.start()
	p2.waitIdle(t, 2*time.Minute)
	handled := 0
	for _, l := range p2.logLines(t, "delivery handled") {
		if l["delivery"] == "drain-1" {
			handled++
		}
	}
	if handled != 1 {
		t.Fatalf("drain-1 handled %d times after the restart, want 1", handled)
	}
}

// TestServeAsGitHubApp: with --github-app-id the server exchanges the
// App's JWT for an installation token (the fake verifies the JWT against
// the App's public key), uses it for GitHub's API and for git, and reuses
// it while it is fresh.
func TestServeAsGitHubApp(t *testing.T) {
	w := newServeWorld(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	w.gh.AddApp(4242, &key.PublicKey, time.Hour)
	var prExample map[string]any
	for _, e := range octokitExamples(t) {
		for _, ex := range e.Examples {
			if e.Name == "pull_request" && ex["action"] == "opened" && prExample == nil && ex["installation"] != nil {
				prExample = ex
			}
		}
	}
	inst := int64(prExample["installation"].(map[string]any)["id"].(float64))
	w.gh.AddInstallation(4242, inst)
	w.gh.SetPullRequest(serveRepo, githubfake.PullRequest{Number: 2, Title: "pr", User: "Codertocat", HeadSHA: w.head, HeadRef: "changes", BaseSHA: w.base, BaseRef: "master"})
	// The git host takes only what the fake would: its installation tokens.
	old := w.host.Path(serveRepo)
	w.host = githost.New(t, w.gh.TokenValid)
	src := t.TempDir()
	gitOut(t, src, "clone", "-q", "--mirror", old, ".")
	w.host.Push(serveRepo, src, "refs/heads/master:refs/heads/master", "refs/pull/2/head:refs/pull/2/head")
	p := w.startEnv([]string{EnvGitHubToken + "="}, "--github-app-id", "4242", "--github-app-key-file", keyFile, "--reconcile-interval", "0")
	for i, action := range []string{"opened", "reopened"} {
		// Two deliveries, so the second uses the cached installation token;
		// the same body twice would be a replay, refused as a duplicate.
		ex := map[string]any{}
		for k, v := range prExample {
			ex[k] = v
		}
		ex["action"] = action
		if code, body := p.post(t, w.secret, "pull_request", fmt.Sprint("app-", i), w.adapt("pull_request", ex)); code != http.StatusAccepted {
			t.Fatalf("%d %s", code, body)
		}
	}
	p.waitIdle(t, 2*time.Minute)
	if failed := p.metric(t, "runway_webhook_deliveries_total", `outcome="failed"`); failed != 0 {
		t.Fatalf("%v deliveries failed: %v", failed, p.logLines(t, "delivery failed"))
	}
	if st := w.gh.Statuses(serveRepo, w.head); len(st) != 4 || st[3].State != "success" {
		t.Errorf("statuses %+v, want pending and success twice", st)
	}
	if n := w.gh.TokensMinted(); n != 1 {
		t.Errorf("%d installation tokens minted for two deliveries, want 1 (cached)", n)
	}
	if w.host.Refused() != 0 {
		t.Errorf("the git host refused %d requests", w.host.Refused())
	}
}

// TestServeRefusesToStart: no secret, no credentials, or both kinds of
// credentials: a usage error (exit 2) that says what to set, before
// anything listens.
func TestServeRefusesToStart(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no secret", map[string]string{EnvGitHubToken: "t"}, nil, "no webhook secret"},
		{"empty secret file", map[string]string{EnvGitHubToken: "t"}, []string{"--webhook-secret-file", empty}, "is empty"},
		{"missing secret file", map[string]string{EnvGitHubToken: "t"}, []string{"--webhook-secret-file", empty + ".nope"}, "reading the secret file"},
		{"no credentials", map[string]string{EnvWebhookSecret: "s"}, nil, "no GitHub credentials"},
		{"token and app", map[string]string{EnvWebhookSecret: "s", EnvGitHubToken: "t"}, []string{"--github-app-id", "3"}, "not both"},
		{"app without key", map[string]string{EnvWebhookSecret: "s"}, []string{"--github-app-id", "3"}, "private key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			env := map[string]string{"RUNWAY_HOME": t.TempDir()}
			for k, v := range tc.env {
				env[k] = v
			}
			code := Main(append([]string{"serve", "--addr", "127.0.0.1:0"}, tc.args...), IO{Out: &out, Err: &errb, Environment: func(k string) string { return env[k] }})
			if code != ExitUsage || !strings.Contains(errb.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errb.String(), ExitUsage, tc.want)
			}
			if strings.Contains(out.String(), "listening") {
				t.Fatal("it started listening")
			}
		})
	}
}
