package hubclient

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestUpload(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			return
		}
		if r.URL.Query().Get("reject") != "" { // answer without reading the body
			w.WriteHeader(413)
			w.Write([]byte(`{"error":{"code":"payload_too_large","message":"too big"}}`))
			return
		}
		f, hdr, err := r.FormFile("package")
		if err != nil {
			w.WriteHeader(400)
			return
		}
		data, _ := io.ReadAll(f)
		json.NewEncoder(w).Encode(map[string]any{"name": hdr.Filename, "size": len(data)})
	}))
	defer srv.Close()
	sum := sha256.Sum256(srv.Certificate().Raw)
	c, err := New(srv.URL, "tok", Options{Fingerprint: hex.EncodeToString(sum[:])})
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("x"), 3<<20)
	var out struct {
		Name string
		Size int
	}
	if err := c.Upload("/up", "package", "p.zip", bytes.NewReader(body), &out); err != nil || out.Name != "p.zip" || out.Size != len(body) {
		t.Fatalf("upload: %+v, %v", out, err)
	}
	err = c.Upload("/up?reject=1", "package", "p.zip", bytes.NewReader(body), nil)
	var api *APIError
	if !errors.As(err, &api) || api.Status != 413 || api.Code != "payload_too_large" {
		t.Fatalf("rejected upload: %v", err)
	}
}
