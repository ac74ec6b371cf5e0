package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The two runs get the same version, commit, tree state and timestamp, so a
// commit or an edit elsewhere in the checkout between them changes neither.
const (
	testVersion = "0.0.0-distcheck"
	testEpoch   = 1780000000
)

var services = []string{"exekra-gateway", "exekra-identity", "exekra-licensing", "exekra-runners", "exekra-audit"}

// TestDist runs `make dist` twice into two temp dirs: the two must be byte for
// byte the same, and what they hold must be what docs/operations.md promises.
// `make dist-check` runs it (a cold `make dist` takes minutes, so `make test`
// does not).
func TestDist(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	first, second := makeDist(t, root), makeDist(t, root)
	a, b := readFile(t, filepath.Join(first, "SHA256SUMS")), readFile(t, filepath.Join(second, "SHA256SUMS"))
	if !bytes.Equal(a, b) {
		t.Fatalf("two dist runs differ:\n%s\n---\n%s", a, b)
	}
	cmd := exec.Command("sha256sum", "--strict", "-c", "SHA256SUMS")
	cmd.Dir = first
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}
	for _, name := range []string{
		"exekra-hub-" + testVersion + "-windows-amd64.zip", "exekra-hub-" + testVersion + "-linux-amd64.tar.gz",
		"exekra-hub-" + testVersion + "-linux-arm64.tar.gz", "exekra-runner-" + testVersion + "-windows-amd64.zip",
		"exekra-runner-" + testVersion + "-linux-amd64.tar.gz", "exekra-runner-" + testVersion + "-linux-arm64.tar.gz",
		"exekra-hub_" + testVersion + "_amd64.deb", "exekra-runner_" + testVersion + "_amd64.deb",
	} {
		if !strings.Contains(string(a), "  "+name+"\n") {
			t.Errorf("SHA256SUMS does not list %s:\n%s", name, a)
		}
	}
	epoch := time.Unix(testEpoch, 0)
	checkZip(t, filepath.Join(first, "exekra-hub-"+testVersion+"-windows-amd64.zip"), epoch)
	checkTarGz(t, filepath.Join(first, "exekra-hub-"+testVersion+"-linux-arm64.tar.gz"), epoch)
	checkHubDeb(t, filepath.Join(first, "exekra-hub_"+testVersion+"_amd64.deb"))
	checkRunnerDeb(t, filepath.Join(first, "exekra-runner_"+testVersion+"_amd64.deb"))
	checkSBOM(t, filepath.Join(first, "exekra-hub-"+testVersion+"-linux-amd64.cdx.json"), epoch)
}

func makeDist(t *testing.T, root string) string {
	t.Helper()
	return makeDistVersion(t, root, t.TempDir(), testVersion)
}

// built holds the release files of each version built once for this test
// process (sharedDist), in dirs removed when the tests end.
var built = map[string]string{}

// sharedDist is `make dist` of version, built on first use and shared by
// every test of this process that only reads the release files.
func sharedDist(t *testing.T, version string) string {
	t.Helper()
	if dir, ok := built[version]; ok {
		return dir
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "exekra-dist-"+version+"-")
	if err != nil {
		t.Fatal(err)
	}
	built[version] = makeDistVersion(t, root, dir, version)
	return dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range built {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

func makeDistVersion(t *testing.T, root, dir, version string) string {
	t.Helper()
	start := time.Now()
	cmd := exec.Command("make", "--no-print-directory", "dist", "DIST_DIR="+dir, "VERSION="+version,
		"COMMIT=000000000000", "DIRTY=false", "SOURCE_DATE_EPOCH="+strconv.Itoa(testEpoch))
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make dist: %v\n%s", err, out)
	}
	t.Logf("make dist into %s: %s", dir, time.Since(start).Round(time.Second))
	return dir
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hubFiles are the files every Hub archive holds, relative to its top dir.
func hubFiles(exe string) []string {
	files := []string{"bin/exekra-hub" + exe, "bin/exekractl" + exe, "bin/exekra-runner" + exe,
		"config/hub-config.json", "README.md", "CHANGELOG.md", "docs/operations.md"}
	for _, s := range services {
		files = append(files, "bin/"+s+exe)
	}
	return files
}

func checkZip(t *testing.T, path string, epoch time.Time) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if !f.Modified.Equal(epoch) {
			t.Errorf("%s: %s modified %s, want %s", path, f.Name, f.Modified, epoch)
		}
	}
	top := strings.TrimSuffix(filepath.Base(path), ".zip") + "/"
	for _, want := range append(hubFiles(".exe"), "deploy/windows/Install-ExekraHub.ps1", "runtime/redis/README.txt") {
		if !slices.Contains(names, top+want) {
			t.Errorf("%s lacks %s; it holds %v", path, want, names)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("%s: entries not sorted: %v", path, names)
	}
}

func checkTarGz(t *testing.T, path string, epoch time.Time) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if gz.Name != "" || !gz.ModTime.IsZero() {
		t.Errorf("%s: gzip header carries name %q, time %s", path, gz.Name, gz.ModTime)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if !h.ModTime.Equal(epoch) || h.Uid != 0 || h.Gid != 0 || h.Uname != "root" {
			t.Errorf("%s: %s has mtime %s uid %d gid %d uname %q", path, h.Name, h.ModTime, h.Uid, h.Gid, h.Uname)
		}
	}
	top := strings.TrimSuffix(filepath.Base(path), ".tar.gz") + "/"
	for _, want := range append(hubFiles(""), "deploy/systemd/exekra-hub.service") {
		if !slices.Contains(names, top+want) {
			t.Errorf("%s lacks %s; it holds %v", path, want, names)
		}
	}
}

