package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// checkConsoleInBrowser opens the status page in headless Chromium over HTTPS
// and reads the health the page shows.
func checkConsoleInBrowser(t *testing.T, gateway string) {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed (apt-get install chromium); the browser test needs it")
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
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	if _, err := chromedp.Run(ctx, chromedp.Navigate(gateway+"/status")); err != nil {
		t.Fatalf("browser: open %s/status: %v", gateway, err)
	}
	if _, err := chromedp.Run(ctx, chromedp.WaitVisible("#health-status")); err != nil {
		t.Fatalf("browser: health not shown: %v", err)
	}
	read := func(sel string) string {
		t.Helper()
		text, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("browser: read %s: %v", sel, err)
		}
		return strings.TrimSpace(text)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	status, database, identity := read("#health-status"), read("#health-database"), read("#health-service-identity")
	if !strings.Contains(title, "Exekra Hub") {
		t.Errorf("title = %q", title)
	}
	if status != "ok" || !strings.HasPrefix(database, "up") || identity != "up" {
		t.Fatalf("page shows status=%q database=%q identity=%q", status, database, identity)
	}
}
