package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/buildinfo"
)

// hubVersion is what /api/health says of the gateway's version and commit,
// checked to be a semantic version and a known commit.
func hubVersion(t *testing.T, h *hub) (version, commit string) {
	t.Helper()
	_, body, err := h.health()
	if err != nil {
		t.Fatal(err)
	}
	version, _ = body["version"].(string)
	commit, _ = body["commit"].(string)
	if !buildinfo.Valid(version) || commit == "" {
		t.Fatalf("health shows version %q commit %q", version, commit)
	}
	return version, commit
}

// checkVersionsAgree holds that every binary prints the version and commit
// the Hub's health shows (all were built from the same checkout).
func checkVersionsAgree(t *testing.T, h *hub) {
	t.Helper()
	version, commit := hubVersion(t, h)
	for _, cmd := range [][]string{{"exekra-runner", "--version"}, {"exekractl", "version"}, {"exekra-hub", "--version"}} {
		out, err := exec.Command(filepath.Join(binDir, cmd[0]), cmd[1:]...).Output()
		if err != nil || !strings.HasPrefix(string(out), version+" (commit "+commit) {
			t.Errorf("%s prints %q (%v); the health shows %s, commit %s", strings.Join(cmd, " "), out, err, version, commit)
		}
	}
}
