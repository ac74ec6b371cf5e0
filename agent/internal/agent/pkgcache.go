package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// packageCacheKeep is how many package files the cache keeps.
const packageCacheKeep = 8

// packageCache keeps the last packages this runner ran, by SHA-256, so a
// package that runs again is not downloaded again. A cached file is hashed
// again before each use: one that changed on disk is dropped and fetched anew.
type packageCache struct{ dir string }

// path is where the package with sha256 sum is kept.
func (c packageCache) path(sum string) string { return filepath.Join(c.dir, sum+".zip") }

// lookup returns the cached file of the package whose SHA-256 is sum, if it
// is there and still has that sum.
func (c packageCache) lookup(sum string) (string, bool) {
	if !validSum(sum) {
		return "", false
	}
	p := c.path(sum)
	f, err := os.Open(p)
	if err != nil {
		return "", false
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil || hex.EncodeToString(h.Sum(nil)) != sum {
		os.Remove(p)
		return "", false
	}
	now := time.Now()
	os.Chtimes(p, now, now) // most recently used: kept longest
	return p, true
}

// temp is a new file in the cache's directory to download into.
func (c packageCache) temp() (*os.File, error) {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return nil, fmt.Errorf("package cache: %w", err)
	}
	return os.CreateTemp(c.dir, "download-*.part")
}

// keep files a downloaded (and verified) package under its sum and drops
// the least recently used beyond packageCacheKeep.
func (c packageCache) keep(tmp, sum string) (string, error) {
	if !validSum(sum) {
		return "", fmt.Errorf("package cache: not a SHA-256: %q", sum)
	}
	p := c.path(sum)
	if err := os.Rename(tmp, p); err != nil {
		return "", fmt.Errorf("package cache: %w", err)
	}
	c.prune()
	return p, nil
}

func (c packageCache) prune() {
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return
	}
	type file struct {
		name string
		used time.Time
	}
	var files []file
	for _, e := range entries {
		if info, err := e.Info(); err == nil && strings.HasSuffix(e.Name(), ".zip") {
			files = append(files, file{e.Name(), info.ModTime()})
		}
	}
	slices.SortFunc(files, func(a, b file) int { return b.used.Compare(a.used) })
	for _, f := range files[min(len(files), packageCacheKeep):] {
		os.Remove(filepath.Join(c.dir, f.name))
	}
}

func validSum(sum string) bool {
	if len(sum) != 2*sha256.Size {
		return false
	}
	_, err := hex.DecodeString(sum)
	return err == nil && strings.ToLower(sum) == sum
}
