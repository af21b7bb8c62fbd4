//go:build integration

package ui

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/testkit/browser"
)

// statusRGB is what static/style.css paints each state with.
var statusRGB = map[executor.Status]string{
	executor.StatusQueued:    "rgb(154, 160, 166)",
	executor.StatusRunning:   "rgb(26, 115, 232)",
	executor.StatusSucceeded: "rgb(30, 142, 62)",
	executor.StatusFailed:    "rgb(217, 48, 37)",
	executor.StatusAborted:   "rgb(227, 116, 0)",
	executor.StatusSkipped:   "rgb(196, 199, 197)",
}

type drawnNode struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Fill   string `json:"fill"`
	W      int    `json:"w"`
}

// dagNodes reads every node of the page's DAG: its id, state and the fill
// colour the browser computed for its box.
func dagNodes(t *testing.T, ctx context.Context) []drawnNode {
	t.Helper()
	nodes, err := chromedp.Run(ctx, chromedp.Evaluate[[]drawnNode](`Array.from(document.querySelectorAll("svg.dag g.node")).map(g => {
		const r = g.querySelector("rect");
		return {id: g.getAttribute("data-node"), status: g.getAttribute("data-status"), fill: getComputedStyle(r).fill, w: Math.round(r.getBoundingClientRect().width)};
	})`))
	if err != nil {
		t.Fatal(err)
	}
	return nodes
}

// In Chromium: the DAG has one element per node, each painted with its
// state's colour; the screenshot shows it.
func TestBrowserDAGColouredByState(t *testing.T) {
	f := newFixture(t)
	f.registerGrid("development", "grid", 9, 3)
	r := f.runner()
	r.fail["n0003"] = "ValueError: bad rows"
	r.hold["n0005"] = make(chan struct{})
	close(r.hold["n0005"]) // starts late, so failFast aborts or skips the rest
	ex := f.run("development", "grid", r, map[string]any{"seed": "1"})
	srv := f.server(Options{})
	ctx := browser.New(t, 2*time.Minute)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/ui/executions/lineage/development/"+ex.ID), chromedp.WaitVisible(chromedp.CSS("svg.dag"))); err != nil {
		t.Fatal(err)
	}
	nodes := dagNodes(t, ctx)
	if len(nodes) != len(ex.Nodes) {
		t.Fatalf("%d DAG elements for %d nodes", len(nodes), len(ex.Nodes))
	}
	seen := map[string]bool{}
	for _, n := range nodes {
		rec := ex.Node(n.ID)
		if rec == nil || seen[n.ID] {
			t.Fatalf("DAG element %q is not one node of the record", n.ID)
		}
		seen[n.ID] = true
		if n.Status != string(rec.Status) || n.Fill != statusRGB[rec.Status] || n.W == 0 {
			t.Errorf("node %s: drawn %s in %s (width %d), record says %s (%s)", n.ID, n.Status, n.Fill, n.W, rec.Status, statusRGB[rec.Status])
		}
	}
	states := map[executor.Status]bool{}
	for _, n := range ex.Nodes {
		states[n.Status] = true
	}
	if !states[executor.StatusSucceeded] || !states[executor.StatusFailed] || len(states) < 3 {
		t.Errorf("the fixture shows too few states: %v", states)
	}
	shot, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS("svg.dag")))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	// Sample the picture itself: the failed node's box is red on screen.
	box, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => {
		const s = document.querySelector("svg.dag").getBoundingClientRect();
		const r = document.querySelector('svg.dag g.node[data-node="n0003"] rect').getBoundingClientRect();
		return [r.left - s.left + 4, r.top - s.top + 4, window.devicePixelRatio];
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	px := img.At(int(box[0]*box[2]), int(box[1]*box[2]))
	if rr, g, b, _ := px.RGBA(); rr>>8 != 217 || g>>8 != 48 || b>>8 != 37 {
		t.Errorf("the failed node's pixels are %v, want rgb(217, 48, 37)", px)
	}
	if err := os.WriteFile(filepath.Join(t.TempDir(), "dag.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}

// In Chromium: a running execution's page updates itself. A node that
// finishes turns green in place (no reload), and when the execution ends
// the page reloads once with the final picture.
func TestBrowserLiveUpdates(t *testing.T) {
	f := newFixture(t)
	f.registerGrid("development", "grid", 9, 3)
	r := f.runner()
	r.hold["n0006"] = make(chan struct{})
	r.hold["n0008"] = make(chan struct{})
	ex := f.start("development", "grid", r, map[string]any{"seed": "1"})
	waitFor(t, func() bool { return r.wasStarted("n0006") && r.wasStarted("n0008") })
	srv := f.server(Options{PollInterval: 50 * time.Millisecond})
	page := srv.URL + "/ui/executions/lineage/development/" + ex.ID
	waitFor(t, func() bool {
		_, body := get(t, srv, "/ui/executions/lineage/development/"+ex.ID)
		return strings.Contains(body, `data-node="n0006" data-status="running"`)
	})
	ctx := browser.New(t, 2*time.Minute)
	if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("svg.dag")),
		chromedp.Evaluate[chromedp.Void](`window.__sameDocument = true`)); err != nil {
		t.Fatal(err)
	}
	status := func(id string) string {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector('svg.dag g.node[data-node=%q]').getAttribute("data-status")`, id)))
		if err != nil {
			return "error: " + err.Error()
		}
		return s
	}
	if s := status("n0006"); s != "running" {
		t.Fatalf("n0006 is drawn %s", s)
	}
	close(r.hold["n0006"])
	waitFor(t, func() bool { return status("n0006") == "succeeded" })
	same, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__sameDocument === true`))
	if err != nil || !same {
		t.Fatalf("the page reloaded instead of updating in place (%v)", err)
	}
	fill, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('svg.dag g.node[data-node="n0006"] rect')).fill`))
	if fill != statusRGB[executor.StatusSucceeded] {
		t.Errorf("n0006 is painted %s after its update", fill)
	}
	if s := status("n0008"); s != "running" {
		t.Errorf("n0008 is drawn %s while it still runs", s)
	}
	close(r.hold["n0008"])
	waitFor(t, func() bool {
		st, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("execution-status") ? document.getElementById("execution-status").getAttribute("data-status") : ""`))
		return err == nil && st == "succeeded" && status("n0008") == "succeeded"
	})
	waitFor(t, func() bool {
		same, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__sameDocument === true`))
		return err == nil && !same // reloaded once the execution ended
	})
	if scripts, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('script[src$="live.js"]').length`)); scripts != 0 {
		t.Error("the final page still subscribes to events")
	}
}

