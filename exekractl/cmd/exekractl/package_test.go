package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/pkgstore"
)

const testManifest = `{"name":"hello","version":"1.2.3","entrypoint":["./run.sh"]}`

func writeTree(t *testing.T, files map[string]string, execs ...string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range execs {
		if err := os.Chmod(filepath.Join(dir, filepath.FromSlash(name)), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func zipBytes(t *testing.T, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := zipDir(dir, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestZipDir(t *testing.T) {
	files := map[string]string{
		"exekra.json":  testManifest,
		"run.sh":       "#!/bin/sh\necho hi\n",
		"lib/b.txt":    "b",
		"lib/a.txt":    "a",
		"z/deep/x.bin": "x",
		".hidden":      "h",
	}
	dir := writeTree(t, files, "run.sh")
	first := zipBytes(t, dir)
	// The same tree in another place, written in another order and at
	// another time, gives the same bytes.
	dir2 := writeTree(t, files, "run.sh")
	os.Chtimes(filepath.Join(dir2, "lib/a.txt"), time0, time0)
	if second := zipBytes(t, dir2); !bytes.Equal(first, second) {
		t.Fatal("zipDir is not deterministic")
	}
	zr, err := zip.NewReader(bytes.NewReader(first), int64(len(first)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	modes := map[string]os.FileMode{}
	for _, f := range zr.File {
		names = append(names, f.Name)
		modes[f.Name] = f.Mode()
		if err := pkgstore.CheckEntryName(f.Name); err != nil || filepath.IsAbs(f.Name) {
			t.Errorf("bad entry name %q", f.Name)
		}
	}
	want := ".hidden exekra.json lib/ lib/a.txt lib/b.txt run.sh z/ z/deep/ z/deep/x.bin"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("entries = %s\nwant      %s", got, want)
	}
	if modes["run.sh"].Perm() != 0o755 {
		t.Errorf("run.sh mode %v, want 0755", modes["run.sh"])
	}
	if modes["lib/a.txt"].Perm() != 0o644 {
		t.Errorf("lib/a.txt mode %v, want 0644", modes["lib/a.txt"])
	}
	m, err := pkgstore.ValidateZip(bytes.NewReader(first), int64(len(first)), pkgstore.Limits{})
	if err != nil || m.Name != "hello" || m.Version != "1.2.3" {
		t.Fatalf("ValidateZip = %+v, %v", m, err)
	}
}

func TestZipDirRefuses(t *testing.T) {
	dir := writeTree(t, map[string]string{"sub/exekra.json": testManifest, "run.sh": "x"})
	err := zipDir(dir, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no exekra.json at its root") {
		t.Fatalf("without exekra.json at the root: %v", err)
	}
	dir = writeTree(t, map[string]string{"exekra.json": testManifest})
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link")); err != nil {
		t.Skip("no symlinks:", err)
	}
	if err := zipDir(dir, io.Discard); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("with a symlink: %v", err)
	}
}

// fakeHub is an httptest TLS server standing in for the Hub.
type fakeHub struct {
	srv       *httptest.Server
	tokenFile string
	fp        string
}

func newFakeHub(t *testing.T, h http.Handler) *fakeHub {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	sum := sha256.Sum256(srv.Certificate().Raw)
	tf := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tf, []byte("tok-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &fakeHub{srv: srv, tokenFile: tf, fp: hex.EncodeToString(sum[:])}
}

func (f *fakeHub) flags() []string {
	return []string{"--hub", f.srv.URL, "--token-file", f.tokenFile, "--fingerprint", f.fp}
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func publishHandler(t *testing.T, got *[]byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/api/v1/packages" {
			apiError(w, 404, "not_found", "no route")
			return
		}
		if r.Header.Get("Authorization") != "Bearer tok-123" {
			apiError(w, 401, "unauthenticated", "no token")
			return
		}
		file, _, err := r.FormFile("package")
		if err != nil {
			apiError(w, 400, "invalid_argument", err.Error())
			return
		}
		data, _ := io.ReadAll(file)
		*got = data
		m, err := pkgstore.ValidateZip(bytes.NewReader(data), int64(len(data)), pkgstore.Limits{})
		if err != nil {
			apiError(w, 400, "invalid_argument", err.Error())
			return
		}
		if m.Version == "9.9.9" {
			apiError(w, 409, "conflict", "exists")
			return
		}
		sum := sha256.Sum256(data)
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(runners.Package{Name: m.Name, Version: m.Version,
			SHA256: hex.EncodeToString(sum[:]), SizeBytes: int64(len(data)), PublishedBy: "dev"})
	}
}

func TestPackagePublish(t *testing.T) {
	var got []byte
	hub := newFakeHub(t, publishHandler(t, &got))
	dir := writeTree(t, map[string]string{"exekra.json": testManifest, "run.sh": "#!/bin/sh\n"}, "run.sh")

	var out bytes.Buffer
	args := append([]string{"package", "publish", dir}, hub.flags()...)
	if err := run(context.Background(), args, &out); err != nil {
		t.Fatalf("publish dir: %v", err)
	}
	want := zipBytes(t, dir)
	if !bytes.Equal(got, want) {
		t.Fatal("the Hub did not receive the directory's zip")
	}
	sum := sha256.Sum256(want)
	for _, s := range []string{"hello 1.2.3", hex.EncodeToString(sum[:]), "size"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output %q lacks %q", out.String(), s)
		}
	}

	// A .zip is sent as is (flags before the path work too).
	zipPath := filepath.Join(t.TempDir(), "p.zip")
	os.WriteFile(zipPath, want, 0o644)
	got = nil
	args = append(append([]string{"package", "publish"}, hub.flags()...), zipPath)
	if err := run(context.Background(), args, io.Discard); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("publish zip: %v", err)
	}

	// Conflicts are explained.
	dup := writeTree(t, map[string]string{"exekra.json": `{"name":"hello","version":"9.9.9","entrypoint":["x"]}`})
	err := run(context.Background(), append([]string{"package", "publish", dup}, hub.flags()...), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "already published") {
		t.Fatalf("conflict: %v", err)
	}
}

func TestPackagePublishValidatesLocally(t *testing.T) {
	var got []byte
	hub := newFakeHub(t, publishHandler(t, &got))
	for name, manifest := range map[string]string{
		"bad version":   `{"name":"hello","version":"one","entrypoint":["x"]}`,
		"no entrypoint": `{"name":"hello","version":"1.0.0"}`,
		"not json":      `{`,
	} {
		dir := writeTree(t, map[string]string{"exekra.json": manifest})
		err := run(context.Background(), append([]string{"package", "publish", dir}, hub.flags()...), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "not a valid package") {
			t.Errorf("%s: %v", name, err)
		}
	}
	notZip := filepath.Join(t.TempDir(), "x.zip")
	os.WriteFile(notZip, []byte("not a zip"), 0o644)
	if err := run(context.Background(), append([]string{"package", "publish", notZip}, hub.flags()...), io.Discard); err == nil || !strings.Contains(err.Error(), "not a valid package") {
		t.Errorf("not a zip: %v", err)
	}
	if got != nil {
		t.Error("an invalid package reached the Hub")
	}
	// A wrong pin is refused.
	dir := writeTree(t, map[string]string{"exekra.json": testManifest})
	args := []string{"package", "publish", dir, "--hub", hub.srv.URL, "--token-file", hub.tokenFile, "--fingerprint", strings.Repeat("ab", 32)}
	if err := run(context.Background(), args, io.Discard); err == nil || !strings.Contains(err.Error(), "fingerprint") {
		t.Errorf("wrong pin: %v", err)
	}
}
