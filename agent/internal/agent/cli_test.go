package agent

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

func TestMainExitCodes(t *testing.T) {
	t.Run("--version prints the version", func(t *testing.T) {
		var out bytes.Buffer
		if code := Main(context.Background(), []string{"--version"}, &out, &out); code != ExitOK || out.Len() == 0 {
			t.Fatalf("code %d, out %q", code, out.String())
		}
	})
	t.Run("bad usage exits 2 with the usage", func(t *testing.T) {
		var out bytes.Buffer
		if code := Main(context.Background(), []string{"--hub"}, &out, &out); code != ExitUsage || !strings.Contains(out.String(), "usage:") {
			t.Fatalf("code %d, out %q", code, out.String())
		}
	})
	t.Run("a missing secret file exits 2 with a JSON log line", func(t *testing.T) {
		var out bytes.Buffer
		args := []string{"--hub", "https://127.0.0.1:1", "--id", testID, "--secret-file", "/nonexistent/secret"}
		if code := Main(context.Background(), args, &out, &out); code != ExitUsage || !strings.HasPrefix(out.String(), `{"time"`) {
			t.Fatalf("code %d, out %q", code, out.String())
		}
	})
	t.Run("a 401 exits 3", func(t *testing.T) {
		hub := newFakeHub(t, apiError(401, "invalid_credentials"))
		var out bytes.Buffer
		args := []string{"--hub", hub.srv.URL, "--id", testID, "--secret-file", writeFile(t, "s", testSecret, 0o600),
			"--fingerprint", fingerprint(hub.srv), "--work-dir", t.TempDir()}
		if code := Main(context.Background(), args, &out, &out); code != ExitCredentials || strings.Contains(out.String(), testSecret) {
			t.Fatalf("code %d, out %q", code, out.String())
		}
	})
}
