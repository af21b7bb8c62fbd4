package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// smallLineage registers a 9-node grid workflow into development, runs
// it there, promotes the version to staging with evidence and runs it
// there too (its node n0007 failing).
func smallLineage(t *testing.T) (*fixture, *executor.Execution, *executor.Execution) {
	f := newFixture(t)
	f.registerGrid("development", "grid", 9, 3)
	f.register("development", &registrar.Entity{Kind: registrar.KindLaunchPlan, Project: testProject, Name: "nightly", Version: f.version,
		LaunchPlan: &registrar.LaunchPlan{Workflow: f.ref("grid"), Inputs: map[string]any{"seed": "7"}}})
	dev := f.run("development", "grid", f.runner(), map[string]any{"seed": "7"})
	if dev.Status != executor.StatusSucceeded {
		t.Fatalf("development run: %s %s", dev.Status, dev.Error)
	}
	f.promote(promote.Request{From: "development", To: "staging", Actor: promote.Actor{Login: "alice"},
		PR:        &promote.PR{Number: 12, URL: "https://github.example/acme/lineage/pull/12", Author: "carol"},
		Approvals: []string{"bob"}, Reason: "merge of #12"})
	r := f.runner()
	r.fail["n0007"] = "Traceback (most recent call last):\n  File \"pipeline/join.py\", line 3\nValueError: rows must be positive"
	stg := f.run("staging", "grid", r, map[string]any{"seed": "7"})
	if stg.Status != executor.StatusFailed {
		t.Fatalf("staging run: %s", stg.Status)
	}
	return f, dev, stg
}

