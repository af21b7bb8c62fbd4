package githubfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// recorder is a TB that keeps the fake's complaints instead of failing.
type recorder struct {
	mu   sync.Mutex
	errs []string
	t    *testing.T
}

func (r *recorder) Helper()          {}
func (r *recorder) Cleanup(f func()) { r.t.Cleanup(f) }
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestStrictness(t *testing.T) {
	for _, tc := range []struct {
		name, method, path, body, token string
		wantStatus                      int
		wantComplaint                   string // "" = the request is fine
	}{
		{"valid comment", "POST", "/repos/o/r/issues/1/comments", `{"body":"hi"}`, "rw", 201, ""},
		{"unknown route", "GET", "/repos/o/r/issues/1/timeline", ``, "rw", 404, "not a route"},
		{"wrong method", "DELETE", "/repos/o/r/issues/1/comments", `{}`, "rw", 404, "not a route"},
		{"missing required field", "POST", "/repos/o/r/issues/1/comments", `{}`, "rw", 422, `"body" is a required field`},
		{"wrong field type", "POST", "/repos/o/r/issues/1/comments", `{"body":3}`, "rw", 422, "must be string"},
		{"unknown field", "POST", "/repos/o/r/issues/1/comments", `{"body":"x","bodyy":"y"}`, "rw", 422, `"bodyy" is not a field`},
		{"enum violation", "POST", "/repos/o/r/issues/comments/1001/reactions", `{"content":"thumbsup"}`, "rw", 422, "must be one of"},
		{"bad status state", "POST", "/repos/o/r/statuses/abc", `{"state":"ok"}`, "rw", 422, "must be one of"},
		{"non-integer path parameter", "GET", "/repos/o/r/pulls/seven", ``, "rw", 404, "not an integer"},
		{"unknown query parameter", "GET", "/repos/o/r/pulls/1?expand=all", ``, "rw", 422, `query parameter "expand"`},
		{"no token", "GET", "/repos/o/r/pulls/1", ``, "", 401, ""},
		{"read-only token writes", "POST", "/repos/o/r/statuses/abc", `{"state":"success"}`, "ro", 403, ""},
		{"read-only token reads", "GET", "/repos/o/r/pulls/1", ``, "ro", 200, ""},
		{"missing pull request", "GET", "/repos/o/r/pulls/2", ``, "rw", 404, ""},
		{"unknown repository", "GET", "/repos/o/nope/pulls/1", ``, "rw", 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{t: t}
			f := New(rec)
			f.AddToken("rw", true)
			f.AddToken("ro", false)
			f.AddRepo("o/r")
			f.SetPullRequest("o/r", PullRequest{Number: 1, HeadSHA: "abc", HeadRef: "x", BaseRef: "main", BaseSHA: "def", User: "u"})
			f.AddComment("o/r", 1, "u", "first") // id 1001
			var body *bytes.Reader
			if tc.body != "" {
				body = bytes.NewReader([]byte(tc.body))
			} else {
				body = bytes.NewReader(nil)
			}
			req, _ := http.NewRequest(tc.method, f.URL()+tc.path, body)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			got := strings.Join(rec.errs, "\n")
			if tc.wantComplaint == "" && got != "" {
				t.Errorf("the fake complained about a valid request: %s", got)
			}
			if tc.wantComplaint != "" && !strings.Contains(got, tc.wantComplaint) {
				t.Errorf("complaints %q, want one containing %q", got, tc.wantComplaint)
			}
		})
	}
}

func TestConditionalGET(t *testing.T) {
	f := New(t)
	f.AddToken("rw", true)
	f.AddRepo("o/r")
	f.SetPullRequest("o/r", PullRequest{Number: 1, HeadSHA: "abc"})
	get := func(etag string) *http.Response {
		req, _ := http.NewRequest("GET", f.URL()+"/repos/o/r/issues/1/comments", nil)
		req.Header.Set("Authorization", "token rw")
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	first := get("")
	if first.StatusCode != 200 || first.Header.Get("ETag") == "" {
		t.Fatalf("first GET: %d, ETag %q", first.StatusCode, first.Header.Get("ETag"))
	}
	if r := get(first.Header.Get("ETag")); r.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET: %d, want 304", r.StatusCode)
	}
	f.AddComment("o/r", 1, "u", "new")
	if r := get(first.Header.Get("ETag")); r.StatusCode != 200 {
		t.Errorf("conditional GET after a change: %d, want 200", r.StatusCode)
	}
}

func TestResponsesCarryRequiredFields(t *testing.T) {
	// Every handler's success response is checked against the required
	// fields of the description; a complaint fails this test.
	f := New(t)
	f.AddToken("rw", true)
	f.AddRepo("o/r")
	f.SetRole("o/r", "u", "maintain")
	f.SetPullRequest("o/r", PullRequest{Number: 1, HeadSHA: "abc", HeadRef: "x", BaseRef: "main", BaseSHA: "def", User: "u",
		Merged: true, MergeCommitSHA: "m1", MergedBy: "u"})
	id := f.AddComment("o/r", 1, "u", "first")
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/repos/o/r/issues/1/comments", ""},
		{"POST", "/repos/o/r/issues/1/comments", `{"body":"x"}`},
		{"PATCH", fmt.Sprintf("/repos/o/r/issues/comments/%d", id), `{"body":"y"}`},
		{"POST", fmt.Sprintf("/repos/o/r/issues/comments/%d/reactions", id), `{"content":"eyes"}`},
		{"POST", "/repos/o/r/statuses/abc", `{"state":"success","context":"runway"}`},
		{"GET", "/repos/o/r/collaborators/u/permission", ""},
		{"GET", "/repos/o/r/pulls/1", ""},
		{"GET", "/repos/o/r/commits/m1/pulls", ""},
	} {
		req, _ := http.NewRequest(c.method, f.URL()+c.path, strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer rw")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Errorf("%s %s: %v", c.method, c.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Errorf("%s %s: %d", c.method, c.path, resp.StatusCode)
		}
	}
	if prs := f.Requests(); len(prs) != 8 {
		t.Errorf("%d requests logged, want 8", len(prs))
	}
}
