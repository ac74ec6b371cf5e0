// Package tlscert provides the gateway's certificate: read from PEM files,
// generated self-signed at first start when allowed, and re-read when the
// files change so a rotated certificate is served without a restart.
package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Source serves the current certificate from certFile and keyFile.
type Source struct {
	certFile, keyFile string
	mu                sync.Mutex
	cert              *tls.Certificate
	modTime           time.Time
	checked           time.Time
}

// Open loads the pair, generating a self-signed one first when it is absent and
// selfSigned is true. hosts go into the generated certificate's SANs.
func Open(certFile, keyFile string, selfSigned bool, hosts []string) (*Source, error) {
	_, errCert := os.Stat(certFile)
	_, errKey := os.Stat(keyFile)
	if os.IsNotExist(errCert) && os.IsNotExist(errKey) {
		if !selfSigned {
			return nil, fmt.Errorf("no TLS certificate at %s (provide hub.crt and hub.key, or set tls.self_signed)", certFile)
		}
		if err := Generate(certFile, keyFile, hosts); err != nil {
			return nil, err
		}
	}
	s := &Source{certFile: certFile, keyFile: keyFile}
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Source) load() error {
	info, err := os.Stat(s.certFile)
	if err != nil {
		return fmt.Errorf("TLS certificate: %w", err)
	}
	pair, err := tls.LoadX509KeyPair(s.certFile, s.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s / key %s: %w", s.certFile, s.keyFile, err)
	}
	s.cert, s.modTime = &pair, info.ModTime()
	return nil
}

// GetCertificate is for tls.Config: it re-reads the files at most every few
// seconds when their modification time changed, keeping the old pair on error.
func (s *Source) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.current(), nil
}

// current is the pair in force, re-read as GetCertificate says.
func (s *Source) current() *tls.Certificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Since(s.checked) > 2*time.Second {
		s.checked = time.Now()
		if info, err := os.Stat(s.certFile); err == nil && !info.ModTime().Equal(s.modTime) {
			old, oldMod := s.cert, s.modTime
			if err := s.load(); err != nil {
				s.cert, s.modTime = old, oldMod
			}
		}
	}
	return s.cert
}

// NotAfter is when the certificate served now expires, following a rotated
// certificate like GetCertificate; zero when it cannot be read.
func (s *Source) NotAfter() time.Time {
	c := s.current()
	if c == nil {
		return time.Time{}
	}
	if c.Leaf != nil {
		return c.Leaf.NotAfter
	}
	if len(c.Certificate) == 0 {
		return time.Time{}
	}
	x, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return time.Time{}
	}
	return x.NotAfter
}

// Suites are the TLS 1.2 cipher suites the gateway offers: forward-secret
// ECDHE with an AEAD only. Go's defaults still hold the CBC-SHA1 suites, which
// security scans flag; TLS 1.3 suites are fixed by Go and all modern.
var Suites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// Config is a server TLS configuration using s: TLS 1.2 and newer, and on
// TLS 1.2 the Suites only.
func (s *Source) Config() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: Suites, GetCertificate: s.GetCertificate}
}

// Generate writes a self-signed ECDSA P-256 certificate valid for two years
// for hosts, localhost, 127.0.0.1 and ::1; the key file is readable by its
// owner only.
func Generate(certFile, keyFile string, hosts []string) error {
	return generate(certFile, keyFile, hosts, time.Now().AddDate(2, 0, 0))
}

func generate(certFile, keyFile string, hosts []string, notAfter time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return fmt.Errorf("generate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Exekra Hub", Organization: []string{"Exekra Hub (self-signed)"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	names := append([]string{"localhost", "127.0.0.1", "::1"}, hosts...)
	if h, err := os.Hostname(); err == nil {
		names = append(names, h)
	}
	for _, h := range names {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("create certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode TLS key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o755); err != nil {
		return fmt.Errorf("create certificate dir: %w", err)
	}
	if err := writePEM(keyFile, "EC PRIVATE KEY", keyDER, 0o600); err != nil {
		return err
	}
	return writePEM(certFile, "CERTIFICATE", der, 0o644)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
