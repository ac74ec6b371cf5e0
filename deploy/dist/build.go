package main

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// platform is one GOOS/GOARCH the release has archives for.
type platform struct{ os, arch string }

var platforms = []platform{{"linux", "amd64"}, {"linux", "arm64"}, {"windows", "amd64"}}

// runnerProgram is the agent: it ships on its own to runner machines.
const runnerProgram = "exekra-runner"

// exe is a program's file name on p.
func (p platform) exe(name string) string {
	if p.os == "windows" {
		return name + ".exe"
	}
	return name
}

// build compiles every program of the release for p into a directory of its
// own under the scratch dir and returns that directory. The release programs
// carry no symbol table or DWARF (-s -w); their build information stays.
func (r *release) build(p platform, packages []string) (string, error) {
	dir := filepath.Join(r.work, "bin", p.os+"-"+p.arch)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	args := append([]string{"build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w " + r.ldflags, "-o", dir + "/"}, packages...)
	cmd := exec.Command("go", args...)
	cmd.Dir = r.root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.os, "GOARCH="+p.arch,
		"GOWORK="+filepath.Join(r.root, "go.work"), "GOFLAGS=")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build: %w", err)
	}
	return dir, nil
}

// programNames are the file names (without .exe) of the programs packages build.
func programNames(packages []string) []string {
	names := make([]string, len(packages))
	for i, p := range packages {
		names[i] = path.Base(p)
	}
	return names
}

// hubPrograms are the programs that make up the Hub, without the agent.
func hubPrograms(packages []string) []string {
	var names []string
	for _, n := range programNames(packages) {
		if n != runnerProgram {
			names = append(names, n)
		}
	}
	return names
}

// packagesFlag is the -packages flag: the Makefile's BINARIES, blank-separated.
type packagesFlag []string

func (f *packagesFlag) String() string { return strings.Join(*f, " ") }

func (f *packagesFlag) Set(s string) error {
	*f = strings.Fields(s)
	return nil
}
