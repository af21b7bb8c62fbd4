//go:build integration

package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	git "github.com/go-git/go-git/v5"

	testbrowser "github.com/runway-ci/runway/internal/testkit/browser"
)

// screenshot rewrites the README's screenshot of the execution page:
//
//	go test -tags integration ./cmd/internal/cli -run TestUIDemoInBrowser -screenshot
var screenshot = flag.Bool("screenshot", false, "write docs/ui-execution.png from the demo's execution page")

// What the README promises: `runway demo`, then `runway ui`, and a new user
// sees the DAG, the outputs and the promotion history in a browser. The
// test runs the demo, promotes its version to staging, starts `runway ui`
// and, in headless Chromium, clicks from the executions list to the
// execution, to a node, to its output's download (the bytes match the
// digest), and to the entity's promotion history.
func TestUIDemoInBrowser(t *testing.T) {
	home := t.TempDir()
	dir := filepath.Join(t.TempDir(), "demo")
	r := run(t, home, "demo", "--dir", dir)
	if r.code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	if !strings.Contains(r.out, "runway ui") || !strings.Contains(r.out, "http://"+DefaultUIAddr+"/ui/") {
		t.Errorf("the demo does not end with the way to the browser:\n%s", r.out)
	}
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	version := head.Hash().String()
	r = run(t, home, "promote", "--repo", dir, "--from", "development", "--to", "staging", "--version", version,
		"--actor", "alice", "--approved-by", "bob", "--pr", "7", "--pr-author", "carol", "--reason", "demo promotion")
	if r.code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", r.code, r.out, r.err)
	}

	u := startUI(t, map[string]string{"RUNWAY_HOME": home}, "--addr", "127.0.0.1:0")
	ctx := testbrowser.New(t, 3*time.Minute)
	downloads := t.TempDir()
	progress := chromedp.Events(ctx, browser.DownloadProgress)
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return s
	}

	// The executions list: the demo's run, with its status.
	if err := chromedp.Do(ctx, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("#executions"))); err != nil {
		t.Fatal(err)
	}
	if rows := text("#executions tbody"); !strings.Contains(rows, "succeeded") || !strings.Contains(rows, "launchplan/nightly") {
		t.Errorf("executions list: %q", rows)
	}

	// Click into the execution: the DAG of the sample's four nodes, green.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("a.execution-link")), chromedp.WaitVisible(chromedp.CSS("svg.dag"))); err != nil {
		t.Fatal(err)
	}
	nodes, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries(Array.from(document.querySelectorAll("svg.dag g.node")).map(g => [g.getAttribute("data-node"), g.getAttribute("data-status") + " " + getComputedStyle(g.querySelector("rect")).fill]))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 4 {
		t.Errorf("DAG nodes %v, want prep, stats, fit, eval", nodes)
	}
	for _, id := range []string{"prep", "stats", "fit", "eval"} {
		if nodes[id] != "succeeded rgb(30, 142, 62)" {
			t.Errorf("node %s is drawn %q", id, nodes[id])
		}
	}
	if outs := text("main"); !strings.Contains(outs, "r2") || !strings.Contains(outs, "rmse") {
		t.Error("the execution page does not show the workflow's outputs r2 and rmse")
	}
	if *screenshot {
		shot, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS("main")))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "..", "..", "docs", "ui-execution.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Click the fit node: its outputs, with the model downloadable.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`svg.dag g.node[data-node="fit"] a`)), chromedp.WaitVisible(chromedp.CSS("#outputs"))); err != nil {
		t.Fatal(err)
	}
	if id := text("#node-id"); id != "fit" {
		t.Fatalf("clicked into node %q", id)
	}
	// Its attempt's log, kept by the local executor.
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("details.log[open] pre.log").length`)); err != nil || n != 1 {
		t.Errorf("the fit node page shows %d open attempt logs (%v), want 1", n, err)
	}
	// What the fit task asked for, and what its python process used.
	if res := text("#resources"); !strings.Contains(res, "memory=256Mi") || !strings.Contains(res, "peak memory") {
		t.Errorf("resources asked for and used: %q", res)
	}
	digest, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`#outputs tr[data-value="model"] a.download`), "title"))
	if err != nil || !digest.Exists || !strings.HasPrefix(digest.Value, "sha256:") {
		t.Fatalf("the model output has no download link: %+v %v", digest, err)
	}
	events := true
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: &events})
		return err
	}), chromedp.Click(chromedp.CSS(`#outputs tr[data-value="model"] a.download`))); err != nil {
		t.Fatal(err)
	}
	var guid string
	for ev, err := range progress {
		if err != nil {
			t.Fatal(err)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			guid = ev.GUID
			break
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("the download was cancelled")
		}
	}
	got, err := os.ReadFile(filepath.Join(downloads, guid))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(got)
	if "sha256:"+hex.EncodeToString(sum[:]) != digest.Value || len(got) == 0 {
		t.Errorf("downloaded %d bytes hashing to %x, want %s", len(got), sum, digest.Value)
	}

	// To the task's entity page: versions per domain with identical
	// digests, and the promotion with its actor, PR and reason (approvals
	// are recorded where the policy asks for them; see the ui package tests).
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#task-link")), chromedp.WaitVisible(chromedp.CSS("#entity-name"))); err != nil {
		t.Fatal(err)
	}
	page := text("main")
	for _, want := range []string{"fit", "development", "staging", "promoted from development", "alice", "PR #7 by carol", "demo promotion"} {
		if !strings.Contains(page, want) {
			t.Errorf("the entity page lacks %q:\n%s", want, page)
		}
	}
	if same := text("#digests-identical"); !strings.Contains(same, "all 2 domains") {
		t.Errorf("digest identity: %q", same)
	}

	// And the version trail from there.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("section.version h2 a")), chromedp.WaitVisible(chromedp.CSS("#trail-version"))); err != nil {
		t.Fatal(err)
	}
	trail := text("main")
	for _, want := range []string{version, "launchplan/nightly", "workflow/train", "task/fit", "bundle sha256:", "alice", "succeeded", "decision none"} {
		if !strings.Contains(trail, want) {
			t.Errorf("the version trail lacks %q", want)
		}
	}
}
