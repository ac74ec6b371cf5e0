package tlscert

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func leaf(t *testing.T, s *Source) *x509.Certificate {
	t.Helper()
	c, err := s.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestOpen(t *testing.T) {
	t.Run("generates a self-signed pair with the host names", func(t *testing.T) {
		dir := t.TempDir()
		crt, key := filepath.Join(dir, "certs", "hub.crt"), filepath.Join(dir, "certs", "hub.key")
		s, err := Open(crt, key, true, []string{"hub.example.test", "10.1.2.3"})
		if err != nil {
			t.Fatal(err)
		}
		x := leaf(t, s)
		if !slices.Contains(x.DNSNames, "hub.example.test") || !slices.Contains(x.DNSNames, "localhost") {
			t.Errorf("DNS SANs = %v", x.DNSNames)
		}
		if err := x.VerifyHostname("127.0.0.1"); err != nil {
			t.Errorf("127.0.0.1 not covered: %v", err)
		}
		if err := x.VerifyHostname("10.1.2.3"); err != nil {
			t.Errorf("configured IP not covered: %v", err)
		}
		info, err := os.Stat(key)
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("key file mode = %v, %v", info.Mode().Perm(), err)
		}
	})
	t.Run("refuses to start without a certificate when self-signing is off", func(t *testing.T) {
		dir := t.TempDir()
		_, err := Open(filepath.Join(dir, "hub.crt"), filepath.Join(dir, "hub.key"), false, nil)
		if err == nil || !strings.Contains(err.Error(), "no TLS certificate") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a corrupt certificate is a clear error", func(t *testing.T) {
		dir := t.TempDir()
		crt, key := filepath.Join(dir, "hub.crt"), filepath.Join(dir, "hub.key")
		os.WriteFile(crt, []byte("garbage"), 0o644)
		os.WriteFile(key, []byte("garbage"), 0o600)
		if _, err := Open(crt, key, true, nil); err == nil || !strings.Contains(err.Error(), crt) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestRotatedFilesAreServedWithoutRestart(t *testing.T) {
	dir := t.TempDir()
	crt, key := filepath.Join(dir, "hub.crt"), filepath.Join(dir, "hub.key")
	s, err := Open(crt, key, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := leaf(t, s).SerialNumber
	if err := Generate(crt, key, []string{"rotated.example.test"}); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Minute)
	os.Chtimes(crt, future, future)
	s.checked = time.Time{} // skip the re-check interval
	after := leaf(t, s)
	if after.SerialNumber.Cmp(before) == 0 || !slices.Contains(after.DNSNames, "rotated.example.test") {
		t.Fatal("the rotated certificate is not served")
	}
}

func TestNotAfterFollowsTheCertificateServed(t *testing.T) {
	dir := t.TempDir()
	crt, key := filepath.Join(dir, "hub.crt"), filepath.Join(dir, "hub.key")
	s, err := Open(crt, key, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.NotAfter(), leaf(t, s).NotAfter; !got.Equal(want) || time.Until(got) < 700*24*time.Hour {
		t.Fatalf("NotAfter = %s, want the generated certificate's %s (two years)", got, want)
	}
	soon := time.Now().Add(10 * 24 * time.Hour).Truncate(time.Second)
	if err := generate(crt, key, nil, soon); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Minute)
	os.Chtimes(crt, future, future)
	s.checked = time.Time{} // skip the re-check interval
	if got := s.NotAfter(); !got.Equal(soon) {
		t.Fatalf("NotAfter after rotation = %s, want %s", got, soon)
	}
}
