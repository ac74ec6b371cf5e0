package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser drives headless Chromium (Debian's chromium) over HTTPS.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	return newBrowserFor(t, 90*time.Second)
}

// newBrowserFor is newBrowser for a walk that may take up to d in all.
func newBrowserFor(t *testing.T, d time.Duration) *browser {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed (apt-get install chromium); the browser tests need it")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("ignore-certificate-errors", true), // the pilot's self-signed certificate
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, d)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return &browser{t: t, ctx: ctx}
}

func (b *browser) do(what string, a chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, a); err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// open navigates to url. A job page reloads itself once when its job ends;
// when that reload starts while open navigates, Chromium aborts one of the
// two navigations (net::ERR_ABORTED) and open tries again, at most twice.
func (b *browser) open(url string) {
	b.t.Helper()
	for try := 1; ; try++ {
		_, err := chromedp.Run(b.ctx, chromedp.Navigate(url))
		if err == nil {
			return
		}
		if try == 3 || !strings.Contains(err.Error(), "ERR_ABORTED") {
			b.t.Fatalf("browser: open %s: %v", url, err)
		}
		b.t.Logf("browser: open %s: %v (a page reload raced it); again", url, err)
		time.Sleep(200 * time.Millisecond)
	}
}

func (b *browser) wait(sel string)  { b.t.Helper(); b.do("wait for "+sel, chromedp.WaitVisible(sel)) }
func (b *browser) click(sel string) { b.t.Helper(); b.do("click "+sel, chromedp.Click(sel)) }
func (b *browser) set(sel, value string) {
	b.t.Helper()
	b.do("fill "+sel, chromedp.SetValue(sel, value))
}
func (b *browser) typeIn(sel, v string) {
	b.t.Helper()
	b.do("type into "+sel, chromedp.SendKeys(sel, v))
}
func (b *browser) exists(sel string) bool {
	return b.eval("document.querySelector('" + sel + "') !== null")
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(sel))
	if err != nil {
		b.t.Fatalf("browser: read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (b *browser) eval(js string) bool {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js))
	if err != nil {
		b.t.Fatalf("browser: eval %s: %v", js, err)
	}
	return v
}

// checkConsoleInBrowser opens the status page and reads the health it shows.
func checkConsoleInBrowser(t *testing.T, gateway string) {
	b := newBrowser(t)
	b.open(gateway + "/status")
	b.wait("#health-status")
	title, err := chromedp.Run(b.ctx, chromedp.Title())
	if err != nil || !strings.Contains(title, "Exekra Hub") {
		t.Errorf("title = %q, %v", title, err)
	}
	status, database, identity := b.text("#health-status"), b.text("#health-database"), b.text("#health-service-identity")
	if status != "ok" || !strings.HasPrefix(database, "up") || identity != "up" {
		t.Fatalf("page shows status=%q database=%q identity=%q", status, database, identity)
	}
}
