package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/exekra/hub/services/gateway/internal/console"
	"github.com/exekra/hub/services/gateway/internal/websession"
)

// countingReader counts what the server read of a request body.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// zeros is an endless source of zero bytes: a large body without the memory.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// bigMultipart is a multipart body whose file part holds size zero bytes —
// more than gin keeps in memory (32 MiB), so a parser spills it to a temp file.
func bigMultipart(size int64) (io.Reader, string, int64) {
	const boundary = "exekra-test-boundary"
	head := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"big.bin\"\r\n" +
		"Content-Type: application/octet-stream\r\n\r\n"
	tail := "\r\n--" + boundary + "--\r\n"
	body := io.MultiReader(strings.NewReader(head), io.LimitReader(zeros{}, size), strings.NewReader(tail))
	return body, "multipart/form-data; boundary=" + boundary, int64(len(head)) + size + int64(len(tail))
}

// TestOversizedFormsAreRefusedUnread is the disk and memory fill of the
// security review: a large multipart POST to /login with any CSRF cookie was
// parsed before any check and left its temp file behind for good.
func TestOversizedFormsAreRefusedUnread(t *testing.T) {
	h := newHub(t, true)
	const size = 40 << 20
	const readAtMost = console.FormMaxBytes + 4<<10
	tests := []struct {
		name    string
		chunked bool // no Content-Length: the limit must stop the reading itself
		csrf    bool
		code    int
	}{
		{"a multipart body with a Content-Length over the limit", false, true, http.StatusRequestEntityTooLarge},
		{"a chunked multipart body", true, true, http.StatusUnsupportedMediaType},
		{"a multipart body without any cookie", true, false, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp) // where mime/multipart would spill a file part
			raw, ctype, length := bigMultipart(size)
			body := &countingReader{r: raw}
			r := httptest.NewRequest(http.MethodPost, "/login", body)
			r.Header.Set("Content-Type", ctype)
			r.ContentLength = length
			if tt.chunked {
				r.ContentLength = -1
			}
			if tt.csrf {
				r.AddCookie(&http.Cookie{Name: websession.CSRFCookie, Value: csrfToken})
			}
			w := h.serve(r)
			if w.Code != tt.code {
				t.Errorf("status %d, want %d; body: %.300s", w.Code, tt.code, w.Body.String())
			}
			if n := body.n.Load(); n > readAtMost {
				t.Errorf("the server read %d bytes of the body, want at most %d", n, readAtMost)
			}
			wantNoFiles(t, tmp)
		})
	}
	t.Run("a urlencoded form over the limit is 413 with a clear page", func(t *testing.T) {
		form := url.Values{"email": {adminUser.Email}, "password": {strings.Repeat("p", size)}, websession.CSRFField: {csrfToken}}
		body := &countingReader{r: strings.NewReader(form.Encode())}
		r := httptest.NewRequest(http.MethodPost, "/login", body)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.ContentLength = -1
		r.AddCookie(&http.Cookie{Name: websession.CSRFCookie, Value: csrfToken})
		w := h.serve(r)
		wantPage(t, w, http.StatusRequestEntityTooLarge, "too large")
		if n := body.n.Load(); n > readAtMost {
			t.Errorf("the server read %d bytes of the body, want at most %d", n, readAtMost)
		}
		if cookie(w, websession.SessionCookie) != nil {
			t.Fatal("signed in from an oversized form")
		}
	})
}

func wantNoFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left behind in the temp dir: %s", e.Name())
	}
}
