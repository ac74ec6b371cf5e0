// Package portalsim is a stand-in for the vendor portal, for tests only; it
// is not part of the Hub. It takes usage reports posted as JSON (one object
// or an array), drops duplicates by report_id, can be "down" (connections are
// closed unanswered) and signs receipts for offline usage report files.
package portalsim

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	licfile "github.com/exekra/hub/libs/license"
)

// Sim is a running portal.
type Sim struct {
	srv    *httptest.Server
	vendor ed25519.PrivateKey

	mu         sync.Mutex
	down       bool
	batches    []int                        // sizes of the batches taken
	refused    int                          // requests dropped while down
	deliveries map[string]int               // report id -> times received
	reports    []licfile.UsageReport        // each report once, in arrival order
	pinned     map[string]ed25519.PublicKey // installation id -> its report key
}

// New starts a portal that signs receipts with vendor; it stops when t ends.
func New(t testing.TB, vendor ed25519.PrivateKey) *Sim {
	t.Helper()
	s := &Sim{vendor: vendor, deliveries: map[string]int{}, pinned: map[string]ed25519.PublicKey{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the online validation endpoint.
func (s *Sim) URL() string { return s.srv.URL + "/api/v1/usage" }

// SetDown makes the portal unreachable (true) or reachable again.
func (s *Sim) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

func (s *Sim) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	down := s.down
	if down {
		s.refused++
	}
	s.mu.Unlock()
	if down {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
			return
		}
		http.Error(w, "portal down", http.StatusServiceUnavailable)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/usage" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	reports, err := decode(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fresh := s.take(reports)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]int{"accepted": fresh, "duplicates": len(reports) - fresh})
}

// decode reads one report or an array of them.
func decode(body io.Reader) ([]licfile.UsageReport, error) {
	raw, err := io.ReadAll(io.LimitReader(body, 8<<20))
	if err != nil {
		return nil, err
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		raw = append(append([]byte{'['}, raw...), ']')
	}
	var reports []licfile.UsageReport
	if err := json.Unmarshal(raw, &reports); err != nil {
		return nil, fmt.Errorf("body is not a usage report or an array of them: %w", err)
	}
	for _, r := range reports {
		if r.ReportID == "" || r.LicenseID == "" || r.InstallationID == "" {
			return nil, errors.New("report_id, license_id and installation_id are required")
		}
	}
	return reports, nil
}

// take records a batch and returns how many of its reports were new.
func (s *Sim) take(reports []licfile.UsageReport) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, len(reports))
	fresh := 0
	for _, r := range reports {
		if s.deliveries[r.ReportID]++; s.deliveries[r.ReportID] == 1 {
			s.reports = append(s.reports, r)
			fresh++
		}
	}
	return fresh
}

// Batches returns the sizes of the batches the portal took, in order.
func (s *Sim) Batches() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.batches...)
}

// Refused counts the requests dropped while down.
func (s *Sim) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// Deliveries counts how often the report with id arrived (duplicates included).
func (s *Sim) Deliveries(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deliveries[id]
}

// Reports returns each report taken once, in arrival order.
func (s *Sim) Reports() []licfile.UsageReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]licfile.UsageReport(nil), s.reports...)
}

// IssueReceipt checks an offline usage report file (its signature, and that
// its installation signs with the key it used before) and returns the receipt.
func (s *Sim) IssueReceipt(usageFile string, validatedAt time.Time) (string, error) {
	r, key, err := licfile.OpenUsageReport(usageFile)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	pinned, seen := s.pinned[r.InstallationID]
	if !seen {
		s.pinned[r.InstallationID] = key
	}
	s.mu.Unlock()
	if seen && !pinned.Equal(key) {
		return "", fmt.Errorf("installation %s signed with a different key than before", r.InstallationID)
	}
	return licfile.IssueReceipt(s.vendor, licfile.Receipt{LicenseID: r.LicenseID, InstallationID: r.InstallationID,
		ReportID: r.ReportID, ValidatedAt: validatedAt})
}
