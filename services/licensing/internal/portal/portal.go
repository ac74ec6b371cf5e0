// Package portal delivers usage reports to the vendor portal over HTTP: a
// POST of a JSON array of reports (one batch however many are queued, split
// only above MaxBatch). Any 2xx answer means the portal took them all; the
// portal drops duplicates by report_id, so sending a report twice is safe.
package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	licfile "github.com/exekra/hub/libs/license"
	"github.com/exekra/hub/services/licensing/internal/license"
)

// MaxBatch is the most reports one POST carries.
const MaxBatch = 500

// Client posts usage reports.
type Client struct {
	HTTP      *http.Client
	UserAgent string
}

var _ license.Portal = (*Client)(nil)

// New returns a client whose requests give up after timeout.
func New(timeout time.Duration, version string) *Client {
	return &Client{HTTP: &http.Client{Timeout: timeout}, UserAgent: "exekra-hub/" + version}
}

// Send posts reports to url in batches of at most MaxBatch, stopping at the
// first failure (the reports of failed and later batches stay queued).
func (c *Client) Send(ctx context.Context, url string, reports []licfile.UsageReport) error {
	for start := 0; start < len(reports); start += MaxBatch {
		end := min(start+MaxBatch, len(reports))
		if err := c.post(ctx, url, reports[start:end]); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) post(ctx context.Context, url string, batch []licfile.UsageReport) error {
	body, err := json.Marshal(utc(batch))
	if err != nil {
		return fmt.Errorf("encode usage reports: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("portal request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", c.UserAgent)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("post usage reports: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("post usage reports: the portal answered %s", resp.Status)
	}
	return nil
}

func utc(batch []licfile.UsageReport) []licfile.UsageReport {
	out := make([]licfile.UsageReport, len(batch))
	for i, r := range batch {
		r.At = r.At.UTC()
		for _, t := range []*time.Time{&r.PeriodStart, &r.PeriodEnd} {
			if !t.IsZero() {
				*t = t.UTC()
			}
		}
		out[i] = r
	}
	return out
}
