package natsapi_test

import (
	"context"
	"testing"
	"time"

	licfile "github.com/exekra/hub/libs/license"
)

// runOnce runs the service's periodic loop for its first round.
func (h *harness) runOnce() {
	h.t.Helper()
	count := func() int {
		h.meter.mu.Lock()
		defer h.meter.mu.Unlock()
		return len(h.meter.days)
	}
	before := count()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.svc.Run(ctx, time.Hour) }()
	deadline := time.Now().Add(10 * time.Second)
	for count() <= before {
		if time.Now().After(deadline) {
			h.t.Fatal("the periodic loop measured nothing within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestExpiryIsMeasured(t *testing.T) {
	h := newHarness(t)
	expires := start.Add(30*day - time.Hour)
	want := func(t *testing.T, days int, expiry time.Time) {
		t.Helper()
		if got, at, ok := h.meter.last(); !ok || got != days || !at.Equal(expiry) {
			t.Fatalf("days remaining = %d, expiry %v (measured: %v), want %d, %v", got, at, ok, days, expiry)
		}
	}
	t.Run("none while no license is active", func(t *testing.T) {
		h.runOnce()
		want(t, 0, time.Time{})
	})
	t.Run("an activation shows at once", func(t *testing.T) {
		h.mustActivate(anonymous, h.issue(func(d *licfile.Document) { d.ExpiresAt = expires }))
		want(t, 30, expires)
	})
	t.Run("the periodic loop follows the clock", func(t *testing.T) {
		h.clock.Advance(17 * day)
		h.runOnce()
		want(t, 13, expires)
	})
	t.Run("0 days once expired; the expiry stays", func(t *testing.T) {
		h.clock.Advance(20 * day)
		h.runOnce()
		want(t, 0, expires)
	})
}
