package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/contract/audit"
)

func verifyHandler(v audit.VerifyResponse) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/audit/verify" {
			apiError(w, 404, "not_found", "no route")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
}

func TestAuditVerifySaysWhatTheEndWasHeldAgainst(t *testing.T) {
	t.Run("an intact log names its checkpoint and the stream", func(t *testing.T) {
		hub := newFakeHub(t, verifyHandler(audit.VerifyResponse{OK: true, Checked: 10, HeadHash: "abc", HeadSeq: 10, CheckpointSeq: 6,
			Stream: &audit.StreamCheck{Checked: true, FirstSeq: 1, LastSeq: 12, ConsumedSeq: 12, LoggedSeq: 12,
				Note: "stream seqs 1 to 2 are past the stream's retention: not compared"}}))
		var out strings.Builder
		if err := runAudit(context.Background(), append([]string{"verify"}, hub.flags()...), &out); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"audit chain verified: 10 records, head abc",
			"the log reaches seq 10 and still holds the newest checkpoint (seq 6)",
			"the log holds every event taken from the AUDIT stream (consumed up to stream seq 12, logged up to 12)",
			"note: stream seqs 1 to 2 are past the stream's retention"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
	})
	t.Run("a deleted end is BROKEN with the Hub's reason", func(t *testing.T) {
		reason := "stream holds events up to stream seq 10 that the log lacks (first: stream seq 8, event e); the log records stream seqs up to 7"
		hub := newFakeHub(t, verifyHandler(audit.VerifyResponse{OK: false, Checked: 7, HeadSeq: 7, FirstBadSeq: 8, Reason: reason}))
		err := runAudit(context.Background(), append([]string{"verify"}, hub.flags()...), &strings.Builder{})
		if err == nil || !strings.Contains(err.Error(), "BROKEN at seq 8 ("+reason+")") {
			t.Fatalf("err = %v", err)
		}
	})
}
