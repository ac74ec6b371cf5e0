package agent

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type zipEntry struct {
	name, content string
	mode          fs.FileMode
}

func writeZip(t *testing.T, entries ...zipEntry) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode == 0 {
			e.mode = 0o644
		}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, e.content)
	}
	zw.Close()
	path := filepath.Join(t.TempDir(), "p.zip")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUnzip(t *testing.T) {
	lim := unzipLimits{maxEntries: 10, maxBytes: 1000}
	manifest := zipEntry{name: "exekra.json", content: `{"name":"a","version":"1.0.0","entrypoint":["./run.sh"]}`}
	refused := map[string][]zipEntry{
		"dot-dot":          {manifest, {name: "../x", content: "x"}},
		"nested dot-dot":   {manifest, {name: "a/../../x", content: "x"}},
		"absolute":         {manifest, {name: "/etc/x", content: "x"}},
		"backslash":        {manifest, {name: `..\x`, content: "x"}},
		"escaping link":    {manifest, {name: "l", content: "../../etc", mode: fs.ModeSymlink | 0o777}},
		"absolute link":    {manifest, {name: "l", content: "/etc", mode: fs.ModeSymlink | 0o777}},
		"inner link":       {manifest, {name: "l", content: "run.sh", mode: fs.ModeSymlink | 0o777}},
		"too many bytes":   {manifest, {name: "a", content: strings.Repeat("a", 600)}, {name: "b", content: strings.Repeat("b", 600)}},
		"no manifest":      {{name: "run.sh", content: "x"}},
		"empty entrypoint": {{name: "exekra.json", content: `{"name":"a","version":"1.0.0","entrypoint":[]}`}},
		"too many entries": func() []zipEntry {
			es := []zipEntry{manifest}
			for i := range 10 {
				es = append(es, zipEntry{name: string(rune('a' + i)), content: "x"})
			}
			return es
		}(),
	}
	for name, entries := range refused {
		t.Run(name+" is refused", func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "work")
			os.Mkdir(dir, 0o700)
			_, err := unpack(writeZip(t, entries...), dir, lim)
			if _, ok := err.(*packageError); !ok {
				t.Fatalf("err %v", err)
			}
			if _, err := os.Stat(filepath.Join(root, "x")); err == nil {
				t.Fatal("wrote outside the directory")
			}
		})
	}
	t.Run("files, directories and modes unpack", func(t *testing.T) {
		dir := t.TempDir()
		_, err := unpack(writeZip(t, manifest, zipEntry{name: "d/", mode: fs.ModeDir | 0o755}, zipEntry{name: "d/run.sh", content: "hi", mode: 0o755},
			zipEntry{name: "e/f.txt", content: "f"}), dir, lim)
		if err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(filepath.Join(dir, "d", "run.sh"))
		if err != nil || info.Mode().Perm()&0o100 == 0 {
			t.Fatalf("%v %v", info, err)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "e", "f.txt")); err != nil || string(b) != "f" {
			t.Fatalf("%q %v", b, err)
		}
	})
	t.Run("a zip bomb stops at the byte cap", func(t *testing.T) {
		dir := t.TempDir()
		_, err := unpack(writeZip(t, manifest, zipEntry{name: "bomb", content: strings.Repeat("0", 1<<20)}), dir, lim)
		if err == nil || !strings.Contains(err.Error(), "more than") {
			t.Fatalf("err %v", err)
		}
	})
}

