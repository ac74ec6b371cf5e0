// Package programs finds the external programs the supervisor runs
// (redis-server, initdb, postgres, useradd) on a PATH given explicitly, so
// nothing below main reads the process environment.
package programs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotFound means no executable file of that name was found.
var ErrNotFound = errors.New("not found")

// PathList returns the value of PATH in environ (os.Environ form).
func PathList(environ []string) string {
	path := ""
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v // the last one wins, as in a shell
		}
	}
	return path
}

// Find returns the absolute path of the program name. A name holding a slash
// is checked as given; otherwise each directory of pathList is searched.
func Find(name, pathList string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("empty program name: %w", ErrNotFound)
	}
	if strings.Contains(name, "/") {
		if isExecutable(name) {
			return filepath.Abs(name)
		}
		return "", fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	for _, dir := range filepath.SplitList(pathList) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue // like exec.LookPath, never run a program from a relative PATH entry
		}
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s on PATH: %w", name, ErrNotFound)
}

// InDir returns dir/name when it is an executable file.
func InDir(dir, name string) (string, bool) {
	p := filepath.Join(dir, name)
	return p, isExecutable(p)
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}
