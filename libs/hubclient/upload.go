package hubclient

import (
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
)

// Upload POSTs r to path as a multipart/form-data body holding one file
// part (field, filename), streaming it without holding it in memory, and
// decodes the JSON answer into out (when not nil). Error answers are
// returned as *APIError.
func (c *Client) Upload(path, field, filename string, r io.Reader, out any) error {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	done := make(chan struct{})
	go func() {
		defer close(done)
		part, err := mw.CreateFormFile(field, filename)
		if err == nil {
			_, err = io.Copy(part, r)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err) // nil: a clean end of the body
	}()
	req, err := http.NewRequest(http.MethodPost, c.Base+path, pr)
	if err != nil {
		pr.CloseWithError(err)
		<-done
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.send(req)
	// The Hub may answer before reading the whole body (an error): stop the
	// writer so it does not block, then wait for it.
	pr.CloseWithError(io.ErrClosedPipe)
	<-done
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}
