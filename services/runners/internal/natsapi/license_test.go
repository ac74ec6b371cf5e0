package natsapi_test

import (
	"testing"

	"github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/services/runners/internal/natsapi"
)

// TestLicenseRemembersPassedJobChecks: a burst of job starts asks licensing
// once; a refusal is never remembered, and register checks always ask.
func TestLicenseRemembersPassedJobChecks(t *testing.T) {
	h := newHarness(t)
	jobChecks := func() int {
		h.mu.Lock()
		defer h.mu.Unlock()
		n := 0
		for _, c := range h.checks {
			if c.Action == licensing.ActionJobCreate {
				n++
			}
		}
		return n
	}
	setMax := func(n int) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.maxRunners = n
	}

	t.Run("a refusal is not remembered", func(t *testing.T) {
		l := natsapi.NewLicense(h.client)
		setMax(0)
		for range 2 {
			if err := l.AllowJob(t.Context()); !errs.Is(err, errs.LicenseRequired) {
				t.Fatalf("AllowJob without a license = %v", err)
			}
		}
		if n := jobChecks(); n != 2 {
			t.Fatalf("licensing asked %d times for two refused checks, want 2", n)
		}
		setMax(100)
		if err := l.AllowJob(t.Context()); err != nil {
			t.Fatalf("AllowJob once licensed = %v", err)
		}
	})
	t.Run("a pass is remembered", func(t *testing.T) {
		l := natsapi.NewLicense(h.client)
		before := jobChecks()
		for range 50 {
			if err := l.AllowJob(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if n := jobChecks() - before; n != 1 {
			t.Fatalf("licensing asked %d times for 50 job checks within %s, want 1", n, natsapi.JobCheckTTL)
		}
	})
	t.Run("without NewLicense every check asks", func(t *testing.T) {
		l := natsapi.License{Client: h.client}
		before := jobChecks()
		for range 3 {
			if err := l.AllowJob(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if n := jobChecks() - before; n != 3 {
			t.Fatalf("licensing asked %d times, want 3", n)
		}
	})
}
