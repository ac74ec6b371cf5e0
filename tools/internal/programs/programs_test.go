package programs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func writeFile(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
		t.Fatal(err)
	}
}

func TestFind(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(first, "plain"), 0o644)
	writeFile(t, filepath.Join(second, "plain"), 0o755)
	writeFile(t, filepath.Join(first, "tool"), 0o755)
	writeFile(t, filepath.Join(second, "tool"), 0o755)
	if err := os.Mkdir(filepath.Join(first, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := first + string(os.PathListSeparator) + "relative" + string(os.PathListSeparator) + second

	tests := []struct {
		name, program, path, want string
	}{
		{"the first directory on PATH wins", "tool", path, filepath.Join(first, "tool")},
		{"a file without execute bits is skipped", "plain", path, filepath.Join(second, "plain")},
		{"a directory is not a program", "dir", path, ""},
		{"a missing program is not found", "nothing", path, ""},
		{"an absolute name is checked as given", filepath.Join(second, "tool"), "", filepath.Join(second, "tool")},
		{"an absolute name that does not exist is not found", "/nonexistent/redis-server", path, ""},
		{"an empty PATH finds nothing", "tool", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Find(tt.program, tt.path)
			if tt.want == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("Find(%q) = %q, %v; want ErrNotFound", tt.program, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Find(%q) = %q, %v; want %q", tt.program, got, err, tt.want)
			}
		})
	}
}

func TestPathList(t *testing.T) {
	env := []string{"HOME=/root", "PATH=/a:/b", "PATHX=/c", "PATH=/d"}
	if got := PathList(env); got != "/d" {
		t.Fatalf("PathList = %q, want the last PATH, /d", got)
	}
	if got := PathList([]string{"HOME=/"}); got != "" {
		t.Fatalf("PathList without PATH = %q, want empty", got)
	}
}
