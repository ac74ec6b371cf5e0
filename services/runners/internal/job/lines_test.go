package job

import (
	"container/list"
	"testing"
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
