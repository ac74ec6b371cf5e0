package checkpoint

import (
	"path/filepath"
	"testing"
	"time"
)

func TestSignedCheckpoints(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k", "audit-signing.key")
	key, err := LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadKey(path)
	if err != nil || !again.Equal(key) {
		t.Fatalf("key not stable across loads: %v", err)
	}
	c := Sign(key, 42, "abc", time.Now())
	t.Run("a fresh checkpoint is valid", func(t *testing.T) {
		if !c.Valid() {
			t.Fatal("invalid")
		}
	})
	t.Run("a changed seq or hash breaks the signature", func(t *testing.T) {
		d := c
		d.Seq = 43
		e := c
		e.Hash = "abd"
		if d.Valid() || e.Valid() {
			t.Fatal("tampered checkpoint verified")
		}
	})
}
