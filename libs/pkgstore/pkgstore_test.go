package pkgstore_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/pkgstore"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type entry struct {
	name string
	body string
	mode os.FileMode
}

func makeZip(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, e.body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const goodManifest = `{"name":"etl","version":"1.2.3-rc.1+b5","entrypoint":["python3","main.py"]}`

func TestValidateZip(t *testing.T) {
	m, err := pkgstore.ValidateZip(bytes.NewReader(makeZip(t, entry{name: "exekra.json", body: goodManifest},
		entry{name: "lib/util.py", body: "x = 1\n"}, entry{name: "main.py", body: "print(1)\n"})), 0, pkgstore.Limits{})
	_ = m
	if err == nil {
		t.Fatal("size 0 should not be a zip")
	}
	ok := makeZip(t, entry{name: "exekra.json", body: goodManifest}, entry{name: "lib/", body: ""}, entry{name: "lib/util.py", body: "x = 1\n"})
	m, err = pkgstore.ValidateZip(bytes.NewReader(ok), int64(len(ok)), pkgstore.Limits{})
	if err != nil || m.Name != "etl" || m.Version != "1.2.3-rc.1+b5" || len(m.Entrypoint) != 2 {
		t.Fatalf("valid package: %+v, %v", m, err)
	}
	big := strings.Repeat("a", 5000)
	many := []entry{{name: "exekra.json", body: goodManifest}}
	for i := range 20 {
		many = append(many, entry{name: "f" + string(rune('a'+i)), body: "x"})
	}
	for name, tc := range map[string]struct {
		zip  []byte
		lim  pkgstore.Limits
		kind errs.Kind
		msg  string
	}{
		"not a zip":         {[]byte("hello, not a zip"), pkgstore.Limits{}, errs.InvalidArgument, "not a valid zip"},
		"missing manifest":  {makeZip(t, entry{name: "main.py", body: "x"}), pkgstore.Limits{}, errs.InvalidArgument, "no exekra.json"},
		"nested manifest":   {makeZip(t, entry{name: "sub/exekra.json", body: goodManifest}), pkgstore.Limits{}, errs.InvalidArgument, "no exekra.json"},
		"manifest not json": {makeZip(t, entry{name: "exekra.json", body: "{"}), pkgstore.Limits{}, errs.InvalidArgument, "exekra.json"},
		"bad semver":        {makeZip(t, entry{name: "exekra.json", body: `{"name":"etl","version":"1.2","entrypoint":["x"]}`}), pkgstore.Limits{}, errs.InvalidArgument, "semantic version"},
		"v prefix":          {makeZip(t, entry{name: "exekra.json", body: `{"name":"etl","version":"v1.2.3","entrypoint":["x"]}`}), pkgstore.Limits{}, errs.InvalidArgument, "semantic version"},
		"leading zero":      {makeZip(t, entry{name: "exekra.json", body: `{"name":"etl","version":"01.2.3","entrypoint":["x"]}`}), pkgstore.Limits{}, errs.InvalidArgument, "semantic version"},
		"bad name":          {makeZip(t, entry{name: "exekra.json", body: `{"name":"ETL","version":"1.2.3","entrypoint":["x"]}`}), pkgstore.Limits{}, errs.InvalidArgument, "package name"},
		"empty entrypoint":  {makeZip(t, entry{name: "exekra.json", body: `{"name":"etl","version":"1.2.3","entrypoint":[]}`}), pkgstore.Limits{}, errs.InvalidArgument, "entrypoint"},
		"dot dot":           {makeZip(t, entry{name: "exekra.json", body: goodManifest}, entry{name: "../evil", body: "x"}), pkgstore.Limits{}, errs.InvalidArgument, ".."},
		"dot dot inside":    {makeZip(t, entry{name: "exekra.json", body: goodManifest}, entry{name: `a\..\..\evil`, body: "x"}), pkgstore.Limits{}, errs.InvalidArgument, ".."},
		"absolute path":     {makeZip(t, entry{name: "exekra.json", body: goodManifest}, entry{name: "/etc/passwd", body: "x"}), pkgstore.Limits{}, errs.InvalidArgument, "absolute"},
		"drive letter":      {makeZip(t, entry{name: "exekra.json", body: goodManifest}, entry{name: "C:/x", body: "x"}), pkgstore.Limits{}, errs.InvalidArgument, "absolute"},
		"symlink":           {makeZip(t, entry{name: "exekra.json", body: goodManifest}, entry{name: "l", body: "/etc", mode: os.ModeSymlink | 0o777}), pkgstore.Limits{}, errs.InvalidArgument, "symbolic link"},
		"too many entries":  {makeZip(t, many...), pkgstore.Limits{MaxEntries: 10}, errs.InvalidArgument, "entries"},
		"too large unpacked": {makeZip(t, entry{name: "exekra.json", body: goodManifest}, entry{name: "big", body: big}),
			pkgstore.Limits{MaxUncompressed: 4096}, errs.InvalidArgument, "unpacks to more than"},
		"too large packed": {ok, pkgstore.Limits{MaxBytes: 10}, errs.PayloadTooLarge, "exceeds"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := pkgstore.ValidateZip(bytes.NewReader(tc.zip), int64(len(tc.zip)), tc.lim)
			if !errs.Is(err, tc.kind) {
				t.Fatalf("err = %v, want %s", err, tc.kind)
			}
			if _, msg := errs.Public(err); !strings.Contains(msg, tc.msg) {
				t.Fatalf("message %q lacks %q", msg, tc.msg)
			}
		})
	}
	t.Run("a corrupt entry (bad CRC) is refused", func(t *testing.T) {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		zw.CreateHeader(&zip.FileHeader{Name: "exekra.json", Method: zip.Store})
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: "data", Method: zip.Store})
		io.WriteString(w, "AAAAAAAAAAAAAAAA")
		zw.Close()
		b := buf.Bytes()
		i := bytes.Index(b, []byte("AAAAAAAAAAAAAAAA"))
		b[i] = 'B'
		_, err := pkgstore.ValidateZip(bytes.NewReader(b), int64(len(b)), pkgstore.Limits{})
		if !errs.Is(err, errs.InvalidArgument) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestVersions(t *testing.T) {
	for _, v := range []string{"0.0.0", "1.2.3", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-0.3.7", "1.0.0+20130313144700", "1.0.0-beta+exp.sha.5114f85"} {
		if err := pkgstore.ValidVersion(v); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
	for _, v := range []string{"", "1", "1.2", "v1.2.3", "1.2.3.4", "01.2.3", "1.2.3-", "1.2.3-01", " 1.2.3"} {
		if err := pkgstore.ValidVersion(v); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
	order := []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
		"1.0.0-rc.1", "1.0.0", "1.2.0", "1.10.0", "2.0.0", "10.0.0"}
	for i := range order {
		for j := range order {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := pkgstore.CompareVersions(order[i], order[j]); got != want {
				t.Errorf("compare(%s, %s) = %d, want %d", order[i], order[j], got, want)
			}
		}
	}
	if pkgstore.CompareVersions("1.0.0+a", "1.0.0+b") != 0 {
		t.Error("build metadata must not order")
	}
}

func TestSpool(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 1000)
	sum := sha256.Sum256(data)
	t.Run("hashes and keeps the bytes in a file", func(t *testing.T) {
		s, err := pkgstore.Spool(bytes.NewReader(data), t.TempDir(), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		name := s.File.Name()
		got, _ := io.ReadAll(s.File)
		if s.SHA256 != hex.EncodeToString(sum[:]) || s.Size != int64(len(data)) || !bytes.Equal(got, data) {
			t.Fatalf("spooled %d bytes %s", s.Size, s.SHA256)
		}
		s.Close()
		if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("temp file left behind: %v", err)
		}
	})
	t.Run("one byte over the limit is payload_too_large and leaves no file", func(t *testing.T) {
		dir := t.TempDir()
		_, err := pkgstore.Spool(bytes.NewReader(data), dir, int64(len(data))-1)
		if !errs.Is(err, errs.PayloadTooLarge) {
			t.Fatalf("err = %v", err)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Fatalf("left %v", left)
		}
	})
	t.Run("an http.MaxBytesReader limit is payload_too_large", func(t *testing.T) {
		r := http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(bytes.NewReader(data)), 100)
		_, err := pkgstore.Spool(r, t.TempDir(), 1<<20)
		if !errs.Is(err, errs.PayloadTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestStoreRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	js, err := jetstream.New(natstest.Conn(t))
	if err != nil {
		t.Fatal(err)
	}
	st, err := pkgstore.Open(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pkgstore.Open(ctx, js, 1); err != nil { // a second gateway opens the same bucket
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("package bytes "), 200_000) // ~2.8 MB: many chunks
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	if err := st.Put(ctx, sha, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.Has(ctx, sha, int64(len(data))); err != nil || !ok {
		t.Fatalf("has = %v, %v", ok, err)
	}
	t.Run("a second put of the same bytes is skipped", func(t *testing.T) {
		if err := st.Put(ctx, sha, int64(len(data)), iotestErrReader{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("get streams the same bytes", func(t *testing.T) {
		obj, err := st.Get(ctx, sha)
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Close()
		h := sha256.New()
		n, err := io.Copy(h, obj)
		if err != nil || n != int64(len(data)) || obj.Size != n || hex.EncodeToString(h.Sum(nil)) != sha {
			t.Fatalf("read %d bytes, %v", n, err)
		}
	})
	t.Run("bytes that do not match their name are refused and not kept", func(t *testing.T) {
		wrong := strings.Repeat("ab", 32)
		if err := st.Put(ctx, wrong, 5, strings.NewReader("hello")); err == nil {
			t.Fatal("mismatched put accepted")
		}
		if _, err := st.Get(ctx, wrong); !errs.Is(err, errs.NotFound) {
			t.Fatalf("get = %v", err)
		}
	})
	t.Run("a missing object is not_found; a bad name invalid", func(t *testing.T) {
		if _, err := st.Get(ctx, strings.Repeat("0", 64)); !errs.Is(err, errs.NotFound) {
			t.Fatalf("err = %v", err)
		}
		if _, err := st.Get(ctx, "../x"); !errs.Is(err, errs.InvalidArgument) {
			t.Fatalf("err = %v", err)
		}
	})
}

// iotestErrReader fails every read: Put must not read when it skips.
type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("must not be read") }

// TestOpenAsksAgainWhenUnanswered: gateways starting together on a new NATS
// cluster create the bucket at once, and nats-server 2.9 may answer none of
// them. Open must ask again rather than fail the gateway's start. Here the
// first JetStream API request goes unanswered; the rest reach JetStream.
func TestOpenAsksAgainWhenUnanswered(t *testing.T) {
	nc := natstest.Conn(t)
	var seen atomic.Int32
	sub, err := nc.Subscribe("lossy.API.>", func(m *nats.Msg) {
		if seen.Add(1) == 1 {
			return // lost
		}
		resp, err := nc.Request("$JS.API."+strings.TrimPrefix(m.Subject, "lossy.API."), m.Data, 5*time.Second)
		if err != nil {
			t.Errorf("forward %s: %v", m.Subject, err)
			return
		}
		m.Respond(resp.Data)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	js, err := jetstream.NewWithAPIPrefix(nc, "lossy.API.", jetstream.WithDefaultTimeout(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pkgstore.Open(context.Background(), js, 1); err != nil {
		t.Fatalf("open with its first request unanswered: %v", err)
	}
	if seen.Load() < 2 {
		t.Fatalf("%d JetStream requests", seen.Load())
	}
	t.Run("an error JetStream answers is returned at once", func(t *testing.T) {
		start := time.Now()
		if _, err := pkgstore.Open(context.Background(), js, 3); err == nil { // three replicas on one server
			t.Fatal("three replicas on a single server were accepted")
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("the refusal took %s", took)
		}
	})
}

// TestOpenAsksAgainWhenTheStreamIsNotFoundYet: in the enterprise layout's
// start, two gateways created the bucket at once on a new three-node
// cluster and one was answered that the bucket's stream was not found; the
// gateway exited. Here the first stream creation is answered so.
func TestOpenAsksAgainWhenTheStreamIsNotFoundYet(t *testing.T) {
	var creates atomic.Int32
	js := proxyJS(t, "racing.API.", func(api string, m *nats.Msg) bool {
		if strings.HasPrefix(api, "STREAM.CREATE.") && creates.Add(1) == 1 {
			m.Respond([]byte(`{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":404,"err_code":10059,"description":"stream not found"}}`))
			return true
		}
		return false
	})
	if _, err := pkgstore.Open(context.Background(), js, 1); err != nil {
		t.Fatalf("open with its first creation told the stream was not found: %v", err)
	}
	if n := creates.Load(); n < 2 {
		t.Fatalf("%d stream creations, want the refused one and another", n)
	}
}

// proxyJS is JetStream through API prefix, whose requests intercept sees
// first (by their API name, "STREAM.CREATE.X"): what it does not take (false)
// goes on to the server.
func proxyJS(t *testing.T, prefix string, intercept func(api string, m *nats.Msg) bool) jetstream.JetStream {
	t.Helper()
	nc := natstest.Conn(t)
	sub, err := nc.Subscribe(prefix+">", func(m *nats.Msg) {
		api := strings.TrimPrefix(m.Subject, prefix)
		if intercept(api, m) {
			return
		}
		resp, err := nc.RequestMsg(&nats.Msg{Subject: "$JS.API." + api, Data: m.Data, Header: m.Header}, 5*time.Second)
		if err != nil {
			t.Errorf("forward %s: %v", api, err)
			return
		}
		m.RespondMsg(&nats.Msg{Data: resp.Data, Header: resp.Header})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Unsubscribe() })
	js, err := jetstream.NewWithAPIPrefix(nc, prefix, jetstream.WithDefaultTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// TestGetNeedsNoConsumer: with a NATS node down, nats-server 2.9 may place a
// read's consumer on that node, and the read is never answered. Get reads
// without one: here every consumer creation goes unanswered.
func TestGetNeedsNoConsumer(t *testing.T) {
	var consumers atomic.Int32
	js := proxyJS(t, "noconsumers.API.", func(api string, _ *nats.Msg) bool {
		if strings.HasPrefix(api, "CONSUMER.") {
			consumers.Add(1)
			return true // placed on a node that is down: no answer
		}
		return false
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := pkgstore.Open(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("chunk after chunk "), 50_000) // ~0.9 MB: several chunks
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	if err := st.Put(ctx, sha, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	obj, err := st.Get(context.Background(), sha)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	defer obj.Close()
	got, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d of %d bytes: %v", len(got), len(data), err)
	}
	if n := consumers.Load(); n != 0 {
		t.Errorf("%d consumer requests", n)
	}
}

// TestValidateZipOneReading pins that a package has one reading: entries that
// would land on the same file on some runner (after path cleaning, case
// folding or a file standing where a directory must be), entries that are not
// plain files or directories, and a manifest with bytes after its JSON are
// refused, so what the Hub checks is what a runner runs.
func TestValidateZipOneReading(t *testing.T) {
	const evil = `{"name":"etl","version":"1.2.3","entrypoint":["/bin/sh","-c","evil"]}`
	for name, entries := range map[string][]entry{
		"dot-slash twin of the manifest":   {{name: "exekra.json", body: goodManifest}, {name: "./exekra.json", body: evil}},
		"case twin of the manifest":        {{name: "exekra.json", body: goodManifest}, {name: "EXEKRA.json", body: evil}},
		"double-slash twin":                {{name: "exekra.json", body: goodManifest}, {name: "a/b", body: "1"}, {name: "a//b", body: "2"}},
		"case twin in a directory":         {{name: "exekra.json", body: goodManifest}, {name: "lib/x.py", body: "1"}, {name: "LIB/X.py", body: "2"}},
		"backslash twin":                   {{name: "exekra.json", body: goodManifest}, {name: "lib/x.py", body: "1"}, {name: `lib\x.py`, body: "2"}},
		"dot-dot twin inside":              {{name: "exekra.json", body: goodManifest}, {name: "a/x", body: "1"}, {name: "a/b/../x", body: "2"}},
		"unicode case twin":                {{name: "exekra.json", body: goodManifest}, {name: "ǅ", body: "1"}, {name: "ǆ", body: "2"}},
		"Kelvin sign twin":                 {{name: "exekra.json", body: goodManifest}, {name: "k", body: "1"}, {name: "\u212a", body: "2"}},
		"trailing-dot twin (Windows)":      {{name: "exekra.json", body: goodManifest}, {name: "exekra.json.", body: evil}},
		"stream name (Windows)":            {{name: "exekra.json", body: goodManifest}, {name: "exekra.json::$DATA", body: evil}},
		"directory twin of a file":         {{name: "exekra.json", body: goodManifest}, {name: "a", body: "1"}, {name: "a/", mode: os.ModeDir | 0o755}},
		"file where a directory must be":   {{name: "exekra.json", body: goodManifest}, {name: "a", body: "1"}, {name: "a/b", body: "2"}},
		"manifest as a directory":          {{name: "exekra.json/", mode: os.ModeDir | 0o755}},
		"named pipe":                       {{name: "exekra.json", body: goodManifest}, {name: "p", mode: os.ModeNamedPipe | 0o644}},
		"device":                           {{name: "exekra.json", body: goodManifest}, {name: "d", mode: os.ModeDevice | 0o644}},
		"character device":                 {{name: "exekra.json", body: goodManifest}, {name: "c", mode: os.ModeDevice | os.ModeCharDevice | 0o644}},
		"socket":                           {{name: "exekra.json", body: goodManifest}, {name: "s", mode: os.ModeSocket | 0o644}},
		"manifest with trailing JSON":      {{name: "exekra.json", body: goodManifest + evil}},
		"manifest with trailing garbage":   {{name: "exekra.json", body: goodManifest + "\n#!/bin/sh"}},
		"manifest that is a JSON array":    {{name: "exekra.json", body: `[` + goodManifest + `]`}},
		"only a dot-slash manifest is not": {{name: "./EXEKRA.JSON", body: goodManifest}},
	} {
		t.Run(name, func(t *testing.T) {
			b := makeZip(t, entries...)
			if _, err := pkgstore.ValidateZip(bytes.NewReader(b), int64(len(b)), pkgstore.Limits{}); !errs.Is(err, errs.InvalidArgument) {
				t.Fatalf("err = %v, want invalid_argument", err)
			}
		})
	}
	t.Run("a clean package with directories and trailing white space in the manifest passes", func(t *testing.T) {
		b := makeZip(t, entry{name: "exekra.json", body: goodManifest + "\n \t\n"}, entry{name: "lib/", mode: os.ModeDir | 0o755},
			entry{name: "lib/a.py", body: "1"}, entry{name: "lib/b.py", body: "2"}, entry{name: "run.sh", body: "x", mode: 0o755})
		if _, err := pkgstore.ValidateZip(bytes.NewReader(b), int64(len(b)), pkgstore.Limits{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the manifest may sit under ./", func(t *testing.T) {
		b := makeZip(t, entry{name: "./exekra.json", body: goodManifest})
		m, err := pkgstore.ValidateZip(bytes.NewReader(b), int64(len(b)), pkgstore.Limits{})
		if err != nil || m.Name != "etl" {
			t.Fatalf("%+v, %v", m, err)
		}
	})
}
