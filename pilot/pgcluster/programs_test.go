package pgcluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fakeProgram(t *testing.T, dir, name string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFindPrograms(t *testing.T) {
	root := t.TempDir()
	debian := filepath.Join(root, "usr/lib/postgresql")
	for _, v := range []string{"9.6", "15", "16"} {
		fakeProgram(t, filepath.Join(debian, v, "bin"), "initdb")
		fakeProgram(t, filepath.Join(debian, v, "bin"), "postgres")
	}
	fakeProgram(t, filepath.Join(debian, "17", "bin"), "initdb") // half an installation
	linkDir := filepath.Join(root, "usr/local/bin")
	os.MkdirAll(linkDir, 0o755)
	os.Symlink(filepath.Join(debian, "15/bin/initdb"), filepath.Join(linkDir, "initdb"))
	lonely := filepath.Join(root, "opt/bin")
	fakeProgram(t, lonely, "initdb")
	other := filepath.Join(root, "other/bin")
	fakeProgram(t, other, "postgres")

	tests := []struct {
		name, path, debian, want, wantErr string
	}{
		{"initdb on PATH brings its own postgres", linkDir, debian, filepath.Join(debian, "15/bin"), ""},
		{"else the highest complete Debian version", "", debian, filepath.Join(debian, "16/bin"), ""},
		{"else both programs on PATH", lonely + ":" + other, filepath.Join(root, "none"), "", ""},
		{"a missing postgres is named", lonely, filepath.Join(root, "none"), "", "postgres not found"},
		{"a missing initdb is named", other, filepath.Join(root, "none"), "", "initdb not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FindPrograms(tt.path, tt.debian)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "apt-get install postgresql") {
					t.Fatalf("FindPrograms = %+v, %v; want an error naming %q and the fix", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if got.Initdb != filepath.Join(lonely, "initdb") || got.Postgres != filepath.Join(other, "postgres") {
					t.Fatalf("FindPrograms = %+v", got)
				}
				return
			}
			if filepath.Dir(got.Initdb) != tt.want || filepath.Dir(got.Postgres) != tt.want {
				t.Fatalf("FindPrograms = %+v, want both from %s", got, tt.want)
			}
		})
	}
}

func TestCompareVersions(t *testing.T) {
	ordered := []string{"9.6", "10", "15", "15.2", "16"}
	for i := 1; i < len(ordered); i++ {
		if compareVersions(ordered[i-1], ordered[i]) >= 0 {
			t.Errorf("%s should sort before %s", ordered[i-1], ordered[i])
		}
	}
}
