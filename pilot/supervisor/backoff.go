package supervisor

import "time"

// Backoff spaces the restarts of a crashing child: Min, doubled after each
// restart up to Max, back to Min once a child has run ResetAfter.
type Backoff struct {
	Min, Max, ResetAfter time.Duration
	next                 time.Duration
}

// DefaultBackoff is 0.5 s, 1 s, 2 s ... 30 s, reset after a minute of running.
func DefaultBackoff() *Backoff {
	return &Backoff{Min: 500 * time.Millisecond, Max: 30 * time.Second, ResetAfter: time.Minute}
}

// Next returns the wait before restarting a child that ran for ran.
func (b *Backoff) Next(ran time.Duration) time.Duration {
	if b.next == 0 || ran >= b.ResetAfter {
		b.next = b.Min
	}
	d := b.next
	b.next = min(b.next*2, b.Max)
	return d
}