// In Chromium: the execution page of a 1,000-node workflow loads and is
// drawn, all 1,000 nodes in the DAG; the time is logged (target 2 s).
func TestBrowserThousandNodes(t *testing.T) {
	f, ex := thousandNodes(t)
	srv := f.server(Options{})
	ctx := browser.New(t, 2*time.Minute)
	page := srv.URL + "/ui/executions/lineage/development/" + ex.ID
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/ui/static/style.css")); err != nil { // warm the browser
		t.Fatal(err)
	}
	var best time.Duration
	for i := range 3 {
		start := time.Now()
		if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`svg.dag g.node[data-node="n0999"]`))); err != nil {
			t.Fatal(err)
		}
		// One animation frame after load: the page has been laid out and painted.
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`new Promise(r => requestAnimationFrame(() => r()))`, chromedp.EvalAwaitPromise)); err != nil {
			t.Fatal(err)
		}
		d := time.Since(start)
		nav, _ := chromedp.Run(ctx, chromedp.Evaluate[map[string]float64](`(() => { const n = performance.getEntriesByType("navigation")[0];
			return {response: n.responseEnd, dom: n.domContentLoadedEventEnd, load: n.loadEventEnd}; })()`))
		t.Logf("1,000-node execution page in Chromium, load %d: %v (server response done at %.0fms, DOM ready at %.0fms, load event at %.0fms)",
			i+1, d, nav["response"], nav["dom"], nav["load"])
		if i == 0 || d < best {
			best = d
		}
	}
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("svg.dag g.node").length`))
	if err != nil || n != 1000 {
		t.Fatalf("%d DAG nodes (%v)", n, err)
	}
	// The target is 2 s; the log above is the figure. The test enforces a
	// generous bound only: in CI it shares 2 cores with other packages'
	// tests, and a timing is no pass/fail line on a shared machine.
	if best > slowPageBound && !raceEnabled {
		t.Errorf("best of 3 loads %v, over even the generous bound of %v (the target is 2s)", best, slowPageBound)
	}
}
