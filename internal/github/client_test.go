package github

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gogithub "github.com/google/go-github/v60/github"

	"github.com/runway-ci/runway/internal/testkit/githubfake"
)

const repoName = "octo/pipelines"

func newFake(t *testing.T) *githubfake.Fake {
	t.Helper()
	f := githubfake.New(t)
	f.AddToken("tok", true)
	f.AddRepo(repoName)
	f.SetPullRequest(repoName, githubfake.PullRequest{Number: 7, Title: "t", User: "alice", HeadSHA: "aaa", HeadRef: "feature", BaseSHA: "bbb", BaseRef: "main"})
	return f
}

func newClient(t *testing.T, f *githubfake.Fake, opts ...Option) *Client {
	t.Helper()
	c, err := New(append([]Option{WithBaseURL(f.URL()), WithToken("tok"), WithBackoff(time.Millisecond, 5*time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, opt := range map[string]Option{
		"relative URL":  WithBaseURL("api.github.com"),
		"negative max":  WithRetryMax(-1),
		"zero slots":    WithConcurrency(0),
		"backoff order": WithBackoff(time.Second, time.Millisecond),
		"negative wait": WithMaxWait(-time.Second),
		"nil transport": WithTransport(nil),
	} {
		if _, err := New(opt); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

func TestCalls(t *testing.T) {
	ctx := context.Background()
	f := newFake(t)
	f.SetRole(repoName, "alice", "maintain")
	c := newClient(t, f)

	pr, err := c.PullRequest(ctx, "octo", "pipelines", 7)
	if err != nil || pr.HeadSHA != "aaa" || pr.BaseRef != "main" || pr.Fork() {
		t.Fatalf("PullRequest = %+v, %v", pr, err)
	}
	if _, err := c.PullRequest(ctx, "octo", "pipelines", 8); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing PR: err = %v, want ErrNotFound", err)
	}
	cm, err := c.CreateComment(ctx, "octo", "pipelines", 7, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.EditComment(ctx, "octo", "pipelines", cm.ID, "edited"); err != nil {
		t.Fatal(err)
	}
	if err := c.React(ctx, "octo", "pipelines", cm.ID, "eyes"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetStatus(ctx, "octo", "pipelines", "aaa", Status{State: StateSuccess, Context: "runway", Description: "ok"}); err != nil {
		t.Fatal(err)
	}
	all, err := c.Comments(ctx, "octo", "pipelines", 7)
	if err != nil || len(all) != 1 || all[0].Body != "edited" || !all[0].Bot {
		t.Fatalf("Comments = %+v, %v", all, err)
	}
	if role, err := c.Permission(ctx, "octo", "pipelines", "alice"); err != nil || role != "maintain" {
		t.Errorf("Permission(alice) = %q, %v; want maintain (role_name, not the legacy write)", role, err)
	}
	if role, err := c.Permission(ctx, "octo", "pipelines", "mallory"); err != nil || role != "none" {
		t.Errorf("Permission(mallory) = %q, %v; want none", role, err)
	}
	if got := f.Statuses(repoName, "aaa"); len(got) != 1 || got[0].Context != "runway" {
		t.Errorf("statuses = %+v", got)
	}
}

func TestPagination(t *testing.T) {
	f := newFake(t)
	for i := 0; i < 230; i++ {
		f.AddComment(repoName, 7, "bob", "c")
	}
	got, err := newClient(t, f).Comments(context.Background(), "octo", "pipelines", 7)
	if err != nil || len(got) != 230 {
		t.Fatalf("got %d comments, %v; want 230", len(got), err)
	}
}

func TestRetries(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		method    string
		path      string
		status    int
		times     int
		call      func(*Client) error
		wantErr   bool
		wantCalls int
	}{
		{"GET retried on 502", "GET", "/repos/octo/pipelines/pulls", 502, 2,
			func(c *Client) error { _, err := c.PullRequest(ctx, "octo", "pipelines", 7); return err }, false, 3},
		{"PATCH retried on 503", "PATCH", "/repos/octo/pipelines/issues/comments", 503, 1,
			func(c *Client) error { _, err := c.EditComment(ctx, "octo", "pipelines", 1001, "x"); return err }, false, 2},
		{"POST not retried on 502", "POST", "/repos/octo/pipelines/issues/7/comments", 502, 1,
			func(c *Client) error { _, err := c.CreateComment(ctx, "octo", "pipelines", 7, "x"); return err }, true, 1},
		{"GET gives up after RetryMax", "GET", "/repos/octo/pipelines/pulls", 500, 10,
			func(c *Client) error { _, err := c.PullRequest(ctx, "octo", "pipelines", 7); return err }, true, 5},
		{"404 not retried", "GET", "/repos/octo/pipelines/pulls", 404, 0,
			func(c *Client) error { _, err := c.PullRequest(ctx, "octo", "pipelines", 99); return err }, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.AddComment(repoName, 7, "bob", "first") // id 1001
			if tc.times > 0 {
				f.AddFault(githubfake.Fault{Method: tc.method, Path: tc.path, Times: tc.times, Status: tc.status})
			}
			err := tc.call(newClient(t, f))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if n := len(f.Requests()); n != tc.wantCalls {
				t.Errorf("%d requests, want %d", n, tc.wantCalls)
			}
		})
	}
}

func TestRateLimits(t *testing.T) {
	ctx := context.Background()
	reset := func(d time.Duration) string { return itoa(time.Now().Add(d).Unix()) }
	for _, tc := range []struct {
		name     string
		status   int
		header   http.Header
		maxWait  time.Duration
		wantErr  any
		minTime  time.Duration
		maxTime  time.Duration
		requests int
		docURL   string
	}{
		{"secondary limit: 403 + Retry-After", 403, http.Header{"Retry-After": {"1"}}, 5 * time.Second, nil, time.Second, 4 * time.Second, 2, ""},
		{"429 + Retry-After, POST too", 429, http.Header{"Retry-After": {"1"}}, 5 * time.Second, nil, time.Second, 4 * time.Second, 2, ""},
		{"primary limit: reset soon", 403, http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {reset(0)}}, 5 * time.Second, nil, 0, 4 * time.Second, 2, ""},
		{"primary limit beyond the cap fails fast", 403, http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {reset(time.Hour)}}, 5 * time.Second, new(*gogithub.RateLimitError), 0, time.Second, 1, ""},
		{"secondary limit beyond the cap fails fast", 403, http.Header{"Retry-After": {"3600"}}, 5 * time.Second, new(*gogithub.AbuseRateLimitError), 0, time.Second, 1,
			"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.AddFault(githubfake.Fault{Method: "POST", Path: "/repos/octo/pipelines/issues/7/comments", Times: 1, Status: tc.status, Header: tc.header, DocURL: tc.docURL})
			c := newClient(t, f, WithMaxWait(tc.maxWait))
			start := time.Now()
			_, err := c.CreateComment(ctx, "octo", "pipelines", 7, "x")
			el := time.Since(start)
			if tc.wantErr == nil && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tc.wantErr != nil && !errors.As(err, tc.wantErr) {
				t.Fatalf("err = %v (%T), want %T", err, err, tc.wantErr)
			}
			if el < tc.minTime || el > tc.maxTime {
				t.Errorf("took %v, want between %v and %v", el, tc.minTime, tc.maxTime)
			}
			if n := len(f.Requests()); n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestConditionalRequests(t *testing.T) {
	ctx := context.Background()
	f := newFake(t)
	f.AddComment(repoName, 7, "bob", "hi")
	c := newClient(t, f)
	for i := 0; i < 3; i++ {
		got, err := c.Comments(ctx, "octo", "pipelines", 7)
		if err != nil || len(got) != 1 || got[0].Body != "hi" {
			t.Fatalf("round %d: %+v, %v", i, got, err)
		}
	}
	f.AddComment(repoName, 7, "bob", "again")
	got, err := c.Comments(ctx, "octo", "pipelines", 7)
	if err != nil || len(got) != 2 {
		t.Fatalf("after a change: %+v, %v; the cache must not hide new data", got, err)
	}
	var statuses []int
	for _, r := range f.Requests() {
		statuses = append(statuses, r.Status)
	}
	want := []int{200, 304, 304, 200}
	if len(statuses) != len(want) {
		t.Fatalf("statuses %v, want %v", statuses, want)
	}
	for i := range want {
		if statuses[i] != want[i] {
			t.Fatalf("statuses %v, want %v", statuses, want)
		}
	}
}

type countingTransport struct {
	next          http.RoundTripper
	inFlight, max atomic.Int32
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	n := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	for {
		m := c.max.Load()
		if n <= m || c.max.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(20 * time.Millisecond)
	return c.next.RoundTrip(r)
}

func TestConcurrencyLimit(t *testing.T) {
	f := newFake(t)
	ct := &countingTransport{next: http.DefaultTransport}
	c := newClient(t, f, WithTransport(ct), WithConcurrency(3))
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.SetStatus(context.Background(), "octo", "pipelines", "aaa", Status{State: StatePending, Context: "runway"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if m := ct.max.Load(); m > 3 || m < 2 {
		t.Errorf("max in flight %d, want 2..3", m)
	}
}

func TestReadOnlyTokenCannotWrite(t *testing.T) {
	f := newFake(t)
	f.AddToken("ro", false)
	c, err := New(WithBaseURL(f.URL()), WithToken("ro"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateComment(context.Background(), "octo", "pipelines", 7, "x"); err == nil {
		t.Fatal("a read-only token could comment")
	}
	if _, err := c.PullRequest(context.Background(), "octo", "pipelines", 7); err != nil {
		t.Fatalf("a read-only token could not read: %v", err)
	}
}

// TestErrorAnswersFreeTheirSlot: go-github reads an error response whole
// and swaps its body, never closing the original; the concurrency slot
// must come back anyway, or a client hangs after WithConcurrency errors.
func TestErrorAnswersFreeTheirSlot(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, WithConcurrency(2))
	for i := 0; i < 6; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := c.React(ctx, "octo", "pipelines", 424242, "eyes") // 422: no such comment
		cancel()
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("call %d: %v, want GitHub's 422 (a hang means a leaked slot)", i, err)
		}
	}
}
