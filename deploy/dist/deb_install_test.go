//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The upgrade goes from testVersion to this one, a higher version.
const upgradeVersion = "0.0.1-distcheck"

const (
	debAdminEmail    = "admin@acme.test"
	debAdminPassword = "correct horse battery"
	// systemdPath is the PATH systemd gives a service.
	systemdPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// unitNoFile is the unit's LimitNOFILE.
	unitNoFile = 65536
	// unitStopTimeout is the unit's TimeoutStopSec.
	unitStopTimeout = 150 * time.Second
)

// TestDebInstallUpgrade installs the Debian packages `make dist` builds with
// dpkg -i, starts the installed Hub the way exekra-hub.service does, activates
// a license and bootstraps an admin, edits the kept settings file, then
// upgrades with dpkg -i to a higher version's packages: the settings edit,
// the license and the admin must all survive, and the Hub must answer with
// the new version. It changes the machine (packages, the exekra user, files
// under /opt/exekra), so it needs root and refuses to run over an existing
// installation; everything is purged and removed when it ends.
func TestDebInstallUpgrade(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("TestDebInstallUpgrade installs the Debian packages with dpkg and needs root: run `make dist-check` as root (as CI does)")
	}
	for _, tool := range []string{"dpkg", "dpkg-query", "setpriv", "useradd", "userdel", "redis-server"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to install and run the Hub package: %v", tool, err)
		}
	}
	refuseExistingInstall(t)

	start := time.Now()
	distA, distB := sharedDist(t, testVersion), sharedDist(t, upgradeVersion)
	t.Logf("release files of %s and %s: %s", testVersion, upgradeVersion, time.Since(start).Round(time.Second))

	_, optExisted := os.Stat("/opt/exekra")
	createdUser := !userExists("exekra")
	h := &installedHub{t: t}
	t.Cleanup(func() { removeInstall(t, h, createdUser, optExisted == nil) })

	// Install A.
	step := time.Now()
	dpkg(t, "-i", debPath(distA, "exekra-hub", testVersion), debPath(distA, "exekra-runner", testVersion))
	t.Logf("dpkg -i %s: %s", testVersion, time.Since(step).Round(100*time.Millisecond))
	checkPackageVersion(t, "exekra-hub", testVersion)
	checkPackageVersion(t, "exekra-runner", testVersion)
	checkInstalledFiles(t, createdUser)
	checkConffiles(t)
	checkProgramVersion(t, testVersion)
	checkEnabled(t, "exekra-hub.service", true)
	checkEnabled(t, "exekra-runner.service", true)
	// The operator turns the agent off on this machine: the upgrade keeps it off.
	runTool(t, "systemctl", "disable", "exekra-runner.service")
	checkEnabled(t, "exekra-runner.service", false)

	// The vendor's key pair; the operator trusts its public key in .env, the
	// secrets file the package made.
	vendorDir := t.TempDir()
	runTool(t, "/usr/bin/exekractl", "license", "keygen", "--out", vendorDir)
	pub := strings.TrimSpace(string(readFile(t, filepath.Join(vendorDir, "license.pub"))))
	appendFile(t, hubHome+"/.env", "EXEKRA_LICENSE_PUBLIC_KEYS="+pub+"\n")
	dotenv := readFile(t, hubHome+"/.env")

	step = time.Now()
	h.start()
	t.Logf("first start of %s until health 200: %s", testVersion, time.Since(step).Round(100*time.Millisecond))
	h.waitVersion(testVersion)
	anon := h.client("")
	anon.setUp("/usr/bin/exekractl", vendorDir, debAdminEmail, debAdminPassword)
	h.login(debAdminPassword, http.StatusOK)
	for _, dir := range []string{"var", "logs"} {
		checkOwnedByExekra(t, filepath.Join(hubHome, dir))
	}

	// The operator edits the settings file.
	edited := editConfig(t)

	step = time.Now()
	h.stop()
	t.Logf("stop (SIGTERM) of %s: %s", testVersion, time.Since(step).Round(100*time.Millisecond))

	// Upgrade to B.
	step = time.Now()
	dpkg(t, "-i", debPath(distB, "exekra-hub", upgradeVersion), debPath(distB, "exekra-runner", upgradeVersion))
	t.Logf("dpkg -i %s over %s: %s", upgradeVersion, testVersion, time.Since(step).Round(100*time.Millisecond))
	checkPackageVersion(t, "exekra-hub", upgradeVersion)
	checkPackageVersion(t, "exekra-runner", upgradeVersion)
	if got := readFile(t, hubHome+"/config/hub-config.json"); !bytes.Equal(got, edited) {
		t.Errorf("the upgrade changed the edited hub-config.json; now:\n%s", got)
	}
	for _, suffix := range []string{".dpkg-new", ".dpkg-dist", ".dpkg-old"} {
		if _, err := os.Stat(hubHome + "/config/hub-config.json" + suffix); err == nil {
			t.Errorf("the upgrade left hub-config.json%s: the edited file was not simply kept", suffix)
		}
	}
	if got := readFile(t, hubHome+"/.env"); !bytes.Equal(got, dotenv) {
		t.Errorf("the upgrade changed .env: %q, was %q", got, dotenv)
	}
	checkInstalledFiles(t, createdUser)
	checkProgramVersion(t, upgradeVersion)
	checkEnabled(t, "exekra-hub.service", true)
	checkEnabled(t, "exekra-runner.service", false)

	step = time.Now()
	h.start()
	t.Logf("start of %s over %s's data until health 200: %s", upgradeVersion, testVersion, time.Since(step).Round(100*time.Millisecond))
	h.waitVersion(upgradeVersion)
	anon = h.client("") // the restarted Hub listens on new ports
	if st := anon.must(http.StatusOK, "GET", "/api/v1/setup", nil); st["licensed"] != true || st["bootstrapped"] != true {
		t.Errorf("after the upgrade: setup = %v, want licensed and bootstrapped", st)
	}
	h.login(debAdminPassword, http.StatusOK)
	h.login("not the password", http.StatusUnauthorized)
	step = time.Now()
	h.stop()
	t.Logf("stop (SIGTERM) of %s: %s", upgradeVersion, time.Since(step).Round(100*time.Millisecond))

	// Purge: the packages' files and kept settings go, the data stays.
	dpkg(t, "--purge", "exekra-hub", "exekra-runner")
	for _, gone := range []string{hubHome + "/bin/exekra-hub", "/usr/bin/exekractl", hubHome + "/config/hub-config.json",
		unitDir + "/exekra-hub.service", unitDir + "/exekra-runner.service", runnerHome + "/bin/exekra-runner",
		"/etc/exekra-runner/runner.json"} {
		if _, err := os.Lstat(gone); err == nil {
			t.Errorf("dpkg --purge left %s", gone)
		}
	}
	for _, dir := range []string{"/etc/systemd/system", "/var/lib/systemd/deb-systemd-helper-enabled", "/var/lib/systemd/deb-systemd-helper-masked"} {
		if left := filesNamed(dir, "exekra"); len(left) > 0 {
			t.Errorf("dpkg --purge left the units' enablement: %v", left)
		}
	}
	if _, err := os.Stat(hubHome + "/var/pg"); err != nil {
		t.Errorf("dpkg --purge removed the Hub's data (var/pg): %v", err)
	}
	if !userExists("exekra") {
		t.Error("dpkg --purge removed the exekra user, which owns the data that stays")
	}
}

