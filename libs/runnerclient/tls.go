package runnerclient

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// TLSConfig is how a runner trusts its Hub: against the system's roots
// when caFile and fingerprint are "", against the CA file's certificates,
// or by the pinned SHA-256 fingerprint of the Hub's certificate
// (self-signed pilots; hex, colons allowed). Verification is never
// skipped: a pin replaces the chain check with its own.
func TLSConfig(caFile, fingerprint string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
		}
		cfg.RootCAs = pool
	}
	if fingerprint != "" {
		want, err := ParseFingerprint(fingerprint)
		if err != nil {
			return nil, err
		}
		cfg.InsecureSkipVerify = true // replaced by the pin check below, never skipped
		cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("the Hub sent no certificate")
			}
			if got := sha256.Sum256(raw[0]); !bytes.Equal(got[:], want) {
				return &PinError{Got: got[:]}
			}
			return nil
		}
	}
	return cfg, nil
}

// ParseFingerprint reads a certificate's hex SHA-256 (64 digits, colons
// and either case allowed).
func ParseFingerprint(fp string) ([]byte, error) {
	b, err := hex.DecodeString(strings.ToLower(strings.ReplaceAll(strings.TrimSpace(fp), ":", "")))
	if err != nil || len(b) != sha256.Size {
		return nil, errors.New("the fingerprint must be the hex SHA-256 of the Hub's certificate (64 hex digits, colons allowed)")
	}
	return b, nil
}

// PinError is a certificate that does not match the pinned fingerprint.
type PinError struct{ Got []byte }

func (e *PinError) Error() string {
	return fmt.Sprintf("the Hub's certificate fingerprint %x does not match the pinned one", e.Got)
}

// IsCertificateError reports whether err is the Hub's certificate being refused.
func IsCertificateError(err error) bool {
	var unknown x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var pin *PinError
	return errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verify) || errors.As(err, &pin)
}

// NewHTTPClient is a runner's HTTP client: one transport (HTTP/2 when the
// Hub offers it, the environment's proxy) trusting tc (nil: the system's
// roots), never following redirects.
func NewHTTPClient(tc *tls.Config) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:     tc,
			TLSHandshakeTimeout: 10 * time.Second,
			IdleConnTimeout:     90 * time.Second,
			MaxIdleConns:        4,
			ForceAttemptHTTP2:   true,
		},
		CheckRedirect: noRedirect,
	}
}
