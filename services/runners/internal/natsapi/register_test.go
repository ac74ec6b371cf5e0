package natsapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
)

func TestRegister(t *testing.T) {
	h := newHarness(t)
	reg := h.register(t, "  Build 01 ", runners.EnvProduction, "linux", "x64", "linux")
	t.Run("the secret is exk_ms_ and 256 random bits in base64url", func(t *testing.T) {
		if !regexp.MustCompile(`^exk_ms_[A-Za-z0-9_-]{43}$`).MatchString(reg.MachineSecret) {
			t.Fatalf("secret %q", reg.MachineSecret)
		}
		if other := h.register(t, "Build 02", runners.EnvStaging); other.MachineSecret == reg.MachineSecret {
			t.Fatal("two runners got the same secret")
		}
	})
	t.Run("only the SHA-256 of the secret is stored", func(t *testing.T) {
		var stored []byte
		if err := h.pool.QueryRow(t.Context(), "SELECT secret_sha256 FROM runners WHERE id = $1", reg.Runner.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256([]byte(reg.MachineSecret)); !bytes.Equal(stored, sum[:]) {
			t.Fatalf("stored %x", stored)
		}
	})
	t.Run("the runner is registered as asked, never connected", func(t *testing.T) {
		r := reg.Runner
		if r.Name != "Build 01" || r.Environment != runners.EnvProduction || !slices.Equal(r.Labels, []string{"linux", "x64"}) ||
			r.Status != runners.StatusNeverConnected || r.LastSeenAt != nil || r.CurrentJobID != nil || r.CreatedAt.IsZero() {
			t.Fatalf("runner %+v", r)
		}
		if got := h.get(t, r.ID); got.Name != r.Name || !got.CreatedAt.Equal(r.CreatedAt) {
			t.Fatalf("get %+v", got)
		}
	})
	t.Run("the runner's JSON has exactly docs/api.md's fields", func(t *testing.T) {
		raw, _ := json.Marshal(h.get(t, reg.Runner.ID))
		var m map[string]any
		json.Unmarshal(raw, &m)
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := []string{"commit", "connected_from", "created_at", "current_job_id", "environment", "hostname", "id", "labels",
			"last_seen_at", "metrics", "name", "os", "status", "version"}
		if !slices.Equal(keys, want) {
			t.Fatalf("keys %v\nwant %v", keys, want)
		}
		metrics, _ := json.Marshal(m["metrics"])
		if string(metrics) != `{"cpu_percent":0,"disk_free_bytes":0,"memory_percent":0}` || m["current_job_id"] != nil {
			t.Fatalf("json %s", raw)
		}
	})
}

func TestRegisterRules(t *testing.T) {
	h := newHarness(t)
	h.register(t, "taken", runners.EnvDevelopment)
	many := make([]string, 33)
	for i := range many {
		many[i] = "l" + strings.Repeat("x", i)
	}
	tests := []struct {
		name string
		req  runners.RegisterRequest
		kind errs.Kind
		msg  string
	}{
		{"a taken name is a conflict", runners.RegisterRequest{Name: "taken", Environment: runners.EnvStaging}, errs.Conflict, "already exists"},
		{"a taken name in another case is a conflict", runners.RegisterRequest{Name: "TAKEN", Environment: runners.EnvStaging}, errs.Conflict, "already exists"},
		{"an empty name is refused", runners.RegisterRequest{Name: "  ", Environment: runners.EnvStaging}, errs.InvalidArgument, "name is required"},
		{"a name over 100 characters is refused", runners.RegisterRequest{Name: strings.Repeat("n", 101), Environment: runners.EnvStaging}, errs.InvalidArgument, "100"},
		{"a name with a control character is refused", runners.RegisterRequest{Name: "a\nb", Environment: runners.EnvStaging}, errs.InvalidArgument, "control"},
		{"an unknown environment is refused", runners.RegisterRequest{Name: "e", Environment: "production"}, errs.InvalidArgument, "Development, Staging, Production"},
		{"no environment is refused", runners.RegisterRequest{Name: "e"}, errs.InvalidArgument, "environment"},
		{"more than 32 labels are refused", runners.RegisterRequest{Name: "l", Environment: runners.EnvStaging, Labels: many}, errs.InvalidArgument, "32"},
		{"an empty label is refused", runners.RegisterRequest{Name: "l", Environment: runners.EnvStaging, Labels: []string{""}}, errs.InvalidArgument, "1 to 64"},
		{"a label over 64 characters is refused", runners.RegisterRequest{Name: "l", Environment: runners.EnvStaging, Labels: []string{strings.Repeat("x", 65)}}, errs.InvalidArgument, "1 to 64"},
		{"a label with a space is refused", runners.RegisterRequest{Name: "l", Environment: runners.EnvStaging, Labels: []string{"has space"}}, errs.InvalidArgument, "A-Z"},
		{"a label with a slash is refused", runners.RegisterRequest{Name: "l", Environment: runners.EnvStaging, Labels: []string{"a/b"}}, errs.InvalidArgument, "A-Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := call[runners.Registered](as(admin), h, runners.SubjectRegister, tt.req)
			wantKind(t, err, tt.kind)
			if _, msg := errs.Public(err); !strings.Contains(msg, tt.msg) {
				t.Fatalf("message %q, want it to mention %q", msg, tt.msg)
			}
		})
	}
	t.Run("32 labels of 64 characters of every allowed kind are fine", func(t *testing.T) {
		labels := make([]string, 32)
		for i := range labels {
			labels[i] = fmt.Sprintf("%s.%02d", strings.Repeat("aZ9_-", 13)[:61], i)
		}
		h.register(t, "labelled", runners.EnvStaging, labels...)
	})
	t.Run("refused registrations leave no runner and no event", func(t *testing.T) {
		if n := h.count(t); n != 2 {
			t.Fatalf("%d runners", n)
		}
		if evs := h.events(t); len(evs) != 2 {
			t.Fatalf("%d events", len(evs))
		}
	})
}

