package httpapi

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/pkgstore"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/web"
	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go/jetstream"
)

// packageServer serves the package handlers with a stand-in runners service.
func packageServer(t *testing.T, maxBytes int64) *httptest.Server {
	t.Helper()
	url := natstest.URL(t)
	nc := natstest.Connect(t, url)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	store, err := pkgstore.Open(context.Background(), js, 1)
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]runners.Package{}
	log := slog.New(slog.DiscardHandler)
	eps := []natsrpc.Endpoint{
		natsrpc.Handle(runners.SubjectPackageGet, func(_ context.Context, req runners.PackageRequest) (runners.Package, error) {
			if p, ok := recorded[req.Name+"@"+req.Version]; ok {
				return p, nil
			}
			return runners.Package{}, errs.E(errs.NotFound, "none")
		}),
		natsrpc.Handle(runners.SubjectPackageRecord, func(_ context.Context, req runners.RecordPackageRequest) (runners.Package, error) {
			p := runners.Package{Name: req.Name, Version: req.Version, SHA256: req.SHA256, SizeBytes: req.SizeBytes, PublishedBy: "dev", PublishedAt: time.Now(),
				Assets: req.Assets}
			recorded[req.Name+"@"+req.Version] = p
			return p, nil
		}),
		natsrpc.Handle(runners.SubjectPackageAccess, func(_ context.Context, req runners.PackageAccessRequest) (runners.PackageAccess, error) {
			p, ok := recorded[req.Name+"@"+req.Version]
			if !ok || req.RunnerID != "r1" {
				return runners.PackageAccess{}, errs.E(errs.PermissionDenied, "no job")
			}
			return runners.PackageAccess{SHA256: p.SHA256, SizeBytes: p.SizeBytes}, nil
		}),
	}
	serveStubs(t, url, log, "stub-runners", eps)
	s := &Server{Log: log, NATS: natsrpc.NewClient(nc, nil), Packages: store, PackageMaxBytes: maxBytes}
	e := gin.New()
	e.POST("/api/v1/packages", web.Wrap(log, s.publishPackage))
	e.GET(runners.PathPackage, web.Wrap(log, s.downloadPackage))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

func zipOf(t *testing.T, files map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for n, b := range files {
		w, _ := zw.Create(n)
		io.WriteString(w, b)
	}
	zw.Close()
	return buf.Bytes()
}

func upload(t *testing.T, url string, data []byte) (int, map[string]any) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("package", "p.zip")
	w.Write(data)
	mw.Close()
	resp, err := http.Post(url+"/api/v1/packages", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestPackageHandlers(t *testing.T) {
	srv := packageServer(t, 4096)
	pkg := zipOf(t, map[string]string{"exekra.json": `{"name":"etl","version":"1.0.0","entrypoint":["./run"]}`, "run": "#!/bin/sh\n"})
	code, body := upload(t, srv.URL, pkg)
	if code != http.StatusCreated || body["name"] != "etl" || body["size_bytes"] != float64(len(pkg)) || len(body["sha256"].(string)) != 64 {
		t.Fatalf("publish = %d %v", code, body)
	}
	if code, body := upload(t, srv.URL, pkg); code != http.StatusConflict {
		t.Fatalf("repeat = %d %v", code, body)
	}
	if code, _ := upload(t, srv.URL, zipOf(t, map[string]string{"exekra.json": `{"name":"etl","version":"1.0","entrypoint":["x"]}`})); code != http.StatusBadRequest {
		t.Fatalf("bad semver = %d", code)
	}
	if code, body := upload(t, srv.URL, bytes.Repeat([]byte("x"), 5000)); code != http.StatusRequestEntityTooLarge || body["error"].(map[string]any)["code"] != "payload_too_large" {
		t.Fatalf("too large = %d %v", code, body)
	}
	get := func(user string) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+runners.PackagePath("etl", "1.0.0"), nil)
		req.SetBasicAuth(user, "exk_ms_secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	if resp, b := get("r1"); resp.StatusCode != http.StatusOK || !bytes.Equal(b, pkg) || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("download = %d, %d bytes", resp.StatusCode, len(b))
	}
	if resp, _ := get("r2"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("download by a runner without the job = %d", resp.StatusCode)
	}
}

func TestPublishPassesDeclaredAssets(t *testing.T) {
	srv := packageServer(t, 4096)
	pkg := zipOf(t, map[string]string{"exekra.json": `{"name":"etl","version":"2.0.0","entrypoint":["./run"],"assets":["db_login","api_token"]}`})
	code, body := upload(t, srv.URL, pkg)
	assets, _ := body["assets"].([]any)
	if code != http.StatusCreated || len(assets) != 2 || assets[0] != "db_login" || assets[1] != "api_token" {
		t.Fatalf("publish = %d %v", code, body)
	}
	for manifest, want := range map[string]string{
		`{"name":"etl","version":"2.0.1","entrypoint":["./run"],"assets":["db-login"]}`:          `asset 1 ("db-login"): name must be an identifier`,
		`{"name":"etl","version":"2.0.2","entrypoint":["./run"],"assets":["token","Token"]}`:     `asset "Token": declared twice`,
		`{"name":"etl","version":"2.0.3","entrypoint":["./run"],"assets":{"db_login":"secret"}}`: `"assets" must be an array of asset names`,
	} {
		code, body := upload(t, srv.URL, zipOf(t, map[string]string{"exekra.json": manifest}))
		e, _ := body["error"].(map[string]any)
		if msg, _ := e["message"].(string); code != http.StatusBadRequest || e["code"] != "invalid_argument" || !strings.Contains(msg, want) {
			t.Fatalf("%s: %d %v", manifest, code, body)
		}
	}
}