// refuseExistingInstall fails the test when the machine has an Exekra
// installation (or what one leaves behind) that the test would overwrite.
func refuseExistingInstall(t *testing.T) {
	t.Helper()
	for _, pkg := range []string{"exekra-hub", "exekra-runner"} {
		if st := packageStatus(pkg); st != "" && !strings.HasSuffix(st, " not-installed") {
			t.Fatalf("package %s is on this machine (%s): refusing to install over it; the test installs and purges its own", pkg, st)
		}
	}
	for _, path := range []string{hubHome, runnerHome, "/etc/exekra-runner", "/etc/exekra/hub.env"} {
		if _, err := os.Lstat(path); err == nil {
			t.Fatalf("%s exists (left by an earlier install): refusing to install over it", path)
		}
	}
}

// packageStatus is dpkg's status of pkg ("install ok installed"), "" when
// dpkg does not know it.
func packageStatus(pkg string) string {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", pkg).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func userExists(name string) bool {
	_, err := user.Lookup(name)
	return err == nil
}

func debPath(dir, name, version string) string {
	return filepath.Join(dir, name+"_"+version+"_amd64.deb")
}

// dpkg runs dpkg with no terminal, as an unattended install does: a
// question (a changed conffile) fails it instead of waiting.
func dpkg(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("dpkg", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("dpkg %s:\n%s", strings.Join(args, " "), out)
}

// checkPackageVersion: dpkg has pkg installed at version, which a Debian
// package spells with ~ before a pre-release (0.0.1~rc1 sorts before 0.0.1).
func checkPackageVersion(t *testing.T, pkg, version string) {
	t.Helper()
	want := strings.Replace(version, "-", "~", 1)
	out := runTool(t, "dpkg-query", "-W", "-f=${Status} ${Version}", pkg)
	if out != "install ok installed "+want {
		t.Errorf("dpkg-query %s = %q, want installed at %s", pkg, out, want)
	}
}

// checkProgramVersion: the installed supervisor is the one of version want.
func checkProgramVersion(t *testing.T, want string) {
	t.Helper()
	if out := runTool(t, hubHome+"/bin/exekra-hub", "--version"); !strings.Contains(out, want) {
		t.Errorf("exekra-hub --version = %q, want %s", out, want)
	}
}

// checkEnabled: unit is enabled (its multi-user.target.wants link is there)
// or not. systemctl needs no running systemd for that.
func checkEnabled(t *testing.T, unit string, want bool) {
	t.Helper()
	link := "/etc/systemd/system/multi-user.target.wants/" + unit
	target, err := os.Readlink(link)
	if enabled := err == nil && target == unitDir+"/"+unit; enabled != want {
		t.Errorf("%s enabled = %v (%s -> %q, %v), want %v", unit, enabled, link, target, err, want)
	}
}

// filesNamed lists the files under dir whose name contains part.
func filesNamed(dir, part string) []string {
	var found []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), part) {
			found = append(found, path)
		}
		return nil
	})
	return found
}