func TestPagesShowTheLineage(t *testing.T) {
	f, dev, stg := smallLineage(t)
	srv := f.server(Options{})
	base := "/ui/"

	code, body := get(t, srv, base)
	if code != 200 || !strings.Contains(body, dev.ID) || !strings.Contains(body, stg.ID) {
		t.Fatalf("executions list: %d\n%s", code, body)
	}
	// Filters: by domain, by status, by project, by launch plan.
	for _, tc := range []struct {
		query     string
		want, not []string
	}{
		{"?domain=staging", []string{stg.ID}, []string{dev.ID}},
		{"?status=succeeded", []string{dev.ID}, []string{stg.ID}},
		{"?project=" + testProject + "&domain=development", []string{dev.ID}, []string{stg.ID}},
		{"?project=other", nil, []string{dev.ID, stg.ID}},
		{"?launchplan=nightly", nil, []string{dev.ID, stg.ID}},
	} {
		code, body := get(t, srv, base+tc.query)
		if code != 200 {
			t.Fatalf("%s: %d", tc.query, code)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %s", tc.query, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(body, n) {
				t.Errorf("%s shows %s", tc.query, n)
			}
		}
	}

	// The execution page: one SVG node per node, coloured by state, the
	// timeline, the failure.
	code, body = get(t, srv, base+"executions/"+testProject+"/staging/"+stg.ID)
	if code != 200 {
		t.Fatalf("execution page: %d\n%s", code, body)
	}
	if n := strings.Count(body, `<g class="node"`); n != 9 {
		t.Errorf("%d DAG nodes, want 9", n)
	}
	if n := strings.Count(body, `<g class="bar"`); n != 9 {
		t.Errorf("%d timeline rows, want 9", n)
	}
	for _, want := range []string{`data-node="n0007" data-status="failed"`, `data-node="n0000" data-status="succeeded"`,
		"ValueError: rows must be positive", `id="dag"`, `id="timeline"`, "/ui/executions/lineage/staging/" + stg.ID + "/nodes/n0007"} {
		if !strings.Contains(body, want) {
			t.Errorf("execution page lacks %q", want)
		}
	}
	// A finished execution does not open an event stream.
	if strings.Contains(body, "live.js") {
		t.Error("a finished execution's page loads live.js")
	}

	// The node page: inputs, outputs with download links, failure class and
	// the whole message (the CLI's tree cuts it at the first line),
	// resources asked for, cache key.
	code, body = get(t, srv, base+"executions/"+testProject+"/staging/"+stg.ID+"/nodes/n0007")
	if code != 200 {
		t.Fatalf("node page: %d\n%s", code, body)
	}
	for _, want := range []string{"user failure", "ExitCode", "File &#34;pipeline/join.py&#34;, line 3", "cpu=250m", "memory=256Mi",
		`<td id="used">peak memory 48 MiB, CPU 0.25s`, `<td class="used">peak memory 48 MiB, CPU 0.25s</td>`,
		`data-attempt="1"`, `data-attempt="2"`, "Traceback (most recent call last):"} {
		if !strings.Contains(body, want) {
			t.Errorf("failed node page lacks %q", want)
		}
	}
	// Its two attempts (the task has one retry) are two red bars on the
	// execution's timeline.
	_, body = get(t, srv, base+"executions/"+testProject+"/staging/"+stg.ID)
	row := body[strings.Index(body, `<g class="bar" data-node="n0007"`):]
	row = row[:strings.Index(row, "</g>")]
	if n := strings.Count(row, `<rect class="attempt" data-status="failed"`); n != 2 {
		t.Errorf("n0007's timeline row has %d failed attempt bars, want 2: %s", n, row)
	}
	code, body = get(t, srv, base+"executions/"+testProject+"/development/"+dev.ID+"/nodes/n0004")
	n4 := dev.Node("n0004")
	if code != 200 || !strings.Contains(body, n4.CacheKey) || !strings.Contains(body, "/ui/blobs/lineage/development/"+n4.Outputs["report"].Digest+"?name=report") {
		t.Errorf("node page lacks the cache key or the download link: %d\n%s", code, body)
	}

	// The download is the blob itself.
	code, body = get(t, srv, base+"blobs/lineage/development/"+n4.Outputs["report"].Digest+"?name=report")
	if code != 200 || body != "report of n0004\n" {
		t.Errorf("download: %d %q", code, body)
	}

	// The entity page: versions per domain with identical digests, the
	// promotion with actor, approvals, PR and reason.
	code, body = get(t, srv, base+"entities/"+testProject+"/workflow/grid")
	if code != 200 {
		t.Fatalf("entity page: %d\n%s", code, body)
	}
	for _, want := range []string{`id="digests-identical"`, "all 2 domains", "alice", "approved by bob", "merge of #12", "promoted from development", "#12", dev.ID, stg.ID} {
		if !strings.Contains(body, want) {
			t.Errorf("entity page lacks %q", want)
		}
	}

	// A launch plan's page says where it is active: promotion activated it
	// in staging.
	code, body = get(t, srv, base+"entities/"+testProject+"/launchplan/nightly")
	if code != 200 || !strings.Contains(body, `<tr data-domain="staging"><td>staging</td>`) || !strings.Contains(body, `data-status="running">active</span>`) ||
		!strings.Contains(body, `data-type="activation"`) {
		t.Errorf("launch plan page does not show it active in staging: %d\n%s", code, body)
	}
	if strings.Count(body, ">active</span>") != 1 {
		t.Errorf("the launch plan is shown active in %d domains, want 1 (staging)", strings.Count(body, ">active</span>"))
	}

	// The version trail.
	code, body = get(t, srv, base+"versions/"+testProject+"/"+f.version)
	if code != 200 {
		t.Fatalf("trail: %d\n%s", code, body)
	}
	for _, want := range []string{"PR <a href=\"https://github.example/acme/lineage/pull/12\"", "Not recorded for this version", "sha256:" + strings.Repeat("2", 64), "registry.invalid/lineage/image@", "workflow/grid", "✓ same digest", "alice", dev.ID, stg.ID} {
		if !strings.Contains(body, want) {
			t.Errorf("trail lacks %q", want)
		}
	}
	code, body = get(t, srv, base+"versions?project="+testProject)
	if code != 200 || !strings.Contains(body, f.version) {
		t.Errorf("versions page: %d\n%s", code, body)
	}
	code, body = get(t, srv, base+"entities")
	if code != 200 || !strings.Contains(body, "/ui/entities/lineage/task/join") {
		t.Errorf("entities page: %d\n%s", code, body)
	}
}

