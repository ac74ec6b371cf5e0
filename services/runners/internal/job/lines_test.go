package job

import (
	"container/list"
	"testing"
	"time"
)

func woken(w *waiting) bool {
	select {
	case <-w.c:
		return true
	default:
		return false
	}
}

// The line of waiting claims: a wake-up goes to the longest waiting, is
// passed on only to claims that waited when it came, and is handed on by a
// claim that quits without answering it.
func TestLines(t *testing.T) {
	l := &lines{m: map[string]*list.List{}}
	a, b, c := l.join("dev"), l.join("dev"), l.join("dev")
	other := l.join("prod")

	l.wake("dev", 1, 0)
	if !woken(a) || woken(b) || woken(c) || woken(other) {
		t.Fatalf("one job woke a %v, b %v, c %v, prod %v: want a only", woken(a), woken(b), woken(c), woken(other))
	}
	// a looks again (it joins anew), finds entries it cannot run, passes on.
	a2 := l.join("dev")
	l.wake("dev", 2, a.bound)
	if !woken(b) || !woken(c) || woken(a2) {
		t.Fatalf("passed on: b %v, c %v, a again %v: want b and c, not a's new wait", woken(b), woken(c), woken(a2))
	}
	l.leave("dev", a2)

	d, e := l.join("dev"), l.join("dev")
	l.wake("dev", 1, 0)
	if !woken(d) || woken(e) {
		t.Fatal("the wake-up did not go to the longest waiting")
	}
	l.quit("dev", d) // d took a job meanwhile: the wake-up is e's
	if !woken(e) {
		t.Fatal("a wake-up was lost with a claim that quit")
	}
	f := l.join("dev")
	g := l.join("dev")
	l.quit("dev", f) // not woken: nothing to hand on
	if woken(g) {
		t.Fatal("a claim that quit unwoken woke another")
	}
	l.leave("dev", g)
	if n := l.m["dev"].Len(); n != 0 {
		t.Fatalf("%d claims left in line", n)
	}
}

// Claims in line are counted, however they leave it, and many of them space
// out their rechecks so that together they stay under MaxRechecks a second.
func TestRecheckSpacesOutWithManyWaiting(t *testing.T) {
	s := &Service{Deps: Deps{Recheck: 5 * time.Second}, waiters: newWaiters()}
	l := &s.waiters.envs
	var in []*waiting
	for range 2 * MaxRechecks {
		in = append(in, l.join("dev"))
	}
	if got := s.recheckEvery(); got != 5*time.Second {
		t.Fatalf("%d waiting: recheck every %s, want 5s", l.waiting(), got)
	}
	for range 8 * MaxRechecks {
		in = append(in, l.join("prod"))
	}
	if got := s.recheckEvery(); got != 10*time.Second {
		t.Fatalf("%d waiting: recheck every %s, want 10s", l.waiting(), got)
	}
	l.wake("dev", 3, 0)            // woken: out of line
	l.quit("dev", in[0])           // woken before, quits: passes its wake-up on
	l.leave("prod", in[len(in)-1]) // leaves unwoken
	l.leave("prod", in[len(in)-1]) // twice changes nothing
	if got, want := l.waiting(), 10*MaxRechecks-5; got != want {
		t.Fatalf("%d in line, want %d", got, want)
	}
}