// dpkgDeb runs dpkg-deb with args and returns its output.
func dpkgDeb(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("dpkg-deb", args...).Output()
	if err != nil {
		t.Fatalf("dpkg-deb %v: %v", args, err)
	}
	return string(out)
}

func wantAll(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

func checkHubDeb(t *testing.T, path string) {
	t.Helper()
	contents := dpkgDeb(t, "--contents", path)
	want := []string{"./opt/exekra/hub/bin/exekra-hub\n", "./opt/exekra/hub/bin/exekractl\n",
		"./lib/systemd/system/exekra-hub.service\n", "./lib/systemd/system/exekra@.service\n",
		"./opt/exekra/hub/config/hub-config.json\n", "./usr/bin/exekractl -> /opt/exekra/hub/bin/exekractl\n"}
	for _, s := range services {
		want = append(want, "./opt/exekra/hub/bin/"+s+"\n")
	}
	wantAll(t, "exekra-hub contents", contents, want...)
	for _, line := range strings.Split(contents, "\n") {
		if strings.HasSuffix(line, " ./opt/exekra/hub/config/") && !strings.Contains(line, " exekra/exekra ") {
			t.Errorf("config/ is not the exekra user's: %s", line)
		}
	}
	wantAll(t, "exekra-hub conffiles", dpkgDeb(t, "--info", path, "conffiles"), "/opt/exekra/hub/config/hub-config.json")
	wantAll(t, "exekra-hub preinst", dpkgDeb(t, "--info", path, "preinst"), "useradd --system", "exekra")
	wantAll(t, "exekra-hub postinst", dpkgDeb(t, "--info", path, "postinst"), "systemctl restart exekra-hub.service")
	wantAll(t, "exekra-hub prerm", dpkgDeb(t, "--info", path, "prerm"), "systemctl stop exekra-hub.service")
}

func checkRunnerDeb(t *testing.T, path string) {
	t.Helper()
	wantAll(t, "exekra-runner contents", dpkgDeb(t, "--contents", path),
		"./opt/exekra/runner/bin/exekra-runner\n", "./lib/systemd/system/exekra-runner.service\n", "./etc/exekra-runner/runner.json\n")
	wantAll(t, "exekra-runner conffiles", dpkgDeb(t, "--info", path, "conffiles"), "/etc/exekra-runner/runner.json")
	wantAll(t, "exekra-runner prerm", dpkgDeb(t, "--info", path, "prerm"), "systemctl stop exekra-runner.service")
	dir := t.TempDir()
	dpkgDeb(t, "--extract", path, dir)
	unit := string(readFile(t, filepath.Join(dir, "lib/systemd/system/exekra-runner.service")))
	wantAll(t, "exekra-runner.service", unit, "ExecStart=/opt/exekra/runner/bin/exekra-runner --config /etc/exekra-runner/runner.json")
}

func checkSBOM(t *testing.T, path string, epoch time.Time) {
	t.Helper()
	var bom struct {
		BOMFormat    string `json:"bomFormat"`
		SerialNumber string `json:"serialNumber"`
		Metadata     struct {
			Timestamp string `json:"timestamp"`
			Component struct{ Name, Version string }
		} `json:"metadata"`
		Components []struct {
			Name string `json:"name"`
		} `json:"components"`
	}
	if err := json.Unmarshal(readFile(t, path), &bom); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if bom.BOMFormat != "CycloneDX" || bom.SerialNumber != "" || bom.Metadata.Timestamp != epoch.UTC().Format(time.RFC3339) {
		t.Errorf("%s: format %q, serial %q, timestamp %q (want CycloneDX, none, %s)", path, bom.BOMFormat,
			bom.SerialNumber, bom.Metadata.Timestamp, epoch.UTC().Format(time.RFC3339))
	}
	if bom.Metadata.Component.Name != "exekra-hub" || bom.Metadata.Component.Version != testVersion {
		t.Errorf("%s describes %+v", path, bom.Metadata.Component)
	}
	var names []string
	for _, c := range bom.Components {
		names = append(names, c.Name)
	}
	for _, want := range []string{"github.com/exekra/hub/pilot", "github.com/exekra/hub/agent", "github.com/jackc/pgx/v5"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s: no component %s among %v", path, want, names)
		}
	}
}
