package audit

import (
	"strings"
	"testing"
	"time"
)

// An event without a token hashes as it did before Actor.TokenID existed;
// one with a token carries it in the hash.
func TestCanonicalTokenID(t *testing.T) {
	ev := Event{ID: "e1", At: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), Action: "user.create",
		Actor: Actor{Type: "user", ID: "u1", Role: "ADMIN"}, Details: map[string]any{}}
	got, err := Canonical(ev)
	if err != nil {
		t.Fatal(err)
	}
	const before = `"actor":{"id":"u1","role":"ADMIN","type":"user"}`
	if !strings.Contains(string(got), before) {
		t.Fatalf("canonical form without a token changed: %s", got)
	}
	withToken := ev
	withToken.Actor.TokenID = "t1"
	got, _ = Canonical(withToken)
	if !strings.Contains(string(got), `"token_id":"t1"`) {
		t.Fatalf("token id missing: %s", got)
	}
	h1, _ := ChainHash(GenesisHash, ev)
	h2, _ := ChainHash(GenesisHash, withToken)
	if h1 == h2 {
		t.Fatal("the token id does not change the hash")
	}
}
