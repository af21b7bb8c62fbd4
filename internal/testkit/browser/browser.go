// Package browser starts a real headless Chromium (Debian's chromium, which
// .ci/run installs) for tests and returns a chromedp context driving it.
//
// The flags are the ones that work on these machines: headless, no sandbox
// (tests run as root), no GPU, no QUIC, and no background networking,
// component updates or sync, since the closed network refuses every such
// connection; each browser gets a fresh user data directory under the
// test's temporary directory.
package browser

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path returns the Chromium binary: $RUNWAY_CHROMIUM, else chromium or
// chromium-browser on PATH. It fails the test when there is none: the
// browser tier does not skip.
func Path(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("RUNWAY_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium: install Debian's chromium package (.ci/run does) or set RUNWAY_CHROMIUM")
	return ""
}

// New starts Chromium and returns a context for chromedp actions, with
// timeout for the whole test. The browser stops when the test ends.
func New(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelBrowser()
		cancelAlloc()
	})
	// Start the browser now, so a missing library fails here, clearly.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", Path(t), err)
	}
	return ctx
}
