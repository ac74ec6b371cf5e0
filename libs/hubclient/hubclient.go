// Package hubclient calls the Hub's public HTTPS API for the command-line
// tools: it verifies the Hub's certificate (system roots, a CA file, or a
// pinned SHA-256 fingerprint for self-signed pilots) and never skips that.
package hubclient

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// Client talks to one Hub as one user.
type Client struct {
	Base   string
	Token  string
	http   *http.Client
	header http.Header // sent with every request
}

// Options say how to trust the Hub.
type Options struct {
	CAFile      string // PEM file of the CA (for a pilot: config/certs/hub.crt)
	Fingerprint string // hex SHA-256 of the Hub's certificate (colons allowed)
	Timeout     time.Duration
}

// New returns a client for base (https://host:port).
func New(base, token string, opts Options) (*Client, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", opts.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	if fp := strings.ToLower(strings.ReplaceAll(opts.Fingerprint, ":", "")); fp != "" {
		want, err := hex.DecodeString(fp)
		if err != nil || len(want) != sha256.Size {
			return nil, errors.New("fingerprint must be the hex SHA-256 of the Hub's certificate")
		}
		tlsCfg.InsecureSkipVerify = true // replaced by the pin check below, never skipped
		tlsCfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("the Hub sent no certificate")
			}
			if got := sha256.Sum256(raw[0]); !bytes.Equal(got[:], want) {
				return fmt.Errorf("the Hub's certificate fingerprint %x does not match the pinned one", got)
			}
			return nil
		}
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	return &Client{Base: strings.TrimRight(base, "/"), Token: token,
		http: &http.Client{Timeout: timeout, Transport: &http.Transport{TLSClientConfig: tlsCfg}}}, nil
}

// APIError is an error answer of the Hub.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Message)
}

// WithHeader returns a client that sends header name: value on every request.
func (c *Client) WithHeader(name, value string) *Client {
	cc := *c
	cc.header = c.header.Clone()
	if cc.header == nil {
		cc.header = http.Header{}
	}
	cc.header.Set(name, value)
	return &cc
}

// Do sends a request and returns the response for the caller to read and
// close; error answers are returned as *APIError.
func (c *Client) Do(method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.Base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req)
}

// send sends req with the token and turns error answers into *APIError.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	method, path := req.Method, req.URL.RequestURI()
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		var env struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&env)
		return nil, &APIError{Status: resp.StatusCode, Code: env.Error.Code, Message: env.Error.Message}
	}
	return resp, nil
}

// JSON sends a request and decodes the JSON answer into out.
func (c *Client) JSON(method, path string, body, out any) error {
	resp, err := c.Do(method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}
