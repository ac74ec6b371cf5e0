package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// servedCertificate is the certificate the gateway presents now.
func servedCertificate(t *testing.T, h *hub) *x509.Certificate {
	t.Helper()
	conn, err := tls.Dial("tcp", strings.TrimPrefix(h.gateway, "https://"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

// writeCertificate replaces the Hub's certificate files with a new
// self-signed pair for name, as an operator rotating certificates does.
func writeCertificate(t *testing.T, h *hub, name string) *big.Int {
	t.Helper()
	cert, key, serial := newCertificate(t, name)
	dir := filepath.Join(h.home, "config", "certs")
	// Each file is replaced whole (rename), as deployment tools do.
	for name, data := range map[string][]byte{"hub.key": key, "hub.crt": cert} {
		tmp := filepath.Join(dir, "."+name+".new")
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return serial
}

// editConfig changes the install's hub-config.json the way an operator
// does: in the text, keeping its comments.
func editConfig(t *testing.T, h *hub, old, new string) {
	t.Helper()
	path := filepath.Join(h.home, "config", "hub-config.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), old) {
		t.Fatalf("%s does not hold %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(raw), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestOperations: certificates rotate without a restart (and stay rotated
// across one), and a changed hub-config.json applies when the Hub restarts.
func TestOperations(t *testing.T) {
	h := newHub(t)
	h.start()
	first := servedCertificate(t, h)

	t.Run("new certificate files are served without a restart", func(t *testing.T) {
		serial := writeCertificate(t, h, "rotated.e2e.test")
		start := time.Now()
		waitFor(t, 15*time.Second, "the new certificate served", func() bool {
			return servedCertificate(t, h).SerialNumber.Cmp(serial) == 0
		})
		t.Logf("new certificate served %.1fs after the files were replaced", time.Since(start).Seconds())
		if first.SerialNumber.Cmp(serial) == 0 {
			t.Fatal("the first certificate had the new serial")
		}
	})

	big := map[string]string{"email": "a@example.test", "password": strings.Repeat("x", 8<<10)}
	if status, _ := h.as("").call("POST", "/api/v1/auth/login", big); status == http.StatusRequestEntityTooLarge {
		t.Fatal("an 8 KiB body is refused before the limit was lowered")
	}
	t.Run("a changed hub-config.json applies on restart", func(t *testing.T) {
		editConfig(t, h, `"max_body_bytes": 1048576`, `"max_body_bytes": 4096`)
		h.kill()
		h.start()
		status, body := h.as("").call("POST", "/api/v1/auth/login", big)
		if status != http.StatusRequestEntityTooLarge || errCode(body) != "payload_too_large" {
			t.Fatalf("an 8 KiB body after max_body_bytes 4096 = %d %v", status, body)
		}
	})
	t.Run("the rotated certificate is still served after the restart", func(t *testing.T) {
		if got := servedCertificate(t, h); !strings.Contains(strings.Join(got.DNSNames, ","), "rotated.e2e.test") {
			t.Fatalf("served %v", got.DNSNames)
		}
	})
}
