package chain

import (
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
)

// build makes a valid chain of n records.
func build(t *testing.T, n int) []audit.Record {
	t.Helper()
	prev := audit.GenesisHash
	var out []audit.Record
	for i := 1; i <= n; i++ {
		ev, _ := audit.Normalize(audit.Event{ID: string(rune('a' + i)), At: time.Unix(int64(i), 0), Action: "test.action",
			Actor: audit.Actor{Type: "system", ID: "t"}, Outcome: "success", Details: map[string]any{"i": i}})
		h, err := audit.ChainHash(prev, ev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, audit.Record{Seq: int64(i), Event: ev, PrevHash: prev, Hash: h})
		prev = h
	}
	return out
}

func verify(records []audit.Record) audit.VerifyResponse {
	v := NewVerifier()
	for _, r := range records {
		v.Add(r)
	}
	return v.Result()
}

func TestVerifier(t *testing.T) {
	tests := []struct {
		name    string
		tamper  func([]audit.Record) []audit.Record
		wantBad int64
	}{
		{"an intact chain verifies", func(r []audit.Record) []audit.Record { return r }, 0},
		{"an altered field is found", func(r []audit.Record) []audit.Record { r[4].Action = "test.other"; return r }, 5},
		{"altered details are found", func(r []audit.Record) []audit.Record { r[2].Details = map[string]any{"i": 99.0}; return r }, 3},
		{"a deleted record is found", func(r []audit.Record) []audit.Record { return append(r[:6:6], r[7:]...) }, 7},
		{"two swapped records are found", func(r []audit.Record) []audit.Record {
			r[3].Event, r[5].Event = r[5].Event, r[3].Event
			return r
		}, 4},
		{"a rewritten chain tail is found", func(r []audit.Record) []audit.Record { r[8].PrevHash = r[7].PrevHash; return r }, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := verify(tt.tamper(build(t, 10)))
			if tt.wantBad == 0 {
				if !got.OK || got.Checked != 10 || got.HeadHash == "" {
					t.Fatalf("got %+v, want ok", got)
				}
				return
			}
			if got.OK || got.FirstBadSeq != tt.wantBad || got.Reason == "" {
				t.Fatalf("got %+v, want first bad seq %d", got, tt.wantBad)
			}
		})
	}
}

func TestVerifierHoldsTheLogToItsNewestCheckpoint(t *testing.T) {
	records := build(t, 10)
	cp := audit.Checkpoint{Seq: 6, Hash: records[5].Hash, At: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}
	walk := func(rs []audit.Record) audit.VerifyResponse {
		v := NewVerifier()
		v.Expect(cp)
		for _, r := range rs {
			v.Add(r)
		}
		return v.Result()
	}
	t.Run("a log that still holds it verifies", func(t *testing.T) {
		if got := walk(records); !got.OK || got.HeadSeq != 10 || got.CheckpointSeq != 6 {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("a log whose end was deleted back past it is broken", func(t *testing.T) {
		got := walk(records[:4])
		if got.OK || got.FirstBadSeq != 5 || got.HeadSeq != 4 ||
			got.Reason != "log ends at seq 4 but checkpoint 2026-06-01T09:00:00Z was signed at seq 6: rows were removed from its end" {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("a log rebuilt with a valid chain from before it is broken", func(t *testing.T) {
		rebuilt := build(t, 10)
		for i := range rebuilt[5:] {
			rebuilt[5+i].Details = map[string]any{"i": 0}
		}
		if got := walk(records); !got.OK {
			t.Fatalf("intact: %+v", got)
		}
		if got := walk(rechain(t, rebuilt)); got.OK || got.FirstBadSeq != 6 {
			t.Fatalf("got %+v, want first bad seq 6", got)
		}
	})
}

// rechain recomputes every hash, as someone rewriting the log would.
func rechain(t *testing.T, rs []audit.Record) []audit.Record {
	t.Helper()
	prev := audit.GenesisHash
	for i := range rs {
		h, err := audit.ChainHash(prev, rs[i].Event)
		if err != nil {
			t.Fatal(err)
		}
		rs[i].PrevHash, rs[i].Hash, prev = prev, h, h
	}
	return rs
}
