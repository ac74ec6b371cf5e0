package agent

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// Trust modes, as logged at start-up.
const (
	trustSystem      = "system roots"
	trustCAFile      = "CA file"
	trustFingerprint = "pinned fingerprint"
)

// tlsConfig verifies the Hub's certificate: against the system's roots by
// default, against the CA file when one is given, or by its pinned SHA-256
// fingerprint (self-signed pilots). Verification is never skipped: without
// --ca or --fingerprint, a certificate the system does not trust fails the
// handshake and the agent says so.
func tlsConfig(c Config) (*tls.Config, string, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	mode := trustSystem
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, "", usagef("CA file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, "", usagef("CA file %s holds no PEM certificate", c.CAFile)
		}
		cfg.RootCAs, mode = pool, trustCAFile
	}
	if c.Fingerprint != "" {
		want, err := parseFingerprint(c.Fingerprint)
		if err != nil {
			return nil, "", err
		}
		cfg.InsecureSkipVerify = true // replaced by the pin check below, never skipped
		cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("the Hub sent no certificate")
			}
			if got := sha256.Sum256(raw[0]); !bytes.Equal(got[:], want) {
				return &pinError{got: got[:]}
			}
			return nil
		}
		mode = trustFingerprint
	}
	return cfg, mode, nil
}

// pinError is a certificate that does not match the pinned fingerprint.
type pinError struct{ got []byte }

func (e *pinError) Error() string {
	return fmt.Sprintf("the Hub's certificate fingerprint %x does not match the pinned one", e.got)
}

// newHTTPClient returns the client heartbeats go through.
func newHTTPClient(tc *tls.Config) *http.Client {
	return &http.Client{
		Timeout:       30 * time.Second,
		Transport:     newTransport(tc),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// newLongClient shares c's transport without an overall timeout: long
// polls and package downloads bound themselves through their context.
func newLongClient(c *http.Client) *http.Client {
	return &http.Client{Transport: c.Transport, CheckRedirect: c.CheckRedirect}
}

// newTransport is the one transport (and TLS trust) of all the agent's requests.
func newTransport(tc *tls.Config) *http.Transport {
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tc,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConns:        4,
		ForceAttemptHTTP2:   true,
	}
}

// certificateError reports whether err is the Hub's certificate being refused.
func certificateError(err error) bool {
	var unknown x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var pin *pinError
	return errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verify) || errors.As(err, &pin)
}
