//go:build release

package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// release is a built earlier version of the Hub.
type release struct {
	tag, version, commit string
	bin                  string // its programs
}

var (
	previousOnce sync.Once
	previous     release
	previousErr  error
)

// previousRelease builds the programs of the release named in
// testdata/previous-release from its commit (git archive, then `make build`
// with the release's version), once per machine: the result is kept under
// the user's cache dir, keyed by the commit.
func previousRelease(t testing.TB) release {
	t.Helper()
	previousOnce.Do(func() { previous, previousErr = buildPrevious() })
	if previousErr != nil {
		t.Fatalf("the previous release: %v", previousErr)
	}
	return previous
}

func buildPrevious() (release, error) {
	var r release
	f, err := os.Open("testdata/previous-release")
	if err != nil {
		return r, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			fields := strings.Fields(line)
			if len(fields) != 2 || !strings.HasPrefix(fields[0], "v") || len(fields[1]) != 40 {
				return r, fmt.Errorf("testdata/previous-release: want \"<tag> <commit>\", got %q", line)
			}
			r.tag, r.commit = fields[0], fields[1]
		}
	}
	if r.tag == "" {
		return r, fmt.Errorf("testdata/previous-release names no release")
	}
	r.version = strings.TrimPrefix(r.tag, "v")
	root, err := filepath.Abs("..")
	if err != nil {
		return r, err
	}
	if out, err := exec.Command("git", "-C", root, "cat-file", "-e", r.commit+"^{commit}").CombinedOutput(); err != nil {
		return r, fmt.Errorf("commit %s of %s is not in this clone (a shallow clone? git fetch --unshallow): %v %s", r.commit, r.tag, err, out)
	}
	if out, err := exec.Command("git", "-C", root, "rev-parse", "-q", "--verify", r.tag+"^{commit}").Output(); err == nil {
		if got := strings.TrimSpace(string(out)); got != r.commit {
			return r, fmt.Errorf("tag %s is commit %s here, testdata/previous-release says %s", r.tag, got, r.commit)
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return r, err
	}
	r.bin = filepath.Join(cache, "exekra-test", "release-"+r.tag+"-"+r.commit[:12], "bin")
	if _, err := os.Stat(filepath.Join(r.bin, "exekra-hub")); err == nil {
		return r, nil
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Dir(r.bin)), 0o755); err != nil {
		return r, err
	}
	src, err := os.MkdirTemp(filepath.Dir(filepath.Dir(r.bin)), "src-") // beside the cache: the rename below stays on one file system
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(src)
	start := time.Now()
	archive := exec.Command("sh", "-c", `git -C "$1" archive --format=tar "$2" | tar -x -C "$3"`, "sh", root, r.commit, src)
	if out, err := archive.CombinedOutput(); err != nil {
		return r, fmt.Errorf("git archive %s: %v %s", r.commit, err, out)
	}
	build := exec.Command("make", "--no-print-directory", "-C", src, "build",
		"VERSION="+r.version, "COMMIT="+r.commit[:12], "DIRTY=false")
	build.Env = append(os.Environ(), "GOWORK="+filepath.Join(src, "go.work"), "GOFLAGS=-buildvcs=false")
	if out, err := build.CombinedOutput(); err != nil {
		return r, fmt.Errorf("build %s: %v\n%s", r.tag, err, out)
	}
	os.RemoveAll(filepath.Dir(r.bin))
	if err := os.MkdirAll(filepath.Dir(r.bin), 0o755); err != nil {
		return r, err
	} // a half-copied dir of an interrupted run
	if err := os.Rename(filepath.Join(src, "bin"), r.bin); err != nil {
		return r, fmt.Errorf("keep the built %s: %w", r.tag, err)
	}
	fmt.Fprintf(os.Stderr, "built %s (%s) in %s into %s\n", r.tag, r.commit[:12], time.Since(start).Round(time.Second), r.bin)
	return r, nil
}
