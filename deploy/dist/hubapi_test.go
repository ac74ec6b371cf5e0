package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// insecure talks to a Hub serving its first, self-signed certificate.
var insecure = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
	TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
}}

// hubClient sends JSON requests to the Hub at base, with token when not "".
type hubClient struct {
	t     *testing.T
	base  string
	token string
}

// call sends a JSON request (no body when nil) and decodes a JSON answer.
func (c *hubClient) call(method, path string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req)
}

// send sends req with the client's token and decodes a JSON answer.
func (c *hubClient) send(req *http.Request) (int, map[string]any, error) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := insecure.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("answer %q: %w", raw, err)
		}
	}
	return resp.StatusCode, out, nil
}

// must is call that fails the test unless the answer is want.
func (c *hubClient) must(want int, method, path string, body any) map[string]any {
	c.t.Helper()
	status, out, err := c.call(method, path, body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	if status != want {
		c.t.Fatalf("%s %s = %d %v, want %d", method, path, status, out, want)
	}
	return out
}

// setUp licenses a fresh Hub with a license that exekractl ctl issues
// from the vendor key pair in vendorDir, and bootstraps its first admin.
func (c *hubClient) setUp(ctl, vendorDir, email, password string) {
	c.t.Helper()
	lic := filepath.Join(vendorDir, "license.txt")
	runTool(c.t, ctl, "license", "issue", "--key", filepath.Join(vendorDir, "license.key"), "--licensee", "Acme Test",
		"--admin-email", email, "--max-runners", "5", "--expires", time.Now().AddDate(1, 0, 0).Format("2006-01-02"),
		"--mode", "offline", "--out", lic)
	if st := c.must(http.StatusOK, "GET", "/api/v1/setup", nil); st["licensed"] != false || st["bootstrapped"] != false {
		c.t.Fatalf("fresh setup = %v", st)
	}
	if a := c.must(http.StatusOK, "POST", "/api/v1/license", map[string]string{"license": string(readFile(c.t, lic))}); a["status"] != "active" {
		c.t.Fatalf("license activation = %v", a)
	}
	c.must(http.StatusCreated, "POST", "/api/v1/setup/bootstrap", map[string]string{"email": email, "password": password, "name": "First Admin"})
}

// login signs in and returns the session token.
func (c *hubClient) login(email, password string) string {
	c.t.Helper()
	out := c.must(http.StatusOK, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password})
	tok, _ := out["token"].(string)
	if tok == "" {
		c.t.Fatalf("login answer = %v", out)
	}
	return tok
}

// runTool runs program and returns its output, failing the test if it fails.
func runTool(t *testing.T, program string, args ...string) string {
	t.Helper()
	out, err := exec.Command(program, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(program), strings.Join(args, " "), err, out)
	}
	return string(out)
}
