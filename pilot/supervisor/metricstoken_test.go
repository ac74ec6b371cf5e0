package supervisor

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

func TestEnsureMetricsToken(t *testing.T) {
	hexToken := regexp.MustCompile(`^[0-9a-f]{64}\n$`)
	dir := filepath.Join(t.TempDir(), "credentials")
	file := filepath.Join(dir, "metrics.token")

	t.Run("a missing file is made: a fresh token, 0600, in a 0700 dir", func(t *testing.T) {
		created, err := ensureMetricsToken(file)
		if err != nil || !created {
			t.Fatalf("ensureMetricsToken = %v, %v; want created", created, err)
		}
		raw, err := os.ReadFile(file)
		if err != nil || !hexToken.Match(raw) {
			t.Fatalf("token file: %v, not 32 bytes in hex", err)
		}
		for path, want := range map[string]os.FileMode{file: 0o600, dir: 0o700} {
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
				t.Errorf("%s: %v %v, want mode %o", path, fi, err, want)
			}
		}
	})
	t.Run("an existing file is kept: an operator's rotation survives a restart", func(t *testing.T) {
		if err := os.WriteFile(file, []byte("rotated by the operator\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if created, err := ensureMetricsToken(file); err != nil || created {
			t.Fatalf("ensureMetricsToken = %v, %v; want kept", created, err)
		}
		if raw, _ := os.ReadFile(file); string(raw) != "rotated by the operator\n" {
			t.Errorf("the existing token was replaced: %q", raw)
		}
	})
	t.Run("each Hub gets its own token", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "metrics.token")
		if _, err := ensureMetricsToken(other); err != nil {
			t.Fatal(err)
		}
		a, _ := os.ReadFile(other)
		os.Remove(file)
		if _, err := ensureMetricsToken(file); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(file)
		if string(a) == string(b) || !hexToken.Match(a) || !hexToken.Match(b) {
			t.Errorf("two tokens are equal or malformed")
		}
	})
	t.Run("an unset key makes nothing", func(t *testing.T) {
		if created, err := ensureMetricsToken(""); err != nil || created {
			t.Fatalf("ensureMetricsToken(\"\") = %v, %v", created, err)
		}
	})
}
