package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
)

// api calls the Hub's public API as one principal.
type api struct {
	t      testing.TB
	base   string
	token  string
	header http.Header // sent with every request
}

// with returns a copy that also sends the header name: value.
func (a *api) with(name, value string) *api {
	c := *a
	c.header = a.header.Clone()
	if c.header == nil {
		c.header = http.Header{}
	}
	c.header.Set(name, value)
	return &c
}

func (h *hub) as(token string) *api { return &api{t: h.t, base: h.gateway, token: token} }

// call sends body (nil, a string, or a value to encode) and returns the status
// and the decoded JSON answer (nil when there is none).
func (a *api) call(method, path string, body any) (int, map[string]any) {
	a.t.Helper()
	status, raw := a.raw(method, path, body)
	var out map[string]any
	if len(raw) > 0 {
		json.Unmarshal(raw, &out)
	}
	return status, out
}

func (a *api) raw(method, path string, body any) (int, []byte) {
	a.t.Helper()
	status, raw, err := a.try(method, path, body)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	return status, raw
}

// try is raw that returns a transport error (no answer) instead of failing.
func (a *api) try(method, path string, body any) (int, []byte, error) {
	a.t.Helper()
	status, _, raw, err := a.exchange(method, path, body)
	return status, raw, err
}

// exchange is try that returns the answer's headers too. Every exchange is
// held against the OpenAPI document the Hub serves (contract_test.go): one
// the document does not describe fails the test.
func (a *api) exchange(method, path string, body any) (int, http.Header, []byte, error) {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	for k, v := range a.header {
		req.Header[k] = v
	}
	resp, err := insecure.Do(req)
	if broken := (*contractError)(nil); errors.As(err, &broken) {
		// The answer came but breaks the document: the test fails, and goes
		// on with the answer.
		a.t.Errorf("%v", broken)
		resp, err = broken.Resp, nil
	}
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw, err
}

// must calls and fails the test unless the status is want.
func (a *api) must(want int, method, path string, body any) map[string]any {
	a.t.Helper()
	status, out := a.call(method, path, body)
	if status != want {
		a.t.Fatalf("%s %s = %d %v, want %d", method, path, status, out, want)
	}
	return out
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}
