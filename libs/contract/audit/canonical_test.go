package audit

import (
	"strings"
	"testing"
	"time"
)

func TestCanonical(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.FixedZone("x", 3600))
	base := Event{ID: "e1", At: at, Action: "user.create", Actor: Actor{Type: "user", ID: "u1"},
		Details: map[string]any{"b": 1, "a": map[string]any{"z": true, "y": "s"}}}

	t.Run("keys are sorted and time is UTC microseconds", func(t *testing.T) {
		got, err := Canonical(base)
		if err != nil {
			t.Fatal(err)
		}
		s := string(got)
		if !strings.Contains(s, `"at":"2026-11-27T09:00:00.123456Z"`) {
			t.Errorf("time not canonical: %s", s)
		}
		if !strings.Contains(s, `"details":{"a":{"y":"s","z":true},"b":1}`) {
			t.Errorf("details not sorted: %s", s)
		}
		if strings.Index(s, `"action"`) > strings.Index(s, `"actor"`) {
			t.Errorf("top-level keys not sorted: %s", s)
		}
	})
	t.Run("a round trip through the database form hashes the same", func(t *testing.T) {
		stored := base
		stored.At = at.UTC().Truncate(time.Microsecond)
		stored.Details = map[string]any{"a": map[string]any{"y": "s", "z": true}, "b": float64(1)}
		h1, _ := ChainHash(GenesisHash, base)
		h2, _ := ChainHash(GenesisHash, stored)
		if h1 != h2 {
			t.Fatalf("hash differs after round trip: %s vs %s", h1, h2)
		}
	})
	t.Run("any change changes the hash", func(t *testing.T) {
		h1, _ := ChainHash(GenesisHash, base)
		changed := base
		changed.Action = "user.delete"
		h2, _ := ChainHash(GenesisHash, changed)
		h3, _ := ChainHash(strings.Repeat("1", 64), base)
		if h1 == h2 || h1 == h3 {
			t.Fatal("hash did not change")
		}
	})
	t.Run("control characters cannot forge lines", func(t *testing.T) {
		ev, _ := Normalize(Event{Actor: Actor{Name: "eve\r\nFAKE line"}})
		if strings.ContainsAny(ev.Actor.Name, "\r\n") {
			t.Fatalf("name still holds CR/LF: %q", ev.Actor.Name)
		}
	})
}
