package httpapi

import (
	"bytes"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/exekra/hub/libs/metrics"
	"github.com/gin-gonic/gin"
)

// TestNoTempFileOutlivesItsRequest: net/http removes the multipart temp files
// of the *http.Request it handed to the handler only, and the gateway's
// middleware replaces that request with copies (WithContext) before any
// handler parses a form; the engine must remove such files itself.
func TestNoTempFileOutlivesItsRequest(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	s := &Server{Log: slog.New(slog.DiscardHandler), Metrics: metrics.New("gateway"), MaxBodyBytes: 1 << 20}
	parsed := make(chan int, 1)
	e, err := s.Engine(func(e *gin.Engine) {
		e.POST("/probe", func(c *gin.Context) {
			c.Request = c.Request.WithContext(c.Request.Context()) // as middleware does
			if err := c.Request.ParseMultipartForm(1 << 10); err != nil {
				t.Errorf("parse: %v", err)
			}
			files, _ := os.ReadDir(tmp)
			parsed <- len(files)
			c.Status(http.StatusNoContent)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	defer srv.Close()

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, _ := mw.CreateFormFile("upload", "big.bin")
	part.Write(make([]byte, 64<<10)) // more than the 1 KiB kept in memory
	mw.Close()
	resp, err := http.Post(srv.URL+"/probe", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := <-parsed; n == 0 {
		t.Fatal("the probe spilled no temp file; the test proves nothing")
	}
	srv.Close() // the request has ended for certain
	wantNoFiles(t, tmp)
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
