// Package programs finds the external programs the supervisor runs
// (redis-server, initdb, postgres, useradd, the services) on a PATH given
// explicitly, so nothing below main reads the process environment. On Windows
// a program is <name>.exe and any regular file of that name counts; elsewhere
// it needs an execute bit.
package programs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// ErrNotFound means no executable file of that name was found.
var ErrNotFound = errors.New("not found")

// PathList returns the value of PATH in environ (os.Environ form); on
// Windows the name is matched case-insensitively (it is usually "Path").
func PathList(environ []string) string { return pathList(environ, runtime.GOOS) }

func pathList(environ []string, goos string) string {
	path := ""
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if ok && (name == "PATH" || goos == "windows" && strings.EqualFold(name, "PATH")) {
			path = value // the last one wins, as in a shell
		}
	}
	return path
}

// Find returns the absolute path of the program name. A name holding a path
// separator is checked as given; otherwise each directory of pathList is searched.
func Find(name, pathList string) (string, error) { return find(name, pathList, runtime.GOOS) }

func find(name, pathList, goos string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("empty program name: %w", ErrNotFound)
	}
	file := FileName(name, goos)
	if strings.ContainsAny(name, separators(goos)) {
		if isExecutable(file, goos) {
			return filepath.Abs(file)
		}
		return "", fmt.Errorf("%s: %w", file, ErrNotFound)
	}
	for _, dir := range filepath.SplitList(pathList) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue // like exec.LookPath, never run a program from a relative PATH entry
		}
		if p := filepath.Join(dir, file); isExecutable(p, goos) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s on PATH: %w", file, ErrNotFound)
}

// InDir returns dir/name (dir\name.exe on Windows) and whether it is an executable file.
func InDir(dir, name string) (string, bool) { return inDir(dir, name, runtime.GOOS) }

func inDir(dir, name, goos string) (string, bool) {
	p := filepath.Join(dir, FileName(name, goos))
	return p, isExecutable(p, goos)
}

// FileName is the file that holds program name on goos: name.exe on
// Windows (unless name ends in .exe already), name elsewhere.
func FileName(name, goos string) string {
	if goos == "windows" && !strings.HasSuffix(strings.ToLower(name), ".exe") {
		return name + ".exe"
	}
	return name
}

func separators(goos string) string {
	if goos == "windows" {
		return `/\`
	}
	return "/"
}

// isExecutable reports whether path is a regular file that goos would run:
// Windows has no execute bits, so any regular file counts there.
func isExecutable(path, goos string) bool {
	info, err := os.Stat(path)
	if err != nil || !info.Mode().IsRegular() {
		return false
	}
	return goos == "windows" || info.Mode().Perm()&0o111 != 0
}
