package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The cache keeps the packageCacheKeep most recently used packages.
func TestPackageCacheKeepsTheRecentlyUsed(t *testing.T) {
	c := packageCache{dir: t.TempDir()}
	sums := make([]string, packageCacheKeep+3)
	start := time.Now().Add(-time.Hour)
	for i := range sums {
		body := []byte(fmt.Sprintf("package %d", i))
		sum := sha256.Sum256(body)
		sums[i] = hex.EncodeToString(sum[:])
		f, err := c.temp()
		if err != nil {
			t.Fatal(err)
		}
		f.Write(body)
		f.Close()
		p, err := c.keep(f.Name(), sums[i])
		if err != nil {
			t.Fatal(err)
		}
		at := start.Add(time.Duration(i) * time.Minute)
		os.Chtimes(p, at, at)
		if i == 0 {
			continue
		}
		if _, ok := c.lookup(sums[0]); !ok { // package 0 keeps being used
			t.Fatalf("package 0 left the cache after %d more", i)
		}
	}
	left, _ := filepath.Glob(filepath.Join(c.dir, "*.zip"))
	if len(left) != packageCacheKeep {
		t.Fatalf("%d packages kept, want %d", len(left), packageCacheKeep)
	}
	for _, old := range sums[1:4] {
		if _, ok := c.lookup(old); ok {
			t.Fatalf("a least recently used package is still cached")
		}
	}
	if _, err := c.keep("x", "not-a-sum"); err == nil {
		t.Fatal("kept a file under a name that is not a SHA-256")
	}
}