// Every page's JSON twin is what -o json prints for the same thing.
func TestJSONTwins(t *testing.T) {
	f, dev, stg := smallLineage(t)
	fixed := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	srv := f.server(Options{Now: func() time.Time { return fixed }})

	var want bytes.Buffer
	if err := executor.RenderJSON(&want, dev, fixed); err != nil {
		t.Fatal(err)
	}
	code, body := get(t, srv, "/ui/executions/lineage/development/"+dev.ID+"?o=json")
	if code != 200 || body != want.String() {
		t.Errorf("execution JSON twin differs from `runway get execution -o json`:\n%s\nwant\n%s", body, want.String())
	}
	code, body2 := get(t, srv, "/ui/executions/lineage/development/"+dev.ID, "Accept", "application/json")
	if code != 200 || body2 != body {
		t.Error("Accept: application/json does not give the JSON twin")
	}

	want.Reset()
	if err := executor.RenderListJSON(&want, []*executor.Execution{stg}, fixed); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, srv, "/ui/?o=json&domain=staging"); body != want.String() {
		t.Errorf("list JSON twin differs from `runway list executions -o json`:\n%s\nwant\n%s", body, want.String())
	}

	p, _ := promote.New(f.s, f.plat)
	h, err := p.History(t.Context(), testProject, registrar.KindWorkflow, "grid", promote.HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantH, _ := json.Marshal(h)
	var gotH any
	_, body = get(t, srv, "/ui/entities/lineage/workflow/grid?o=json")
	if err := json.Unmarshal([]byte(body), &gotH); err != nil {
		t.Fatal(err)
	}
	var wantAny any
	_ = json.Unmarshal(wantH, &wantAny)
	if a, b := mustJSON(gotH), mustJSON(wantAny); a != b {
		t.Errorf("entity JSON twin differs from `runway history -o json`:\n%s\nwant\n%s", a, b)
	}

	var node map[string]any
	_, body = get(t, srv, "/ui/executions/lineage/staging/"+stg.ID+"/nodes/n0007?o=json")
	if err := json.Unmarshal([]byte(body), &node); err != nil {
		t.Fatal(err)
	}
	if node["id"] != "n0007" || node["status"] != "failed" || node["resources"] == nil || node["error"] == nil {
		t.Errorf("node JSON: %s", body)
	}
	var tr trail
	_, body = get(t, srv, "/ui/versions/lineage/"+f.version+"?o=json")
	if err := json.Unmarshal([]byte(body), &tr); err != nil {
		t.Fatal(err)
	}
	if len(tr.Runs) != 2 || len(tr.PRs) != 1 || len(tr.Entities) != 4 || !tr.Entities[0].Identical || len(tr.Records) == 0 {
		t.Errorf("trail JSON: %s", body)
	}
	// Errors are JSON too.
	code, body = get(t, srv, "/ui/executions/lineage/development/00000000000000?o=json")
	if code != 404 || !strings.Contains(body, `"error"`) {
		t.Errorf("missing execution as JSON: %d %s", code, body)
	}
}

func mustJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", " ")
	return string(b)
}

// Bad input gets a clear error with the right status, never a panic.
func TestBadInput(t *testing.T) {
	f, dev, _ := smallLineage(t)
	srv := f.server(Options{})
	ex := "/ui/executions/lineage/development/" + dev.ID
	for _, tc := range []struct {
		path string
		code int
		want string
	}{
		{"/ui/executions/lineage/development/not-an-id", 400, "want 14 characters"},
		{"/ui/executions/lineage/development/00000000000000", 404, "execution 00000000000000 not found in lineage/development"},
		{"/ui/executions/lineage/nowhere/" + dev.ID, 404, "not found"},
		{"/ui/executions/" + url.PathEscape("../etc") + "/development/" + dev.ID, 400, "project"},
		{ex + "/nodes/nope", 404, "has no node &#34;nope&#34;"},
		{"/ui/blobs/lineage/development/sha256:zz", 400, "is not a sha256 digest"},
		{"/ui/blobs/lineage/development/sha256:" + strings.Repeat("0", 64), 404, "not found"},
		{"/ui/entities/lineage/gizmo/grid", 400, "unknown kind"},
		{"/ui/entities/lineage/workflow/absent", 404, "not registered in any domain"},
		{"/ui/versions/lineage/" + strings.Repeat("f", 40), 404, "no entity at version"},
		{"/ui/versions/lineage/a%20b", 400, "not a valid name"},
		{"/ui/?status=exploded", 400, "status &#34;exploded&#34;"},
		{"/ui/?project=%3Cb%3E", 400, "not a valid name"},
		{"/ui/no/such/page", 404, "no page at"},
	} {
		code, body := get(t, srv, tc.path)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s: %d, want %d with %q\n%s", tc.path, code, tc.code, tc.want, body)
		}
	}
	// Read-only: no method but GET and HEAD (and the login form).
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		req, _ := http.NewRequest(m, srv.URL+ex, strings.NewReader("x"))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d, want 405", m, ex, resp.StatusCode)
		}
	}
	if _, err := New(f.s, Options{Prefix: "ui"}); err == nil || !strings.Contains(err.Error(), "slash at both ends") {
		t.Errorf("a bad prefix: %v", err)
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("a nil store was accepted")
	}
}

