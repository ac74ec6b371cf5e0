package runnerclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/contract/runners"
)

const assetsReply = `{"items":[
 {"name":"sap_login","type":"credential","scope":"environment","value":{"username":"robot1","password":"pw-Sup3r"}},
 {"name":"api_key","type":"secret","scope":"global","value":"sk-123"},
 {"name":"retries","type":"integer","scope":"runner","value":3},
 {"name":"verbose","type":"boolean","scope":"global","value":true},
 {"name":"greeting","type":"text","scope":"global","value":"hello"}]}`

func TestJobAssets(t *testing.T) {
	h := newHub(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, assetsReply)
	})
	f := newClient(t, h)
	items, err := f.c.JobAssets(context.Background(), "job-1", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 5 || items[0].Name != "sap_login" || items[0].Scope != runners.ScopeEnvironment ||
		string(items[2].Value) != "3" || items[4].Type != runners.AssetText {
		t.Fatalf("items %+v", items)
	}
	r := h.requests()[0]
	if r.method != "GET" || r.path != "/api/v1/runner/jobs/job-1/assets" || r.query != "attempt=2" ||
		r.user != testID || r.pass != testSecret || r.header.Get(runners.HeaderProtocol) != runners.ProtocolVersion {
		t.Fatalf("request %+v", r)
	}
	cred, err := AssetValueStrings(items[0])
	if err != nil || cred["USERNAME"] != "robot1" || cred["PASSWORD"] != "pw-Sup3r" {
		t.Fatalf("credential %v %v", cred, err)
	}
	for i, want := range map[int]string{1: "sk-123", 2: "3", 3: "true", 4: "hello"} {
		if v, err := AssetValueStrings(items[i]); err != nil || v[""] != want {
			t.Errorf("item %d: %v %v, want %q", i, v, err, want)
		}
	}
}

func TestJobAssetsNone(t *testing.T) {
	h := newHub(t, func(_ int, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"items":null}`) })
	items, err := newClient(t, h).c.JobAssets(context.Background(), "job-1", 0)
	if err != nil || items == nil || len(items) != 0 {
		t.Fatalf("%v %v", items, err)
	}
	if q := h.requests()[0].query; q != "attempt=0" {
		t.Fatalf("query %q", q)
	}
}

// asset_missing and permission_denied are permanent and tell apart, with
// the Hub's message; 503 may pass.
func TestJobAssetsRefusals(t *testing.T) {
	for _, tc := range []struct {
		status      int
		code, msg   string
		missing     bool
		notHeld     bool
		permanent   bool
		wantInError string
	}{
		{409, "asset_missing", `asset "sap_login" has no value for runner r1 (environment Production)`, true, false, true, `sap_login`},
		{403, "permission_denied", "this runner does not hold attempt 2 of the job", false, true, true, "does not hold"},
		{409, "conflict", "attempt 2 of this job is over", false, false, true, "is over"},
		{503, "unavailable", "the asset key file is missing; restore it from your copy", false, false, false, "key file"},
	} {
		h := newHub(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(tc.status)
			io.WriteString(w, `{"error":{"code":"`+tc.code+`","message":"`+strings.ReplaceAll(tc.msg, `"`, `\"`)+`"}}`)
		})
		f := newClient(t, h)
		err := f.c.Retry(context.Background(), Retry{Op: "fetching assets", Attempts: 2}, func(ctx context.Context) error {
			_, err := f.c.JobAssets(ctx, "job-1", 2)
			return err
		})
		calls := map[bool]int{true: 1, false: 2}[tc.permanent]
		if errors.Is(err, ErrAssetMissing) != tc.missing || errors.Is(err, ErrJobNotHeld) != tc.notHeld ||
			Permanent(err) != tc.permanent || len(h.requests()) != calls {
			t.Errorf("%d %s: %v (missing %v, not held %v, permanent %v, %d calls)", tc.status, tc.code, err,
				errors.Is(err, ErrAssetMissing), errors.Is(err, ErrJobNotHeld), Permanent(err), len(h.requests()))
		}
		if HubMessage(err) != tc.msg || !strings.Contains(err.Error(), tc.wantInError) || errors.Is(err, ErrCredentialsRefused) {
			t.Errorf("%d %s: message %q, error %v", tc.status, tc.code, HubMessage(err), err)
		}
	}
}

// A reply that does not read is ErrBadReply and the error never quotes a value.
func TestJobAssetsBadReplyHidesValues(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":              `{"items":[{"name":"api_key","type":"secret","value":"sk-LEAK`,
		"secret not a string":   `{"items":[{"name":"api_key","type":"secret","scope":"global","value":{"sk-LEAK":1}}]}`,
		"integer not integer":   `{"items":[{"name":"n","type":"integer","scope":"global","value":"sk-LEAK"}]}`,
		"integer with fraction": `{"items":[{"name":"n","type":"integer","scope":"global","value":1.5}]}`,
		"credential not object": `{"items":[{"name":"c","type":"credential","scope":"global","value":"sk-LEAK"}]}`,
		"unknown type":          `{"items":[{"name":"c","type":"blob","scope":"global","value":"sk-LEAK"}]}`,
		"no name":               `{"items":[{"type":"text","scope":"global","value":"sk-LEAK"}]}`,
	} {
		h := newHub(t, func(_ int, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, body) })
		f := newClient(t, h)
		_, err := f.c.JobAssets(context.Background(), "job-1", 1)
		if !errors.Is(err, ErrBadReply) || strings.Contains(err.Error(), "LEAK") || strings.Contains(err.Error(), "1.5") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestJobAssetsRefusesBadInput(t *testing.T) {
	h := newHub(t, func(_ int, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"items":[]}`) })
	f := newClient(t, h)
	for _, tc := range []struct {
		id      string
		attempt int
	}{{"", 1}, {"job", -1}} {
		if _, err := f.c.JobAssets(context.Background(), tc.id, tc.attempt); !errors.Is(err, ErrBadInput) || !Permanent(err) {
			t.Errorf("%q %d: %v", tc.id, tc.attempt, err)
		}
	}
	if n := len(h.requests()); n != 0 {
		t.Fatalf("%d requests", n)
	}
}