func (h *harness) count(t testing.TB) int {
	t.Helper()
	return must[runners.Count](t)(call[runners.Count](gateway(sourceIP), h, runners.SubjectCount, runners.CountRequest{})).Runners
}

func TestRegisterLicense(t *testing.T) {
	h := newHarness(t)
	h.license(2)
	h.register(t, "one", runners.EnvDevelopment)
	h.register(t, "two", runners.EnvDevelopment)
	t.Run("the license is asked with the count after the registration", func(t *testing.T) {
		h.mu.Lock()
		defer h.mu.Unlock()
		want := []licensing.CheckRequest{{Action: licensing.ActionRunnerRegister, Runners: 1}, {Action: licensing.ActionRunnerRegister, Runners: 2}}
		if !slices.Equal(h.checks, want) {
			t.Fatalf("checks %+v", h.checks)
		}
	})
	t.Run("one more than the license allows is license_limit", func(t *testing.T) {
		_, err := call[runners.Registered](as(admin), h, runners.SubjectRegister, runners.RegisterRequest{Name: "three", Environment: runners.EnvStaging})
		wantKind(t, err, errs.LicenseLimit)
		if _, msg := errs.Public(err); !strings.Contains(msg, "allows 2") {
			t.Fatalf("message %q: the licensing service's message should pass through", msg)
		}
	})
	t.Run("without a license registration is license_required", func(t *testing.T) {
		h.license(0)
		_, err := call[runners.Registered](as(admin), h, runners.SubjectRegister, runners.RegisterRequest{Name: "three", Environment: runners.EnvStaging})
		wantKind(t, err, errs.LicenseRequired)
	})
	t.Run("the count endpoint counts registered runners", func(t *testing.T) {
		if n := h.count(t); n != 2 {
			t.Fatalf("count %d", n)
		}
	})
	t.Run("concurrent registrations never exceed the limit", func(t *testing.T) {
		h.license(5)
		errc := make(chan error, 10)
		for i := range 10 {
			go func() {
				req := runners.RegisterRequest{Name: "race-" + string(rune('a'+i)), Environment: runners.EnvStaging}
				_, err := call[runners.Registered](as(admin), h, runners.SubjectRegister, req)
				errc <- err
			}()
		}
		limited := 0
		for range 10 {
			if err := <-errc; errs.Is(err, errs.LicenseLimit) {
				limited++
			} else if err != nil {
				t.Error(err)
			}
		}
		if n := h.count(t); n != 5 || limited != 7 {
			t.Fatalf("%d runners, %d refused; want 5 and 7", n, limited)
		}
	})
}