// A blob whose bytes no longer match their digest is never served whole:
// the connection is cut.
func TestDownloadIsVerified(t *testing.T) {
	f, dev, _ := smallLineage(t)
	srv := f.server(Options{})
	d := dev.Node("n0001").Outputs["report"].Digest
	blob := filepath.Join(storeDir(t, f), "blobs", "sha256", strings.TrimPrefix(d, "sha256:"))
	if err := os.WriteFile(blob, []byte("report of n0666\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Get(srv.URL + "/ui/blobs/lineage/development/" + d)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("a tampered blob was served as complete")
	}
}

func storeDir(t *testing.T, f *fixture) string {
	u, err := url.Parse(f.s.String())
	if err != nil || u.Scheme != "file" {
		t.Fatalf("store %s is not a layout", f.s)
	}
	return u.Path
}

// The injection corpus: hostile text in every user-controlled place a
// page shows (node outputs, failure messages and log tails, promotion
// actor, reason, PR URL and author, approvals) comes out escaped on every
// page and in the event stream, and a javascript: URL never becomes a link.
func TestInjectionCorpus(t *testing.T) {
	corpus := []string{
		`<script>alert(1)</script>`,
		`"><img src=x onerror=alert(1)>`,
		`'><svg onload=alert(2)>`,
		`</textarea></pre><script>alert(3)</script>`,
		`</script><script>alert(4)</script>`,
		`<a href="javascript:alert(5)">x</a>`,
		`{{.}}<!--`,
		`<iframe srcdoc="<script>alert(6)</script>">`,
		`<style>*{display:none}</style>`,
	}
	hostile := strings.Join(corpus, " ")
	f := newFixture(t)
	f.registerGrid("development", "grid", 4, 2)
	r := f.runner()
	r.out["n0000"] = hostile
	r.fail["n0003"] = "stderr ends with:\n" + hostile
	ex := f.run("development", "grid", r, map[string]any{"seed": hostile})
	f.promote(promote.Request{From: "development", To: "staging", Actor: promote.Actor{Login: `<b>mallory</b>"'`},
		PR:        &promote.PR{Number: 1, URL: "javascript:alert(7)", Author: `<img src=x onerror=alert(8)>`},
		Approvals: []string{`<script>alert(9)</script>`}, Reason: hostile})
	srv := f.server(Options{})
	pages := []string{
		"/ui/",
		"/ui/executions/lineage/development/" + ex.ID,
		"/ui/executions/lineage/development/" + ex.ID + "/nodes/n0000",
		"/ui/executions/lineage/development/" + ex.ID + "/nodes/n0003",
		"/ui/entities/lineage/workflow/grid",
		"/ui/entities/lineage/task/source",
		"/ui/versions/lineage/" + f.version,
		"/ui/versions",
		"/ui/entities",
	}
	raw := regexp.MustCompile(`(?i)<(script|img|svg onload|iframe|style|textarea|b>)|href="javascript:`)
	for _, p := range pages {
		for _, suffix := range []string{"", "?o=json"} {
			code, body := get(t, srv, p+suffix)
			if code != 200 {
				t.Fatalf("%s%s: %d\n%s", p, suffix, code, body)
			}
			if suffix != "" {
				// JSON: encoding/json writes <, > and & as \u003c and so on.
				if strings.ContainsAny(body, "<>") {
					t.Errorf("%s%s: raw < or > in JSON", p, suffix)
				}
				continue
			}
			// The layout's own tags are allowed; anything else matching is an injection.
			cleaned := strings.ReplaceAll(body, `<script src="/ui/static/live.js"></script>`, "")
			if m := raw.FindString(cleaned); m != "" {
				i := strings.Index(cleaned, m)
				t.Errorf("%s%s: unescaped %q in %q", p, suffix, m, cleaned[max(i-80, 0):min(i+80, len(cleaned))])
			}
			if suffix == "" && strings.Contains(body, "alert(") && !strings.Contains(body, "&lt;") {
				t.Errorf("%s: hostile text shown but nothing escaped", p)
			}
		}
	}
	// The text is shown, escaped, where it belongs.
	_, body := get(t, srv, "/ui/executions/lineage/development/"+ex.ID+"/nodes/n0003")
	if !strings.Contains(body, "&lt;/textarea&gt;&lt;/pre&gt;&lt;script&gt;alert(3)&lt;/script&gt;") {
		t.Error("the failure's log tail is not shown escaped")
	}
	_, body = get(t, srv, "/ui/entities/lineage/workflow/grid")
	if !strings.Contains(body, "&lt;b&gt;mallory&lt;/b&gt;&#34;&#39;") || !strings.Contains(body, `href="#ZgotmplZ"`) {
		t.Error("the promotion's actor is not escaped, or its javascript: PR URL became a link")
	}
}

func TestAuthModes(t *testing.T) {
	f, dev, _ := smallLineage(t)
	page := "/ui/executions/lineage/development/" + dev.ID
	serve := func(a Auth) *httptest.Server {
		h, err := New(f.s, Options{Auth: a})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv
	}

	// No decision: closed.
	srv := serve(nil)
	if code, body := get(t, srv, page); code != 403 || !strings.Contains(body, "no authentication configured") {
		t.Errorf("no auth: %d %s", code, body)
	}

	// Bearer token: the header for scripts, the login form for browsers.
	srv = serve(BearerToken("s3cret-token"))
	if code, _ := get(t, srv, page); code != 401 {
		t.Errorf("bearer, no token: %d", code)
	}
	if code, _ := get(t, srv, page, "Authorization", "Bearer wrong"); code != 401 {
		t.Errorf("bearer, wrong token: %d", code)
	}
	if code, _ := get(t, srv, page, "Authorization", "Basic czNjcmV0LXRva2Vu"); code != 401 {
		t.Errorf("bearer, basic scheme: %d", code)
	}
	if code, body := get(t, srv, page+"?o=json", "Authorization", "Bearer s3cret-token"); code != 200 || !strings.Contains(body, dev.ID) {
		t.Errorf("bearer, right token: %d", code)
	}
	if code, _ := get(t, srv, page, "Cookie", sessionCookie+"=00ff"); code != 401 {
		t.Errorf("bearer, forged cookie: %d", code)
	}
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.PostForm(srv.URL+"/ui/login", url.Values{"token": {"wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 || len(resp.Cookies()) != 0 || !strings.Contains(resp.Header.Get("Location"), "failed") {
		t.Errorf("login with a wrong token: %d %v", resp.StatusCode, resp.Cookies())
	}
	resp, err = client.PostForm(srv.URL+"/ui/login", url.Values{"token": {"s3cret-token"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cs := resp.Cookies()
	if len(cs) != 1 || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteStrictMode || strings.Contains(cs[0].Value, "s3cret") {
		t.Fatalf("login cookie: %+v", cs)
	}
	if code, _ := get(t, srv, page, "Cookie", cs[0].Name+"="+cs[0].Value); code != 200 {
		t.Errorf("bearer, session cookie: %d", code)
	}
	// An empty token admits no one.
	srv = serve(BearerToken(""))
	if code, _ := get(t, srv, page, "Authorization", "Bearer "); code != 401 {
		t.Errorf("empty token: %d", code)
	}

	// Trusted header (oauth2-proxy): present admits and names the viewer.
	srv = serve(TrustedHeader("X-Forwarded-User"))
	if code, _ := get(t, srv, page); code != 403 {
		t.Errorf("trusted header absent: %d", code)
	}
	if code, body := get(t, srv, page, "X-Forwarded-User", "dana@example.com"); code != 200 || !strings.Contains(body, "dana@example.com") {
		t.Errorf("trusted header present: %d", code)
	}

	// Anonymous, local only: loopback yes, anything else no.
	h, err := New(f.s, Options{Auth: Anonymous(true)})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]int{"127.0.0.1:5555": 200, "[::1]:5555": 200, "203.0.113.9:5555": 403, "10.0.0.1:1": 403} {
		req := httptest.NewRequest("GET", page, nil)
		req.RemoteAddr = addr
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("anonymous local-only from %s: %d, want %d", addr, rec.Code, want)
		}
	}
	// Static assets and headers.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/ui/static/style.css", nil))
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Content-Security-Policy"), "script-src 'self'") || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("static: %d %v", rec.Code, rec.Header())
	}
}

// The store is only read: serving every page changes nothing in it.
func TestReadOnly(t *testing.T) {
	f, dev, stg := smallLineage(t)
	dir := storeDir(t, f)
	before := snapshot(t, dir)
	h, err := New(noWrites{f.s, t}, Options{Auth: Anonymous(false)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, p := range []string{"/ui/", "/ui/executions/lineage/development/" + dev.ID, "/ui/executions/lineage/staging/" + stg.ID + "/nodes/n0007",
		"/ui/entities/lineage/workflow/grid", "/ui/versions/lineage/" + f.version, "/ui/entities", "/ui/versions"} {
		if code, _ := get(t, srv, p); code != 200 {
			t.Fatalf("%s: %d", p, code)
		}
	}
	if after := snapshot(t, dir); after != before {
		t.Errorf("serving pages changed the store:\n%s\n---\n%s", before, after)
	}
}

func snapshot(t *testing.T, dir string) string {
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || strings.Contains(p, string(filepath.Separator)+"locks"+string(filepath.Separator)) {
			return err
		}
		b.WriteString(p + " " + fi.ModTime().String() + " " + itoa(int(fi.Size())) + "\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// noWrites is a store whose every write fails the test: the view must
// serve every page through it.
type noWrites struct {
	store.Store
	t *testing.T
}

func (n noWrites) PutBlob(context.Context, string, v1.Hash, int64, io.Reader) error {
	n.t.Error("PutBlob called")
	return errors.New("read only")
}
func (n noWrites) MountBlob(context.Context, string, string, v1.Hash) error {
	n.t.Error("MountBlob called")
	return errors.New("read only")
}
func (n noWrites) PutManifest(context.Context, string, string, string, []byte) (v1.Descriptor, error) {
	n.t.Error("PutManifest called")
	return v1.Descriptor{}, errors.New("read only")
}
func (n noWrites) DeleteTag(context.Context, string, string) error {
	n.t.Error("DeleteTag called")
	return errors.New("read only")
}

// The local executor's kept logs of every attempt show on the node page
// (the newest open, each escaped, a long one cut to its end) and download
// whole as plain text.
func TestNodeLogs(t *testing.T) {
	f, _, stg := smallLineage(t)
	logs := t.TempDir()
	dir := filepath.Join(logs, stg.ID, "n0007")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	first := "attempt one\n<script>alert('log')</script>\n"
	second := strings.Repeat("x", logShown) + "\nthe end of attempt two\n"
	for i, text := range []string{first, second} {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("attempt-%d.log", i+1)), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv := f.server(Options{LogDir: logs})
	node := "/ui/executions/lineage/staging/" + stg.ID + "/nodes/n0007"
	code, body := get(t, srv, node)
	if code != 200 {
		t.Fatalf("%d\n%s", code, body)
	}
	for _, want := range []string{`<details class="log" data-attempt="2" open>`, `<details class="log" data-attempt="1">`,
		"the end of attempt two", "&lt;script&gt;alert(&#39;log&#39;)&lt;/script&gt;", "… the last"} {
		if !strings.Contains(body, want) {
			t.Errorf("node page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>alert") {
		t.Error("a log's markup reached the page")
	}
	resp, err := srv.Client().Get(srv.URL + node + "/logs/1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != first || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("whole log: %d %q %v", resp.StatusCode, b, resp.Header)
	}
	for path, want := range map[string]int{node + "/logs/3": 404, node + "/logs/x": 400, node + "/logs/0": 400,
		"/ui/executions/lineage/staging/" + stg.ID + "/nodes/nope/logs/1": 404} {
		if code, _ := get(t, srv, path); code != want {
			t.Errorf("GET %s: %d, want %d", path, code, want)
		}
	}
	// Without a log directory the page says where logs are.
	_, body = get(t, f.server(Options{}), node)
	if !strings.Contains(body, `id="no-logs"`) || !strings.Contains(body, "runway logs "+stg.ID+" n0007") {
		t.Error("without logs, the node page does not say where they are")
	}
}
