package supervisor

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name string
		ran  []time.Duration // how long the child ran before each exit
		want []time.Duration // the wait before each restart
	}{
		{"a crash loop doubles the wait up to 30 s",
			[]time.Duration{0, 0, 0, 0, 0, 0, 0, 0, 0},
			[]time.Duration{500 * ms, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
				16 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second}},
		{"a child that ran a minute starts over at 0.5 s",
			[]time.Duration{0, 0, 0, time.Minute, 0},
			[]time.Duration{500 * ms, time.Second, 2 * time.Second, 500 * ms, time.Second}},
		{"59 s of running is not enough to reset",
			[]time.Duration{0, 0, 59 * time.Second},
			[]time.Duration{500 * ms, time.Second, 2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := DefaultBackoff()
			for i, ran := range tt.ran {
				if got := b.Next(ran); got != tt.want[i] {
					t.Fatalf("restart %d after running %s: wait %s, want %s", i+1, ran, got, tt.want[i])
				}
			}
		})
	}
}