type fileWant struct {
	path         string
	owner, group string
	mode         os.FileMode // permission bits
	dir, symlink bool
}

// checkInstalledFiles: the exekra system user and the files
// docs/operations.md lists, with their owners and modes.
func checkInstalledFiles(t *testing.T, createdUser bool) {
	t.Helper()
	pw := strings.Split(strings.TrimSpace(runTool(t, "getent", "passwd", "exekra")), ":")
	if len(pw) != 7 {
		t.Errorf("exekra user = %v", pw)
	} else if createdUser && (pw[5] != hubHome || pw[6] != "/usr/sbin/nologin") {
		// An exekra user that was there before keeps its own home and shell.
		t.Errorf("exekra user = %v, want home %s and shell /usr/sbin/nologin", pw, hubHome)
	} else if uid, _ := strconv.Atoi(pw[2]); uid == 0 || uid >= 1000 {
		t.Errorf("exekra user has uid %d, want a system user", uid)
	}
	want := []fileWant{
		{path: hubHome + "/config", owner: "exekra", group: "exekra", mode: 0o755, dir: true},
		{path: hubHome + "/logs", owner: "exekra", group: "exekra", mode: 0o750, dir: true},
		{path: hubHome + "/var", owner: "exekra", group: "exekra", mode: 0o755, dir: true},
		{path: hubHome + "/config/hub-config.json", owner: "root", group: "exekra", mode: 0o640},
		{path: hubHome + "/.env", owner: "root", group: "exekra", mode: 0o640},
		{path: "/usr/bin/exekractl", symlink: true},
		{path: unitDir + "/exekra-hub.service", owner: "root", group: "root", mode: 0o644},
		{path: unitDir + "/exekra@.service", owner: "root", group: "root", mode: 0o644},
		{path: unitDir + "/exekra-runner.service", owner: "root", group: "root", mode: 0o644},
		{path: runnerHome + "/bin/exekra-runner", owner: "root", group: "root", mode: 0o755},
		{path: "/etc/exekra-runner/runner.json", owner: "root", group: "root", mode: 0o644},
		{path: "/usr/share/doc/exekra-hub/docs/operations.md", owner: "root", group: "root", mode: 0o644},
	}
	for _, name := range append([]string{"exekra-hub", "exekractl"}, services...) {
		want = append(want, fileWant{path: hubHome + "/bin/" + name, owner: "root", group: "root", mode: 0o755})
	}
	for _, w := range want {
		checkFile(t, w)
	}
	if target, err := os.Readlink("/usr/bin/exekractl"); err != nil || target != hubHome+"/bin/exekractl" {
		t.Errorf("/usr/bin/exekractl -> %q (%v), want %s/bin/exekractl", target, err, hubHome)
	}
	unit := string(readFile(t, unitDir+"/exekra-runner.service"))
	if !strings.Contains(unit, "ExecStart="+runnerHome+"/bin/exekra-runner") {
		t.Errorf("installed exekra-runner.service does not run %s/bin/exekra-runner:\n%s", runnerHome, unit)
	}
	hubUnit := string(readFile(t, unitDir+"/exekra-hub.service"))
	for _, line := range []string{"User=exekra", "ExecStart=" + hubHome + "/bin/exekra-hub --home " + hubHome, "WorkingDirectory=" + hubHome} {
		if !strings.Contains(hubUnit, "\n"+line+"\n") {
			t.Errorf("installed exekra-hub.service has no %q: the test starts the Hub as that line says", line)
		}
	}
}

