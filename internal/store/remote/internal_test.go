package remote

import (
	"log/slog"
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{" 3 ", 3 * time.Second, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"99999999999", 24 * time.Hour, true},
	}
	for _, tc := range tests {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoffBoundsAndCap(t *testing.T) {
	cfg := retryConfig{maxRetryAfter: 5 * time.Second, now: time.Now}
	cfg.log = discardLogger()
	for attempt := 0; attempt < 40; attempt++ {
		d := cfg.backoff(100*time.Millisecond, 2*time.Second, attempt, nil)
		ceiling := min(100*time.Millisecond<<min(attempt, 30), 2*time.Second)
		if d < ceiling/2 || d > ceiling {
			t.Fatalf("attempt %d: backoff %s outside [%s, %s]", attempt, d, ceiling/2, ceiling)
		}
	}
	resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"3600"}}}
	if d := cfg.backoff(time.Millisecond, time.Second, 0, resp); d != 5*time.Second {
		t.Fatalf("Retry-After 3600 with a 5s cap waited %s", d)
	}
	resp.Header.Set("Retry-After", "2")
	if d := cfg.backoff(time.Millisecond, time.Second, 0, resp); d != 2*time.Second {
		t.Fatalf("Retry-After 2 waited %s", d)
	}
}

func TestParseSpec(t *testing.T) {
	tests := []struct {
		spec, host, prefix, scheme string
		bad                        bool
	}{
		{spec: "localhost:5000/runway", host: "localhost:5000", prefix: "runway"},
		{spec: "reg.example/a/b/", host: "reg.example", prefix: "a/b"},
		{spec: "http://10.0.0.1:5000", host: "10.0.0.1:5000", scheme: "http"},
		{spec: "https://reg.example/x", host: "reg.example", prefix: "x", scheme: "https"},
		{spec: "", bad: true},
		{spec: "/x", bad: true},
		{spec: "user@reg/x", bad: true},
	}
	for _, tc := range tests {
		host, prefix, scheme, err := parseSpec(tc.spec)
		if tc.bad {
			if err == nil {
				t.Errorf("parseSpec(%q) accepted", tc.spec)
			}
			continue
		}
		if err != nil || host != tc.host || prefix != tc.prefix || scheme != tc.scheme {
			t.Errorf("parseSpec(%q) = %q, %q, %q, %v", tc.spec, host, prefix, scheme, err)
		}
	}
	for host, want := range map[string]bool{"localhost:5000": true, "127.0.0.1:1": true, "[::1]:5000": true, "reg.example": false, "10.0.0.1": false} {
		if isLoopback(host) != want {
			t.Errorf("isLoopback(%q) = %v", host, !want)
		}
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
