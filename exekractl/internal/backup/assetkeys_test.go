package backup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/envelope"
)

func TestHomeMembersLeaveTheAssetKeyFileOut(t *testing.T) {
	home := t.TempDir()
	cfg := config.Default(home)
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "config", "hub-config.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	ring, _ := envelope.NewKeyring()
	if err := ring.Save(filepath.Join(home, "config", "asset-keys.json")); err != nil {
		t.Fatal(err)
	}
	members, _, err := homeMembers(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range members {
		names = append(names, m.name)
	}
	if strings.Contains(strings.Join(names, " "), "asset-keys") || !strings.Contains(strings.Join(names, " "), "hub-config.json") {
		t.Fatalf("members %v", names)
	}
}

func TestCheckAssetKeys(t *testing.T) {
	dir := t.TempDir()
	ring, _ := envelope.NewKeyring()
	id := ring.PrimaryID()
	given := filepath.Join(dir, "copy.json")
	if err := ring.Save(given); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "target", "asset-keys.json")
	m := &Manifest{AssetKeys: []AssetKeyUse{{ID: id, Values: 3}}}
	_, err := checkAssetKeys(m, "", target)
	if err == nil || !strings.Contains(err.Error(), "this backup holds 3 asset values sealed under key "+id) ||
		!strings.Contains(err.Error(), "--asset-key-file") {
		t.Fatalf("without a key file: %v", err)
	}
	other, _ := envelope.NewKeyring()
	otherPath := filepath.Join(dir, "other.json")
	_ = other.Save(otherPath)
	if _, err := checkAssetKeys(m, otherPath, target); err == nil || !strings.Contains(err.Error(), "lacks key "+id) {
		t.Fatalf("with another key file: %v", err)
	}
	got, err := checkAssetKeys(m, given, target)
	if err != nil || got == nil || !got.Has(id) {
		t.Fatalf("with the key file: %v", err)
	}
	if _, err := os.Stat(target); err == nil {
		t.Fatal("the check wrote the key file")
	}
	if got, err := checkAssetKeys(&Manifest{}, "", target); err != nil || got != nil {
		t.Fatalf("no values: %v", err)
	}
}
