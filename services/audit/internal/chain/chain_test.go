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