func checkFile(t *testing.T, w fileWant) {
	t.Helper()
	fi, err := os.Lstat(w.path)
	if err != nil {
		t.Errorf("installed file: %v", err)
		return
	}
	if w.symlink {
		if fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is %s, want a symlink", w.path, fi.Mode())
		}
		return
	}
	if fi.IsDir() != w.dir {
		t.Errorf("%s: dir=%v, want %v", w.path, fi.IsDir(), w.dir)
	}
	if fi.Mode().Perm() != w.mode {
		t.Errorf("%s has mode %o, want %o", w.path, fi.Mode().Perm(), w.mode)
	}
	st := fi.Sys().(*syscall.Stat_t)
	owner, group := idName(user.LookupId, st.Uid), idName(lookupGroupName, st.Gid)
	if owner != w.owner || group != w.group {
		t.Errorf("%s is owned by %s:%s, want %s:%s", w.path, owner, group, w.owner, w.group)
	}
}

func lookupGroupName(id string) (*user.User, error) {
	g, err := user.LookupGroupId(id)
	if err != nil {
		return nil, err
	}
	return &user.User{Username: g.Name}, nil
}

func idName(lookup func(string) (*user.User, error), id uint32) string {
	u, err := lookup(strconv.FormatUint(uint64(id), 10))
	if err != nil {
		return strconv.FormatUint(uint64(id), 10)
	}
	return u.Username
}

// checkOwnedByExekra: what the running Hub wrote under dir is exekra's.
func checkOwnedByExekra(t *testing.T, dir string) {
	t.Helper()
	u, err := user.Lookup("exekra")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		n++
		if uid := strconv.FormatUint(uint64(fi.Sys().(*syscall.Stat_t).Uid), 10); uid != u.Uid {
			return fmt.Errorf("%s is owned by uid %s, want exekra (%s)", path, uid, u.Uid)
		}
		return nil
	})
	if err != nil {
		t.Errorf("walk %s: %v", dir, err)
	}
	if n < 2 {
		t.Errorf("the Hub wrote nothing under %s", dir)
	}
}