func TestParamEnv(t *testing.T) {
	if got := paramEnvName("greeting text-1.ö"); got != "EXEKRA_PARAM_GREETING_TEXT_1__" {
		t.Fatal(got)
	}
	env := jobEnv([]string{"PATH=/bin", "EXEKRA_PARAM_X=leak"}, &claimedJob{ID: "j", Attempt: 2},
		[]byte(`{"s":"v","n":1.5,"o":{"a":[1]},"z":null}`))
	want := []string{"PATH=/bin", "EXEKRA_JOB_ID=j", "EXEKRA_JOB_ATTEMPT=2", "EXEKRA_PARAM_N=1.5",
		`EXEKRA_PARAM_O={"a":[1]}`, "EXEKRA_PARAM_S=v", "EXEKRA_PARAM_Z="}
	if strings.Join(env, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%q", env)
	}
	if string(paramsJSON(nil)) != "{}" || string(paramsJSON([]byte("null"))) != "{}" {
		t.Fatal("no parameters must be {}")
	}
}

func TestLongLinesSplit(t *testing.T) {
	s := &shipper{in: make(chan logLine, 10)}
	s.read(strings.NewReader(strings.Repeat("a", maxLineBytes*2+5)+"\nlast"), "stdout")
	close(s.in)
	var got []int
	for l := range s.in {
		got = append(got, len(l.Message))
	}
	if len(got) != 4 || got[0] != maxLineBytes || got[1] != maxLineBytes || got[2] != 5 || got[3] != 4 {
		t.Fatalf("%v", got)
	}
}

func TestClaimUnauthorizedStops(t *testing.T) {
	hub := newFakeHub(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(401) })
	cfg := Config{Hub: hub.srv.URL, ID: testID, Fingerprint: fingerprint(hub.srv), MaxJobs: 1,
		SecretFile: writeFile(t, "secret", testSecret+"\n", 0o600), WorkDir: t.TempDir()}
	h := &harness{logs: &syncBuffer{}}
	a, err := New(cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	a.sleep = h.sleep
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Run(ctx); !errors.Is(err, ErrCredentialsRefused) {
		t.Fatalf("err %v", err)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestUnpackOneReading pins that the runner reads a package the way the Hub
// checked it: a zip with a benign exekra.json and a second manifest under a
// name that cleans (or case-folds) to the same file is refused, not run.
func TestUnpackOneReading(t *testing.T) {
	lim := unzipLimits{maxEntries: 10, maxBytes: 1 << 20}
	const benign = `{"name":"hello","version":"1.0.0","entrypoint":["/bin/echo","benign"]}`
	const evil = `{"name":"hello","version":"1.0.0","entrypoint":["/bin/sh","-c","evil"]}`
	for name, twin := range map[string]string{"dot-slash": "./exekra.json", "case": "EXEKRA.JSON", "double slash": ".//exekra.json"} {
		t.Run(name+" twin of the manifest is refused", func(t *testing.T) {
			m, err := unpack(writeZip(t, zipEntry{name: "exekra.json", content: benign}, zipEntry{name: twin, content: evil}), t.TempDir(), lim)
			if _, ok := err.(*packageError); !ok {
				t.Fatalf("err %v, manifest %+v", err, m)
			}
		})
	}
	t.Run("trailing bytes after the manifest are refused", func(t *testing.T) {
		m, err := unpack(writeZip(t, zipEntry{name: "exekra.json", content: benign + evil}), t.TempDir(), lim)
		if _, ok := err.(*packageError); !ok {
			t.Fatalf("err %v, manifest %+v", err, m)
		}
	})
	t.Run("a named pipe is refused", func(t *testing.T) {
		_, err := unpack(writeZip(t, zipEntry{name: "exekra.json", content: benign}, zipEntry{name: "p", mode: fs.ModeNamedPipe | 0o644}), t.TempDir(), lim)
		if _, ok := err.(*packageError); !ok {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("the manifest checked is the manifest returned", func(t *testing.T) {
		m, err := unpack(writeZip(t, zipEntry{name: "exekra.json", content: benign}, zipEntry{name: "run.sh", content: "x", mode: 0o755}), t.TempDir(), lim)
		if err != nil || strings.Join(m.Entrypoint, " ") != "/bin/echo benign" {
			t.Fatalf("%+v, %v", m, err)
		}
	})
}
