package servicecheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// windowsPrograms are what deploy/windows installs into <install dir>\bin
// (and the tools an operator runs there): each must build for Windows.
var windowsPrograms = []string{
	"github.com/exekra/hub/pilot/cmd/exekra-hub",
	"github.com/exekra/hub/exekractl/cmd/exekractl",
	"github.com/exekra/hub/agent/cmd/exekra-runner",
	"github.com/exekra/hub/services/identity/cmd/exekra-identity",
	"github.com/exekra/hub/services/licensing/cmd/exekra-licensing",
	"github.com/exekra/hub/services/runners/cmd/exekra-runners",
	"github.com/exekra/hub/services/audit/cmd/exekra-audit",
	"github.com/exekra/hub/services/gateway/cmd/exekra-gateway",
}

// TestBuildsForWindows cross-compiles the Hub for windows/amd64, so a
// Linux-only call (process groups, credentials, signals) fails here rather
// than on the first Windows install.
func TestBuildsForWindows(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles eight programs; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	out := t.TempDir()
	cmd := exec.Command(goBin, append([]string{"build", "-o", out + string(filepath.Separator)}, windowsPrograms...)...)
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=windows GOARCH=amd64 go build: %v\n%s", err, msg)
	}
	for _, pkg := range windowsPrograms {
		exe := filepath.Join(out, filepath.Base(pkg)+".exe")
		if _, err := os.Stat(exe); err != nil {
			t.Errorf("%s was not built: %v", filepath.Base(exe), err)
		}
	}
}
