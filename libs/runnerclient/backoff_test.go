package runnerclient

import (
	"math/rand/v2"
	"net/http"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	t.Run("full jitter stays within [0, min(60s, 2^n s))", func(t *testing.T) {
		for attempt := range 80 {
			ceiling := BackoffCap
			if attempt < 6 {
				ceiling = time.Second << attempt
			}
			for range 200 {
				if d := Backoff(attempt, rand.Float64); d < 0 || d >= ceiling {
					t.Fatalf("attempt %d: %v not in [0, %v)", attempt, d, ceiling)
				}
			}
		}
	})
	t.Run("the ceiling doubles up to the 60 s cap", func(t *testing.T) {
		half := func() float64 { return 0.5 }
		want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
			16 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second}
		for attempt, w := range want {
			if d := Backoff(attempt, half); d != w {
				t.Fatalf("attempt %d: %v, want %v", attempt, d, w)
			}
		}
	})
	t.Run("huge or negative attempt counts do not overflow", func(t *testing.T) {
		almostOne := func() float64 { return 0.999999 }
		for _, attempt := range []int{29, 30, 31, 63, 64, 1 << 20} {
			if d := Backoff(attempt, almostOne); d <= 59*time.Second || d >= BackoffCap {
				t.Fatalf("attempt %d: %v", attempt, d)
			}
		}
		if d := Backoff(-1, almostOne); d <= 0 || d >= time.Second {
			t.Fatalf("attempt -1: %v", d)
		}
	})
	t.Run("draws spread over the whole range", func(t *testing.T) {
		var low, high int
		for range 1000 {
			d := Backoff(10, rand.Float64)
			if d < 15*time.Second {
				low++
			}
			if d > 45*time.Second {
				high++
			}
		}
		if low < 150 || high < 150 {
			t.Fatalf("%d low and %d high draws of 1000", low, high)
		}
	})
}

func TestJitter(t *testing.T) {
	for range 1000 {
		if d := Jitter(15*time.Second, rand.Float64); d < 13500*time.Millisecond || d > 16500*time.Millisecond {
			t.Fatalf("%v is not within ±10 %% of 15s", d)
		}
	}
	if d := Jitter(10*time.Second, func() float64 { return 0 }); d != 9*time.Second {
		t.Fatalf("lowest %v", d)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, value string
		want        time.Duration
	}{
		{"seconds", "7", 7 * time.Second},
		{"an HTTP date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"a date in the past", now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"absent", "", 0},
		{"garbage", "soon", 0},
		{"negative", "-5", 0},
		{"more than 10 minutes is capped", "86400", MaxRetryAfter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.value != "" {
				h.Set("Retry-After", tt.value)
			}
			if got := ParseRetryAfter(h, now); got != tt.want {
				t.Fatalf("%v, want %v", got, tt.want)
			}
		})
	}
}

func TestWaitAfterARefusedVersion(t *testing.T) {
	c, err := New(Config{Hub: "https://hub.test", RunnerID: "r", Secret: "s", Random: func() float64 { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	refused := &HubError{Op: "heartbeat", Status: http.StatusUpgradeRequired, Code: "upgrade_required", Message: "m"}
	if d := c.Wait(0, refused); d != UpgradeRetry*9/10 {
		t.Errorf("wait after 426 = %v, want %v (UpgradeRetry less its jitter)", d, UpgradeRetry*9/10)
	}
	if d := c.Wait(0, &HubError{Op: "heartbeat", Status: http.StatusBadGateway}); d != 0 {
		t.Errorf("wait after 502 = %v, want the backoff's 0", d)
	}
}
