// Command servebench measures `runway serve`'s acknowledgement: it starts
// the server as a real process (its journal fsynced, on the state
// directory's disk), sends signed deliveries at fixed rates (open loop: a
// request leaves on schedule whether or not earlier ones were answered, so
// a slow answer cannot hide the ones queued behind it), and reports the
// ack latency p50/p99/max, the answers that were not 202, and the
// server's RSS (peak of samples every 100ms, from /proc).
//
// Usage: servebench -runway PATH [-rates 50,200,500] [-duration 20s] [-state DIR] [-o json]
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type result struct {
	Rate      int     `json:"rate"`
	Sent      int     `json:"sent"`
	Non202    int     `json:"non202"`
	Errors    int     `json:"errors"`
	P50ms     float64 `json:"p50Ms"`
	P99ms     float64 `json:"p99Ms"`
	MaxMs     float64 `json:"maxMs"`
	RSSPeakMB float64 `json:"rssPeakMiB"`
	// ServerP99ms is the p99 the server itself measured (its
	// runway_webhook_ack_seconds histogram, to the bucket's upper bound):
	// without the client's own scheduling on the same cores.
	ServerP99ms float64 `json:"serverP99UpperBoundMs"`
	// JournalP99ms is the p99 of the journal write alone (fsync and group
	// commit), from runway_webhook_journal_seconds, to the bucket's bound.
	JournalP99ms float64 `json:"journalP99UpperBoundMs"`
	Achieved     float64 `json:"achievedPerSecond"`
}

func main() {
	bin := flag.String("runway", "runway-core", "the runway binary")
	rates := flag.String("rates", "50,200,500", "deliveries per second, one run each")
	dur := flag.Duration("duration", 20*time.Second, "length of each run")
	state := flag.String("state", "", "state directory (default a new temporary one)")
	out := flag.String("o", "text", "text or json")
	flag.Parse()
	if err := run(*bin, *rates, *dur, *state, *out); err != nil {
		fmt.Fprintln(os.Stderr, "servebench:", err)
		os.Exit(1)
	}
}

func run(bin, rates string, dur time.Duration, state, out string) error {
	if state == "" {
		d, err := os.MkdirTemp("", "servebench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		state = d
	}
	secret := []byte("servebench-secret")
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--state-dir", state+"/serve", "--queue-size", "100000")
	cmd.Env = append(os.Environ(), "RUNWAY_HOME="+state, "RUNWAY_WEBHOOK_SECRET="+string(secret), "RUNWAY_GITHUB_TOKEN=unused")
	cmd.Stderr = io.Discard
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading the server's address: %w", err)
	}
	_, rest, _ := strings.Cut(line, "http://")
	addr, _, _ := strings.Cut(rest, " ")
	url := "http://" + addr + "/webhook"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1000, MaxConnsPerHost: 0}, Timeout: 15 * time.Second}
	var results []result
	seq := 0
	for _, rs := range strings.Split(rates, ",") {
		rate, err := strconv.Atoi(strings.TrimSpace(rs))
		if err != nil || rate <= 0 {
			return fmt.Errorf("rate %q is not a positive number", rs)
		}
		before, jbefore := buckets(addr, "runway_webhook_ack_seconds"), buckets(addr, "runway_webhook_journal_seconds")
		r := bench(client, url, secret, rate, dur, cmd.Process.Pid, &seq)
		r.ServerP99ms = quantileMs(before, buckets(addr, "runway_webhook_ack_seconds"), 0.99)
		r.JournalP99ms = quantileMs(jbefore, buckets(addr, "runway_webhook_journal_seconds"), 0.99)
		results = append(results, r)
		if out != "json" {
			fmt.Printf("%4d/s for %v: sent %d (%.0f/s), non-202 %d, errors %d, ack p50 %.2f ms, p99 %.2f ms, max %.2f ms (server-side p99 <= %g ms, journal write p99 <= %g ms), server RSS peak %.1f MiB\n",
				r.Rate, dur, r.Sent, r.Achieved, r.Non202, r.Errors, r.P50ms, r.P99ms, r.MaxMs, r.ServerP99ms, r.JournalP99ms, r.RSSPeakMB)
		}
	}
	if out == "json" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	return nil
}

func bench(client *http.Client, url string, secret []byte, rate int, dur time.Duration, pid int, seq *int) result {
	ctx, cancel := context.WithCancel(context.Background())
	var peak float64
	var wgRSS sync.WaitGroup
	wgRSS.Add(1)
	go func() {
		defer wgRSS.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if v := rssMiB(pid); v > peak {
				peak = v
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	n := int(dur.Seconds() * float64(rate))
	lat := make([]time.Duration, n)
	codes := make([]int, n)
	var wg sync.WaitGroup
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	for i := 0; i < n; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		*seq++
		body := []byte(fmt.Sprintf(`{"zen":"Keep it logically awesome.","hook_id":%d,"hook":{"type":"App","id":1,"events":["pull_request"]}}`, *seq))
		id := fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), *seq)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			mac := hmac.New(sha256.New, secret)
			mac.Write(body)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-GitHub-Event", "ping")
			req.Header.Set("X-GitHub-Delivery", id)
			req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
			t0 := time.Now()
			resp, err := client.Do(req)
			lat[i] = time.Since(t0)
			if err != nil {
				codes[i] = -1
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	cancel()
	wgRSS.Wait()
	r := result{Rate: rate, Sent: n, RSSPeakMB: peak, Achieved: float64(n) / elapsed.Seconds()}
	for _, c := range codes {
		switch {
		case c == -1:
			r.Errors++
		case c != http.StatusAccepted:
			r.Non202++
		}
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	r.P50ms, r.P99ms, r.MaxMs = ms(lat[n/2]), ms(lat[n*99/100]), ms(lat[n-1])
	return r
}

func rssMiB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// buckets reads one of the server's cumulative histograms: upper bound in
// seconds -> count.
func buckets(addr, name string) map[float64]float64 {
	out := map[float64]float64{}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(l, name+`_bucket{le="`)
		if !ok {
			continue
		}
		le, val, _ := strings.Cut(rest, `"} `)
		ub, err1 := strconv.ParseFloat(le, 64)
		if le == "+Inf" {
			ub, err1 = 1e9, nil
		}
		v, err2 := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err1 == nil && err2 == nil {
			out[ub] = v
		}
	}
	return out
}

// quantileMs is the upper bound of the bucket holding quantile q of the
// observations made between two scrapes.
func quantileMs(before, after map[float64]float64, q float64) float64 {
	var bounds []float64
	for ub := range after {
		bounds = append(bounds, ub)
	}
	sort.Float64s(bounds)
	if len(bounds) == 0 {
		return 0
	}
	total := after[bounds[len(bounds)-1]] - before[bounds[len(bounds)-1]]
	for _, ub := range bounds {
		if after[ub]-before[ub] >= q*total {
			return ub * 1000
		}
	}
	return bounds[len(bounds)-1] * 1000
}
