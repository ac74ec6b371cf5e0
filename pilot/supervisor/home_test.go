//go:build unix

package supervisor

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/exekra/hub/libs/config"
)

func TestEnsureHome(t *testing.T) {
	home := filepath.Join(t.TempDir(), "hub")
	wrote, err := EnsureHome(home)
	if err != nil || !wrote {
		t.Fatalf("first EnsureHome = %v, %v; want the settings written", wrote, err)
	}
	file := filepath.Join(home, config.FileName)
	data, err := os.ReadFile(file)
	if err != nil || !strings.Contains(string(data), "//") {
		t.Fatalf("%s = %q, %v; want the commented defaults", file, data, err)
	}
	if info, _ := os.Stat(file); info.Mode().Perm() != 0o644 {
		t.Errorf("%s mode %s, want 0644", file, info.Mode().Perm())
	}
	for _, dir := range []string{"logs", "var"} {
		if info, err := os.Stat(filepath.Join(home, dir)); err != nil || !info.IsDir() {
			t.Errorf("%s/ missing: %v", dir, err)
		}
	}
	if _, err := config.Load(home, nil); err != nil {
		t.Fatalf("the written settings do not load: %v", err)
	}

	t.Run("modes do not depend on the umask", func(t *testing.T) {
		old := syscall.Umask(0o077)
		defer syscall.Umask(old)
		home := filepath.Join(t.TempDir(), "strict")
		if _, err := EnsureHome(home); err != nil {
			t.Fatal(err)
		}
		for dir, want := range map[string]os.FileMode{".": 0o755, "var": 0o755, "logs": 0o750} {
			if info, _ := os.Stat(filepath.Join(home, dir)); info.Mode().Perm() != want {
				t.Errorf("%s mode %s, want %s", dir, info.Mode().Perm(), want)
			}
		}
		if info, _ := os.Stat(filepath.Join(home, config.FileName)); info.Mode().Perm() != 0o644 {
			t.Errorf("settings mode %s, want 0644", info.Mode().Perm())
		}
	})

	t.Run("an existing settings file is kept", func(t *testing.T) {
		if err := os.WriteFile(file, []byte(`{"log": {"level": "debug"}}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if wrote, err := EnsureHome(home); err != nil || wrote {
			t.Fatalf("second EnsureHome = %v, %v; want nothing written", wrote, err)
		}
		if data, _ := os.ReadFile(file); string(data) != `{"log": {"level": "debug"}}` {
			t.Fatalf("settings overwritten: %q", data)
		}
	})
}
