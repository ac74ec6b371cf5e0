package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/exekra/hub/libs/config"
)

// platform builds the programs for p and writes its two archives (the Hub, the
// agent alone) with an SBOM each. It returns the names of the files written.
func (r *release) platform(p platform) ([]string, error) {
	bin, err := r.build(p, r.packages)
	if err != nil {
		return nil, err
	}
	r.bins[p] = bin
	hub, err := r.hubEntries(p, bin)
	if err != nil {
		return nil, err
	}
	runner, err := r.runnerEntries(p, bin)
	if err != nil {
		return nil, err
	}
	ext := ".tar.gz"
	if p.os == "windows" {
		ext = ".zip"
	}
	var written []string
	for _, a := range []struct {
		product  string
		entries  []entry
		programs []string
	}{
		{"exekra-hub", hub, programNames(r.packages)},
		{"exekra-runner", runner, []string{runnerProgram}},
	} {
		base := fmt.Sprintf("%s-%s-%s-%s", a.product, r.version, p.os, p.arch)
		for i := range a.entries {
			a.entries[i].name = base + "/" + a.entries[i].name
		}
		if err := writeArchive(filepath.Join(r.out, base+ext), a.entries, r.epoch); err != nil {
			return nil, err
		}
		if err := r.sbom(filepath.Join(r.out, base+".cdx.json"), a.product, bin, p, a.programs); err != nil {
			return nil, err
		}
		written = append(written, base+ext, base+".cdx.json")
	}
	return written, nil
}

// hubEntries is the Hub archive: bin/ with every program, a default
// config/hub-config.json, the platform's service files under deploy/, the docs.
func (r *release) hubEntries(p platform, bin string) ([]entry, error) {
	var out []entry
	for _, name := range programNames(r.packages) {
		out = append(out, entry{name: "bin/" + p.exe(name), mode: 0o755, src: filepath.Join(bin, p.exe(name))})
	}
	cfg, err := r.defaultConfig()
	if err != nil {
		return nil, err
	}
	out = append(out, entry{name: config.FileName, mode: 0o644, src: cfg})
	deployDir := "deploy/systemd"
	if p.os == "windows" {
		deployDir = "deploy/windows"
		readme, err := r.scratchFile("redis-README.txt", []byte(windowsRedisReadme))
		if err != nil {
			return nil, err
		}
		out = append(out, entry{name: "runtime/redis/README.txt", mode: 0o644, src: readme})
	}
	for _, g := range []struct{ pattern, dir string }{
		{deployDir + "/*", deployDir}, {"docs/*.md", "docs"}, {"README.md", ""}, {"CHANGELOG.md", ""}, {"LICENSE*", ""},
	} {
		es, err := r.globEntries(g.pattern, g.dir)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	return out, nil
}

// runnerEntries is the agent's archive: the program, how to run it as a
// service on the platform, README and CHANGELOG.
func (r *release) runnerEntries(p platform, bin string) ([]entry, error) {
	out := []entry{{name: p.exe(runnerProgram), mode: 0o755, src: filepath.Join(bin, p.exe(runnerProgram))}}
	service := "deploy/systemd/exekra-runner.service"
	if p.os == "windows" {
		service = "deploy/windows/RUNNER.md"
	}
	for _, pattern := range []string{service, "README.md", "CHANGELOG.md", "LICENSE*"} {
		es, err := r.globEntries(pattern, "")
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	return out, nil
}

// windowsRedisReadme is runtime/redis/README.txt of the Windows Hub archive:
// the folder where the ExekraHubRedis service runs redis-server.exe, which
// the release cannot ship. CRLF line ends, for Notepad.
var windowsRedisReadme = strings.ReplaceAll(`Exekra Hub - the bundled Redis (runtime\redis)

The Windows service ExekraHubRedis runs redis-server.exe from this folder:

    <install dir>\runtime\redis\redis-server.exe

This release does not contain redis-server.exe: Redis publishes no Windows
build. Put a Windows build of Redis 6.0 or later here yourself (the Hub's
ACL file needs Redis 6.0 or later), redis-server.exe with the DLLs it comes
with, from a source you trust. Or pass the folder holding it to the install
script, which copies redis-server.exe, redis-cli.exe and the DLLs here:

    .\Install-ExekraHub.ps1 -RedisPath C:\Tools\Redis ...

Redis keeps everything of its own in this folder: its working and data dir
(nothing is saved: no snapshots, no append-only file), its ACL file
users.acl (written by exekractl credentials during the install) and its log
redis.log (written by NSSM, rotated at 10 MiB).

See deploy\windows\HUB.md.
`, "\n", "\r\n")

// scratchFile writes data to name in the scratch dir once and returns its path.
func (r *release) scratchFile(name string, data []byte) (string, error) {
	path := filepath.Join(r.work, name)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", name, err)
	}
	return path, nil
}

// defaultConfig writes the Hub's settings file with every key at its default
// (the file exekra-hub writes at first start) into the scratch dir once.
func (r *release) defaultConfig() (string, error) {
	path := filepath.Join(r.work, "hub-config.json")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.WriteFile(path, config.DefaultFile(), 0o644); err != nil {
		return "", fmt.Errorf("default settings: %w", err)
	}
	return path, nil
}
