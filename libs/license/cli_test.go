package license

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// keygen runs "keygen --out dir" and returns the key files' paths.
func keygen(t *testing.T, dir string) (string, string) {
	t.Helper()
	var out bytes.Buffer
	if err := RunCLI([]string{"keygen", "--out", dir}, &out); err != nil {
		t.Fatalf("keygen: %v", err)
	}
	if !strings.Contains(out.String(), "EXEKRA_LICENSE_PUBLIC_KEYS=") {
		t.Fatalf("keygen output = %q", out.String())
	}
	return filepath.Join(dir, PrivateKeyFile), filepath.Join(dir, PublicKeyFile)
}

func TestCLIKeygen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	keyPath, pubPath := keygen(t, dir)
	t.Run("the private key is readable by its owner only", func(t *testing.T) {
		info, err := os.Stat(keyPath)
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("stat = %v, %v", info, err)
		}
	})
	t.Run("the public key is one line usable as-is", func(t *testing.T) {
		data, _ := os.ReadFile(pubPath)
		if strings.Count(string(data), "\n") != 1 {
			t.Fatalf("license.pub = %q", data)
		}
		if _, err := ParsePublicKeys([]string{string(data)}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("existing keys are not overwritten without --force", func(t *testing.T) {
		err := RunCLI([]string{"keygen", "--out", dir}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "--force") {
			t.Fatalf("err = %v", err)
		}
		if err := RunCLI([]string{"keygen", "--out", dir, "--force"}, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCLIIssue(t *testing.T) {
	keyPath, pubPath := keygen(t, t.TempDir())
	pubText, _ := os.ReadFile(pubPath)
	trusted, _ := ParsePublicKeys([]string{string(pubText)})
	base := []string{"issue", "--key", keyPath, "--licensee", "Acme", "--admin-email", "admin@acme.test", "--max-runners", "3"}
	cases := []struct {
		name  string
		args  []string
		check func(t *testing.T, d Document)
		fail  string
	}{
		{"a date expiry lasts to the end of that day, offline by default", []string{"--expires", "2099-01-31"},
			func(t *testing.T, d Document) {
				want := time.Date(2099, 1, 31, 23, 59, 59, 0, time.UTC)
				if !d.ExpiresAt.Equal(want) || d.Validation.Mode != ModeOffline || d.Validation.IntervalHours != 720 || d.Validation.GraceDays != 14 {
					t.Fatalf("document = %+v", d)
				}
			}, ""},
		{"a portal URL makes it online with daily validation",
			[]string{"--expires", "2099-01-31T10:00:00Z", "--portal-url", "https://portal.test/usage", "--grace-days", "3", "--license-id", "L-9"},
			func(t *testing.T, d Document) {
				if d.Validation.Mode != ModeOnline || d.Validation.IntervalHours != 24 || d.Validation.GraceDays != 3 || d.LicenseID != "L-9" {
					t.Fatalf("document = %+v", d)
				}
			}, ""},
		{"not-before as a date starts that day", []string{"--expires", "2099-01-31", "--not-before", "2098-06-01"},
			func(t *testing.T, d Document) {
				if !d.NotBefore.Equal(time.Date(2098, 6, 1, 0, 0, 0, 0, time.UTC)) || len(d.LicenseID) != 36 {
					t.Fatalf("document = %+v", d)
				}
			}, ""},
		{"online mode without a portal is refused", []string{"--expires", "2099-01-31", "--mode", "online"}, nil, "portal_url"},
		{"an unreadable expiry is refused", []string{"--expires", "next year"}, nil, "--expires"},
		{"missing flags are named", []string{}, nil, "--expires, --out required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "license.txt")
			args := append(append(append([]string{}, base...), c.args...), "--out", out)
			if c.name == "missing flags are named" {
				args = append(append([]string{}, base...), c.args...)
			}
			err := RunCLI(args, &bytes.Buffer{})
			if c.fail != "" {
				if err == nil || !strings.Contains(err.Error(), c.fail) {
					t.Fatalf("err = %v, want one naming %q", err, c.fail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			text, _ := os.ReadFile(out)
			doc, err := Open(string(text), []ed25519.PublicKey(trusted))
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, doc)
		})
	}
	t.Run("--out - writes the license to standard output", func(t *testing.T) {
		var out bytes.Buffer
		if err := RunCLI(append(append([]string{}, base...), "--expires", "2099-01-01", "--out", "-"), &out); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(out.String(), trusted); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("an unknown command is refused", func(t *testing.T) {
		if err := RunCLI([]string{"revoke"}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "revoke") {
			t.Fatalf("err = %v", err)
		}
	})
}
