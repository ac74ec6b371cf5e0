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

func TestFindOnWindows(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "redis-server.exe"), 0o644) // Windows has no execute bits
	writeFile(t, filepath.Join(dir, "initdb"), 0o755)           // no .exe: not a Windows program
	writeFile(t, filepath.Join(other, "initdb.exe"), 0o644)
	if err := os.Mkdir(filepath.Join(dir, "dir.exe"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := dir + string(os.PathListSeparator) + other

	tests := []struct {
		name, program, path, want string
	}{
		{"a program is found as <name>.exe without execute bits", "redis-server", path, filepath.Join(dir, "redis-server.exe")},
		{"a name ending in .exe is taken as it is", "redis-server.exe", path, filepath.Join(dir, "redis-server.exe")},
		{"a file without .exe is skipped", "initdb", path, filepath.Join(other, "initdb.exe")},
		{"a directory is not a program", "dir", path, ""},
		{"a full name without .exe gets it", filepath.Join(dir, "redis-server"), "", filepath.Join(dir, "redis-server.exe")},
		{"a full name with .exe is checked as given", filepath.Join(other, "initdb.exe"), "", filepath.Join(other, "initdb.exe")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := find(tt.program, tt.path, "windows")
			if tt.want == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("find(%q) = %q, %v; want ErrNotFound", tt.program, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("find(%q) = %q, %v; want %q", tt.program, got, err, tt.want)
			}
		})
	}
}

func TestInDir(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "exekra-gateway"), 0o755)
	writeFile(t, filepath.Join(dir, "exekra-audit.exe"), 0o644)
	tests := []struct {
		name, program, goos, want string
		ok                        bool
	}{
		{"Linux takes the bare name", "exekra-gateway", "linux", "exekra-gateway", true},
		{"Linux does not add .exe", "exekra-audit", "linux", "exekra-audit", false},
		{"Windows adds .exe", "exekra-audit", "windows", "exekra-audit.exe", true},
		{"Windows ignores a file without .exe", "exekra-gateway", "windows", "exekra-gateway.exe", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := inDir(dir, tt.program, tt.goos)
			if got != filepath.Join(dir, tt.want) || ok != tt.ok {
				t.Fatalf("inDir(%q, %s) = %q, %v; want %q, %v", tt.program, tt.goos, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestFileName(t *testing.T) {
	tests := []struct{ name, goos, want string }{
		{"redis-server", "linux", "redis-server"},
		{"redis-server", "windows", "redis-server.exe"},
		{"redis-server.exe", "windows", "redis-server.exe"},
		{"Redis-Server.EXE", "windows", "Redis-Server.EXE"},
		{"pg_ctl.14", "windows", "pg_ctl.14.exe"},
	}
	for _, tt := range tests {
		if got := FileName(tt.name, tt.goos); got != tt.want {
			t.Errorf("FileName(%q, %s) = %q, want %q", tt.name, tt.goos, got, tt.want)
		}
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
	winEnv := []string{`Path=C:\Windows`, `PATHEXT=.COM;.EXE`}
	if got := pathList(winEnv, "windows"); got != `C:\Windows` {
		t.Fatalf("pathList on Windows = %q, want Path matched case-insensitively", got)
	}
	if got := pathList(winEnv, "linux"); got != "" {
		t.Fatalf("pathList on Linux = %q, want Path ignored (names are case-sensitive)", got)
	}
}
