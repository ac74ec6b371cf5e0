package natsapi_test

import (
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/services/runners/internal/natsapi"
)

// TestLicense: a License has one behaviour. A passed job check is trusted
// for exactly JobCheckTTL (a burst of job starts asks licensing once), a
// refusal is never remembered, and runner checks always ask.
func TestLicense(t *testing.T) {
	h := newHarness(t)
	asked := func(action string) int {
		h.mu.Lock()
		defer h.mu.Unlock()
		n := 0
		for _, c := range h.checks {
			if c.Action == action {
				n++
			}
		}
		return n
	}
	newLicense := func() (*natsapi.License, *clock) {
		c := &clock{now: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}
		return natsapi.NewLicense(h.client, c.Now), c
	}

	t.Run("a refused job check is not remembered", func(t *testing.T) {
		l, _ := newLicense()
		h.license(0)
		before := asked(licensing.ActionJobCreate)
		for range 2 {
			if err := l.AllowJob(t.Context()); !errs.Is(err, errs.LicenseRequired) {
				t.Fatalf("AllowJob without a license = %v", err)
			}
		}
		if n := asked(licensing.ActionJobCreate) - before; n != 2 {
			t.Fatalf("licensing asked %d times for two refused checks, want 2", n)
		}
		h.license(100)
		if err := l.AllowJob(t.Context()); err != nil {
			t.Fatalf("AllowJob once licensed = %v", err)
		}
	})
	t.Run("a passed job check is trusted for JobCheckTTL, then asked again", func(t *testing.T) {
		l, c := newLicense()
		before := asked(licensing.ActionJobCreate)
		for range 50 {
			if err := l.AllowJob(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if n := asked(licensing.ActionJobCreate) - before; n != 1 {
			t.Fatalf("licensing asked %d times for 50 job checks at one instant, want 1", n)
		}
		h.license(0) // the license expires: the pass still stands until its TTL ends
		c.Advance(natsapi.JobCheckTTL - time.Millisecond)
		if err := l.AllowJob(t.Context()); err != nil {
			t.Fatalf("AllowJob within JobCheckTTL of a pass = %v, want nil", err)
		}
		c.Advance(time.Millisecond)
		if err := l.AllowJob(t.Context()); !errs.Is(err, errs.LicenseRequired) {
			t.Fatalf("AllowJob JobCheckTTL after the pass, license gone = %v, want license_required", err)
		}
		if n := asked(licensing.ActionJobCreate) - before; n != 2 {
			t.Fatalf("licensing asked %d times, want 2 (the first check, and the one after JobCheckTTL)", n)
		}
		h.license(100)
	})
	t.Run("runner checks always ask", func(t *testing.T) {
		l, _ := newLicense()
		before := asked(licensing.ActionRunnerRegister)
		for range 3 {
			if err := l.AllowRunners(t.Context(), 1); err != nil {
				t.Fatal(err)
			}
		}
		if n := asked(licensing.ActionRunnerRegister) - before; n != 3 {
			t.Fatalf("licensing asked %d times for 3 runner checks, want 3", n)
		}
	})
}
