package audit

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// roundTrip is how Normalize and Canonical were first written: the details,
// then the whole event, through encoding/json and back. The hash chain of
// every log ever written rests on those bytes, so the direct forms must
// give exactly the same.
func roundTrip(t *testing.T, ev Event) (Event, []byte) {
	t.Helper()
	ev.At = ev.At.UTC().Truncate(time.Microsecond)
	for _, s := range []*string{&ev.Actor.Type, &ev.Actor.ID, &ev.Actor.Email, &ev.Actor.Name, &ev.Actor.Role,
		&ev.Action, &ev.Target.Type, &ev.Target.ID, &ev.Outcome, &ev.Reason, &ev.SourceIP, &ev.RequestID, &ev.Service, &ev.Version} {
		*s = cleanText(*s)
	}
	details := map[string]any{}
	if ev.Details != nil {
		raw, err := json.Marshal(ev.Details)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &details); err != nil {
			t.Fatal(err)
		}
	}
	ev.Details = cleanValue(details).(map[string]any)
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	generic["at"] = ev.At.Format("2006-01-02T15:04:05.000000Z")
	canon, err := json.Marshal(generic)
	if err != nil {
		t.Fatal(err)
	}
	return ev, canon
}

// texts a generator picks from: control characters, invalid UTF-8 (bytes of
// a surrogate, a cut sequence), HTML characters encoding/json escapes,
// line separators, non-ASCII and empty.
var texts = []string{"", "plain", "eve\r\nFAKE", "tab\there", "\x00nul", "bad\xffbyte", "\xed\xa0\x80surrogate",
	"cut\xe2\x82", "<script>&amp;", "line\u2028sep", "é ü 日本", "\u007f\u0085", "quote\"back\\slash", "\ufffd"}

func randomText(r *rand.Rand) string {
	s := texts[r.IntN(len(texts))]
	if r.IntN(3) == 0 {
		s += texts[r.IntN(len(texts))]
	}
	return s
}

func randomValue(r *rand.Rand, depth int) any {
	switch r.IntN(11) {
	case 0:
		return randomText(r)
	case 1:
		return r.IntN(2) == 0
	case 2:
		return nil
	case 3:
		return r.IntN(1<<20) - 1<<19
	case 4:
		return int64(r.Uint64()) // beyond 2^53: rounded as JSON decoding rounds
	case 5:
		return []float64{0, math.Copysign(0, -1), 0.1, 1e21, 1e-7, 123456.789, -3}[r.IntN(7)]
	case 6:
		return uint8(r.IntN(256)) // not a kind the direct form takes
	case 7:
		return []string{randomText(r)}
	case 8:
		if depth < 2 {
			return map[string]any{randomText(r): randomValue(r, depth+1)}
		}
		return "deep"
	case 9:
		return time.Date(2026, 12, 7, 20, 0, 0, 1, time.UTC)
	default:
		return json.RawMessage(`{"raw":[1,"x"]}`)
	}
}

func randomEvent(r *rand.Rand) Event {
	ev := Event{ID: randomText(r), At: time.Unix(r.Int64N(1<<34), r.Int64N(1e9)).In(time.FixedZone("z", r.IntN(50000))),
		Actor:  Actor{Type: randomText(r), ID: randomText(r), Email: randomText(r), Name: randomText(r), Role: randomText(r), TokenID: randomText(r)},
		Action: randomText(r), Target: Target{Type: randomText(r), ID: randomText(r)}, Outcome: randomText(r),
		Reason: randomText(r), SourceIP: randomText(r), RequestID: randomText(r), Service: randomText(r), Version: randomText(r)}
	if r.IntN(8) != 0 {
		ev.Details = map[string]any{}
		seen := map[string]bool{} // keys that clean alike would take each other's place at random
		for range r.IntN(6) {
			k := randomText(r)
			if c := cleanText(decodedText(k)); !seen[c] {
				seen[c] = true
				ev.Details[k] = randomValue(r, 0)
			}
		}
	}
	return ev
}

func TestNormalizeAndCanonicalMatchTheRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	flat := 0
	for i := range 20000 {
		ev := randomEvent(r)
		if _, ok := flatDetails(ev.Details); ok {
			flat++
		}
		wantEv, wantCanon := roundTrip(t, ev)
		gotEv, err := Normalize(ev)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if !reflect.DeepEqual(gotEv, wantEv) {
			t.Fatalf("event %d normalized differently:\n got %#v\nwant %#v", i, gotEv, wantEv)
		}
		gotCanon, err := Canonical(ev)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if !bytes.Equal(gotCanon, wantCanon) {
			t.Fatalf("event %d canonical form differs:\n got %s\nwant %s", i, gotCanon, wantCanon)
		}
	}
	if flat < 2000 || flat > 18000 {
		t.Fatalf("%d of 20000 events took the direct form: the test no longer covers both", flat)
	}
}

func TestNormalizeRefusesWhatJSONCannotHold(t *testing.T) {
	for _, v := range []any{math.NaN(), math.Inf(1), make(chan int)} {
		if _, err := Normalize(Event{Details: map[string]any{"x": v}}); err == nil {
			t.Errorf("%v: no error", v)
		}
	}
}

func BenchmarkCanonical(b *testing.B) {
	ev := Event{ID: "4a6c1f1e-8f1e-4a57-9d43-0b1b8a6f5e21", At: time.Now(), Action: "job.finish",
		Actor:  Actor{Type: "runner", ID: "0c7e3c1a-2b7e-4f39-8d0e-7f2f8c1d9a10", Name: "runner-17"},
		Target: Target{Type: "job", ID: "9b2d7c4e-1f3a-4d5b-8c6e-2a1f0e9d8c7b"}, Outcome: "success",
		SourceIP: "10.0.0.7", RequestID: "req-1", Service: "runners", Version: "0.2.0",
		Details: map[string]any{"package": "invoices", "version": "1.4.2", "environment": "Production", "attempt": 1, "status": "succeeded", "exit_code": 0}}
	for b.Loop() {
		if _, err := ChainHash(GenesisHash, ev); err != nil {
			b.Fatal(err)
		}
	}
}
