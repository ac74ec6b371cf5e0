package pgcluster

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreatePassword(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pg-password")
	pw, fresh, err := loadOrCreatePassword(path)
	if err != nil || !fresh || len(pw) != 64 {
		t.Fatalf("first call = %q, %v, %v; want a fresh 64-hex-digit password", pw, fresh, err)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("password file mode %s, want 0600", info.Mode().Perm())
	}
	again, fresh, err := loadOrCreatePassword(path)
	if err != nil || fresh || again != pw {
		t.Fatalf("second call = %q, %v, %v; want the stored password", again, fresh, err)
	}
	os.WriteFile(path, []byte("\n"), 0o600)
	if _, _, err := loadOrCreatePassword(path); err == nil {
		t.Fatal("an empty password file was accepted")
	}
}
