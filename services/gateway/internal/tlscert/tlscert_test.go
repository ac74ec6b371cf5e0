package tlscert

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
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

// handshake runs one TLS handshake between a server on s.Config() and a
// client restricted to cfg.
func handshake(t *testing.T, s *Source, cfg *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", s.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.(*tls.Conn).Handshake()
	}()
	cfg.InsecureSkipVerify = true // the self-signed test certificate; only the suite is under test
	c, err := tls.Dial("tcp", ln.Addr().String(), cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	return c.ConnectionState(), nil
}

// rsaSource is a Source on a self-signed RSA pair, as an operator may bring.
func rsaSource(t *testing.T) *Source {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	crt, keyFile := filepath.Join(dir, "hub.crt"), filepath.Join(dir, "hub.key")
	os.WriteFile(crt, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	s, err := Open(crt, keyFile, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConfigOffersOnlyModernSuites: TLS 1.2 offered CBC-SHA1 suites.
func TestConfigOffersOnlyModernSuites(t *testing.T) {
	dir := t.TempDir()
	ecdsa, err := Open(filepath.Join(dir, "hub.crt"), filepath.Join(dir, "hub.key"), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	tls12 := func(suites ...uint16) *tls.Config {
		return &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: suites}
	}
	for _, key := range []struct {
		name     string
		s        *Source
		refused  []uint16
		accepted []uint16
	}{
		{"ECDSA", ecdsa,
			[]uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256},
			[]uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}},
		{"RSA", rsaSource(t),
			[]uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA,
				tls.TLS_RSA_WITH_AES_128_GCM_SHA256},
			[]uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256}},
	} {
		for _, suite := range key.refused {
			t.Run(key.name+" refuses "+tls.CipherSuiteName(suite), func(t *testing.T) {
				if st, err := handshake(t, key.s, tls12(suite)); err == nil {
					t.Fatalf("handshake succeeded with %s", tls.CipherSuiteName(st.CipherSuite))
				}
			})
		}
		for _, suite := range key.accepted {
			t.Run(key.name+" accepts "+tls.CipherSuiteName(suite), func(t *testing.T) {
				if _, err := handshake(t, key.s, tls12(suite)); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
	t.Run("refuses TLS 1.1", func(t *testing.T) {
		if _, err := handshake(t, ecdsa, &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}); err == nil {
			t.Fatal("a TLS 1.1 handshake succeeded")
		}
	})
	t.Run("TLS 1.3 is offered", func(t *testing.T) {
		if st, err := handshake(t, ecdsa, &tls.Config{}); err != nil || st.Version != tls.VersionTLS13 {
			t.Fatalf("version %x, %v", st.Version, err)
		}
	})
}
