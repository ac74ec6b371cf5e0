package pgcluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStoredURL(t *testing.T) {
	varDir := t.TempDir()
	if _, err := StoredURL(varDir, "0.0.0.0:15432"); err == nil || !strings.Contains(err.Error(), "has the Hub run") {
		t.Fatalf("StoredURL without a password file = %v", err)
	}
	os.WriteFile(filepath.Join(varDir, "pg-password"), []byte("abc123\n"), 0o600)
	got, err := StoredURL(varDir, "0.0.0.0:15432")
	if err != nil || got != "postgres://exekra:abc123@127.0.0.1:15432/exekra?sslmode=disable" {
		t.Fatalf("StoredURL = %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(varDir, "pg")); err == nil {
		t.Fatal("StoredURL created the data dir")
	}
}