// checkConffiles: dpkg knows the settings files as conffiles, which an
// upgrade keeps.
func checkConffiles(t *testing.T) {
	t.Helper()
	for pkg, file := range map[string]string{"exekra-hub": hubHome + "/config/hub-config.json", "exekra-runner": "/etc/exekra-runner/runner.json"} {
		if out := runTool(t, "dpkg-query", "-W", "-f=${Conffiles}", pkg); !strings.Contains(out, " "+file+" ") {
			t.Errorf("%s conffiles = %q, want %s", pkg, out, file)
		}
	}
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// editConfig makes an operator's edit to hub-config.json (a comment and a
// host name) in place and returns the edited file.
func editConfig(t *testing.T) []byte {
	t.Helper()
	path := hubHome + "/config/hub-config.json"
	data := readFile(t, path)
	const from, to = `"host_names": []`, `"host_names": ["hub.distcheck.test"]`
	if !bytes.Contains(data, []byte(from)) {
		t.Fatalf("%s has no %s to edit:\n%s", path, from, data)
	}
	data = append([]byte("// Edited by the operator: the name clients use.\n"), bytes.Replace(data, []byte(from), []byte(to), 1)...)
	if err := os.WriteFile(path, data, 0); err != nil { // an existing file keeps its owner and mode
		t.Fatal(err)
	}
	return data
}

// installedHub is the installed Hub, started as exekra-hub.service starts it.
type installedHub struct {
	t       *testing.T
	gateway string
	cmd     *exec.Cmd
	exited  chan struct{}
	out     *bytes.Buffer
}

// freeAddr is a loopback address no one listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start runs the unit's ExecStart in its WorkingDirectory as its User and
// Group, with its UMask, LimitNOFILE (as far as this machine's hard limit
// allows), no capabilities and no new privileges, and the environment systemd
// gives a service plus the listen addresses, which on a host would be in
// /etc/exekra/hub.env (the unit's EnvironmentFile). It waits for health 200.
func (h *installedHub) start() {
	t := h.t
	t.Helper()
	env := []string{"PATH=" + systemdPath, "HOME=" + hubHome, "USER=exekra", "LOGNAME=exekra", "SHELL=/usr/sbin/nologin"}
	addrs := map[string]bool{}
	for _, key := range []string{"GATEWAY_LISTEN", "GATEWAY_METRICS_LISTEN", "IDENTITY_METRICS_LISTEN",
		"LICENSING_METRICS_LISTEN", "RUNNERS_METRICS_LISTEN", "AUDIT_METRICS_LISTEN", "SUPERVISOR_METRICS_LISTEN",
		"NATS_LISTEN", "REDIS_LISTEN", "DATABASE_PRIVATE_LISTEN"} {
		addr := freeAddr(t)
		for addrs[addr] {
			addr = freeAddr(t)
		}
		addrs[addr] = true
		env = append(env, "EXEKRA_"+key+"="+addr)
		if key == "GATEWAY_LISTEN" {
			h.gateway = "https://" + addr
		}
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	nofile := min(uint64(unitNoFile), lim.Max)
	h.cmd = exec.Command("sh", "-c", `ulimit -n "$1" && umask 0027 && shift && exec setpriv --reuid=exekra --regid=exekra --init-groups `+
		`--no-new-privs --inh-caps=-all --bounding-set=-all -- "$@"`,
		"sh", strconv.FormatUint(nofile, 10), hubHome+"/bin/exekra-hub", "--home", hubHome)
	h.cmd.Dir = hubHome
	h.cmd.Env = env
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	h.out = &bytes.Buffer{}
	h.cmd.Stdout, h.cmd.Stderr = h.out, h.out
	if err := h.cmd.Start(); err != nil {
		t.Fatalf("start the installed Hub: %v", err)
	}
	h.exited = make(chan struct{})
	go func() { h.cmd.Wait(); close(h.exited) }()
	h.waitHealth(3*time.Minute, nil)
}

// stop sends SIGTERM as systemctl stop does and waits for the Hub and
// everything it started to end.
func (h *installedHub) stop() {
	t := h.t
	t.Helper()
	if h.cmd == nil {
		return
	}
	defer func() { h.cmd = nil }()
	h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.exited:
	case <-time.After(unitStopTimeout):
		t.Errorf("the Hub did not stop within the unit's TimeoutStopSec (%s):\n%s", unitStopTimeout, h.out)
		killHubProcesses()
		<-h.exited
		return
	}
	if code := h.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("the Hub exited with %d on SIGTERM:\n%s", code, h.out)
	}
	if left := killHubProcesses(); len(left) > 0 {
		t.Errorf("processes %v of the Hub outlived it", left)
	}
}

// killHubProcesses kills what runs from the installed Hub: processes whose
// program or working directory is under /opt/exekra/hub (the supervisor, the
// services, PostgreSQL in var/pg, Redis), whoever started them. Other
// programs of the exekra user (tests elsewhere on the machine may use it) are
// left alone. It returns the pids it killed.
func killHubProcesses() []int {
	pids := hubProcesses()
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	return pids
}

