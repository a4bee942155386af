// Package browsertest drives a real headless Chromium (Debian's chromium
// package) from tests, through chromedp, the way a customer or a merchant
// uses the pages. It belongs to no layer.
//
// Where no Chromium is installed the tests skip with a message saying how
// to install it; with PAYGATE_BROWSER_TESTS=required (as .ci/run sets) they
// fail instead, so CI never passes without them.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Timeout bounds the browser's life in one test; StepTimeout bounds each
// call of Do or Get (a selector that never matches fails in StepTimeout).
const (
	Timeout     = 5 * time.Minute
	StepTimeout = 20 * time.Second
)

// ExecPath finds Chromium: $PAYGATE_CHROMIUM, or chromium (Debian) or
// chromium-browser or google-chrome on the PATH.
func ExecPath() string {
	if p := os.Getenv("PAYGATE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New starts a headless Chromium for t and returns the context of its
// first tab; it is closed when t ends.
func New(t *testing.T) context.Context {
	t.Helper()
	path := ExecPath()
	if path == "" {
		msg := "no Chromium found: install it (apt-get install -y chromium) or set PAYGATE_CHROMIUM; browser tests skipped"
		if os.Getenv("PAYGATE_BROWSER_TESTS") == "required" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// Chromium's children may still write in its profile for a moment
	// after it stops, so the directory is removed with retries rather
	// than by t.TempDir.
	dir, err := os.MkdirTemp("", "paygate-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(1000, 900),
		// This machine's network is closed: without these, Chromium
		// keeps trying to reach Google's services. The back-forward
		// cache is off: chromedp loses the page it restores, and a page
		// served no-store is fetched again on Back in any case.
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,BackForwardCache"),
		chromedp.Flag("no-proxy-server", true),
	)
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancel()
		for range 50 {
			if os.RemoveAll(dir) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	return bctx
}

// Do runs browser steps, failing t with what was being done.
func Do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, StepTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		failed(t, ctx, what, err)
	}
}

// failed fails t after a step failed, saying where the tab was and what it
// showed (and keeping a screenshot, with PAYGATE_SCREENSHOTS).
func failed(t *testing.T, ctx context.Context, what string, err error) {
	t.Helper()
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(qctx, chromedp.Location())
	text, _ := chromedp.Run(qctx, chromedp.Text(chromedp.CSS("body")))
	Screenshot(t, qctx, "failed-"+t.Name())
	if len(text) > 2000 {
		text = text[:2000] + "…"
	}
	t.Fatalf("%s: %v\nat %s, the page reads:\n%s", what, err, loc, text)
}

// Get runs one browser action that returns a value, failing t with what
// was being done.
func Get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, StepTimeout)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		failed(t, ctx, what, err)
	}
	return v
}

// Screenshot saves the whole page as name.png in $PAYGATE_SCREENSHOTS, if
// set (to look at the pages), and does nothing otherwise. (Quality 100
// makes a PNG; less, a JPEG.)
func Screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("PAYGATE_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	name = strings.NewReplacer("/", "_", " ", "_").Replace(name)
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
	}
}

// Text returns the visible text of the page's body.
func Text(t *testing.T, ctx context.Context) string {
	t.Helper()
	return Get(t, ctx, "read the page", chromedp.Text(chromedp.CSS("body")))
}

// Location returns the tab's URL.
func Location(t *testing.T, ctx context.Context) string {
	t.Helper()
	return Get(t, ctx, "read the URL", chromedp.Location())
}

// Tab opens a new tab in the browser of ctx (from New); it is closed when
// t ends.
func Tab(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return tab
}