func hubProcesses() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		for _, link := range []string{"exe", "cwd"} {
			if target, err := os.Readlink(filepath.Join("/proc", e.Name(), link)); err == nil &&
				(target == hubHome || strings.HasPrefix(target, hubHome+"/")) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// waitHealth polls /api/health until it is 200 and check (if any) accepts it.
func (h *installedHub) waitHealth(within time.Duration, check func(map[string]any) bool) map[string]any {
	t := h.t
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		code, body, err := h.client("").call("GET", "/api/health", nil)
		if err == nil && code == http.StatusOK && (check == nil || check(body)) {
			return body
		}
		last = fmt.Sprintf("code=%d body=%v err=%v", code, body, err)
		select {
		case <-h.exited:
			t.Fatalf("the installed Hub exited while starting; last health: %s\n%s%s", last, h.out, h.logs())
		case <-time.After(500 * time.Millisecond):
		}
	}
	t.Fatalf("health was not 200 within %s; last: %s\n%s%s", within, last, h.out, h.logs())
	return nil
}

func (h *installedHub) waitVersion(want string) {
	h.t.Helper()
	body := h.waitHealth(30*time.Second, nil)
	if body["version"] != want {
		h.t.Errorf("health version = %v, want %s (%v)", body["version"], want, body)
	}
}

// logs is the tail of each of the Hub's log files, for a failure.
func (h *installedHub) logs() string {
	files, _ := filepath.Glob(filepath.Join(hubHome, "logs", "*.log"))
	var b strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if len(data) > 3000 {
			data = data[len(data)-3000:]
		}
		fmt.Fprintf(&b, "\n%s (tail):\n%s", f, data)
	}
	return b.String()
}

// login signs the admin in with password and checks the answer is want.
func (h *installedHub) login(password string, want int) {
	h.t.Helper()
	out := h.client("").must(want, "POST", "/api/v1/auth/login", map[string]string{"email": debAdminEmail, "password": password})
	if want == http.StatusOK {
		if tok, _ := out["token"].(string); tok == "" {
			h.t.Errorf("login answered no token: %v", out)
		}
	}
}

func (h *installedHub) client(token string) *hubClient {
	return &hubClient{t: h.t, base: h.gateway, token: token}
}

// removeInstall leaves the machine as it was before the test: the Hub
// stopped, the packages purged, the Hub's data removed, and the exekra user
// and /opt/exekra gone if the test made them.
func removeInstall(t *testing.T, h *installedHub, createdUser, optExisted bool) {
	if t.Failed() && h.out != nil {
		t.Logf("exekra-hub output:\n%s%s", h.out, h.logs())
	}
	if h.cmd != nil {
		h.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-h.exited:
		case <-time.After(unitStopTimeout):
		}
		h.cmd = nil
	}
	killHubProcesses()
	var installed []string
	for _, pkg := range []string{"exekra-hub", "exekra-runner"} {
		if st := packageStatus(pkg); st != "" && !strings.HasSuffix(st, " not-installed") {
			installed = append(installed, pkg)
		}
	}
	if len(installed) > 0 {
		if out, err := exec.Command("dpkg", append([]string{"--purge"}, installed...)...).CombinedOutput(); err != nil {
			t.Errorf("cleanup: dpkg --purge %v: %v\n%s", installed, err, out)
		}
	}
	for _, dir := range []string{hubHome, runnerHome, "/etc/exekra-runner"} {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
	if !optExisted {
		if err := os.Remove("/opt/exekra"); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cleanup: %v", err)
		}
	}
	if createdUser && userExists("exekra") {
		if out, err := exec.Command("userdel", "exekra").CombinedOutput(); err != nil {
			t.Errorf("cleanup: userdel exekra: %v\n%s", err, out)
		}
	}
	if createdUser {
		if _, err := user.LookupGroup("exekra"); err == nil {
			if out, err := exec.Command("groupdel", "exekra").CombinedOutput(); err != nil {
				t.Errorf("cleanup: groupdel exekra: %v\n%s", err, out)
			}
		}
	}
}
