package servicecheck

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/pilot/supervisor"
)

const linuxHome = "/opt/exekra/hub"

// unit is a parsed systemd unit file: section -> key -> values in order.
type unit struct {
	name     string
	comments string // the comment lines, joined
	sections map[string]map[string][]string
}

func (u unit) get(section, key string) []string { return u.sections[section][key] }

// last is the effective value of a key set once or overridden.
func (u unit) last(section, key string) (string, bool) {
	v := u.get(section, key)
	if len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

// parseUnit reads the INI-like unit syntax: [Section], Key=Value, # and ;
// comment lines, and a trailing backslash continuing a line.
func parseUnit(t testing.TB, name string) unit {
	t.Helper()
	u := unit{name: name, sections: map[string]map[string][]string{}}
	var comments []string
	section, pending := "", ""
	sc := bufio.NewScanner(strings.NewReader(readRepoFile(t, "deploy/systemd/"+name)))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if pending == "" && (strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";")) {
			comments = append(comments, line)
			continue
		}
		if rest, ok := strings.CutSuffix(line, `\`); ok {
			pending += rest + " "
			continue
		}
		line, pending = pending+line, ""
		switch {
		case line == "":
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			if u.sections[section] == nil {
				u.sections[section] = map[string][]string{}
			}
		case section == "":
			t.Fatalf("%s:%d: %q before any [Section]", name, n, line)
		default:
			key, val, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s:%d: %q is not Key=Value", name, n, line)
			}
			key = strings.TrimSpace(key)
			u.sections[section][key] = append(u.sections[section][key], strings.TrimSpace(val))
		}
	}
	if pending != "" {
		t.Fatalf("%s: the last line ends in a backslash", name)
	}
	u.comments = strings.Join(comments, "\n")
	return u
}

// hardening is what every Hub unit sets, as the runner agent's unit does.
var hardening = map[string]string{
	"NoNewPrivileges": "yes", "CapabilityBoundingSet": "", "AmbientCapabilities": "",
	"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
	"ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes",
	"ProtectControlGroups": "yes", "ProtectClock": "yes", "ProtectHostname": "yes", "ProtectProc": "invisible",
	"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "RestrictNamespaces": "yes", "RestrictRealtime": "yes",
	"RestrictSUIDSGID": "yes", "LockPersonality": "yes", "SystemCallArchitectures": "native",
	"Restart": "on-failure", "KillSignal": "SIGTERM",
}

func TestHubUnits(t *testing.T) {
	def := config.Default("")
	stop := def.Supervisor.StopTimeout.D()
	tests := []struct {
		file       string
		binary     string   // ExecStart's program under bin/
		writable   []string // ReadWritePaths, relative to the install dir
		minStop    time.Duration
		killMode   string
		denyWX     bool // MemoryDenyWriteExecute
		denyLimits bool // SystemCallFilter=~@resources
	}{
		// The supervisor stops its children one after another, stop_timeout
		// each: five services, the bundled Redis, the private PostgreSQL.
		{"exekra-hub.service", "exekra-hub", []string{"config", "logs", "var", "runtime"},
			time.Duration(len(supervisor.Services)+2)*stop + 5*time.Second, "mixed", false, false},
		{"exekra@.service", "exekra-%i", []string{"config", "logs"}, stop, "", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			u := parseUnit(t, tt.file)
			checkArgs(t, "ExecStart", strings.Fields(only(t, u, "Service", "ExecStart")),
				[]string{linuxHome + "/bin/" + tt.binary, "--home", linuxHome})
			for key, want := range hardening {
				if got, ok := u.last("Service", key); !ok || got != want {
					t.Errorf("%s=%q, want %q", key, got, want)
				}
			}
			filters := strings.Join(u.get("Service", "SystemCallFilter"), "\n")
			if !strings.Contains(filters, "@system-service") || !regexp.MustCompile(`(?m)^~.*@privileged`).MatchString(filters) {
				t.Errorf("SystemCallFilter %q: want @system-service and ~@privileged", filters)
			}
			if got := regexp.MustCompile(`(?m)^~.*@resources`).MatchString(filters); got != tt.denyLimits {
				t.Errorf("SystemCallFilter denies @resources: %v, want %v", got, tt.denyLimits)
			}
			if got, _ := u.last("Service", "MemoryDenyWriteExecute"); (got == "yes") != tt.denyWX {
				t.Errorf("MemoryDenyWriteExecute=%q, want set: %v", got, tt.denyWX)
			}
			// The unprivileged user the supervisor would drop PostgreSQL to anyway.
			checkEqual(t, "User", only(t, u, "Service", "User"), def.Database.PrivateOSUser)
			checkEqual(t, "Group", only(t, u, "Service", "Group"), def.Database.PrivateOSUser)
			if _, ok := u.last("Service", "DynamicUser"); ok {
				t.Error("DynamicUser: the install dir's files need a stable owner")
			}
			if got, _ := u.last("Service", "KillMode"); got != tt.killMode {
				t.Errorf("KillMode=%q, want %q", got, tt.killMode)
			}
			if got := systemdDuration(t, only(t, u, "Service", "TimeoutStopSec")); got < tt.minStop {
				t.Errorf("TimeoutStopSec %s: the process may need %s to stop (supervisor.stop_timeout %s)", got, tt.minStop, stop)
			}
			// Runners hold one connection each to the gateway, 10,000 of them.
			if n, err := strconv.Atoi(only(t, u, "Service", "LimitNOFILE")); err != nil || n < 10000+1024 {
				t.Errorf("LimitNOFILE=%d (%v): too few for 10,000 runner connections", n, err)
			}
			var rw []string
			for _, f := range strings.Fields(strings.Join(u.get("Service", "ReadWritePaths"), " ")) {
				rw = append(rw, strings.TrimPrefix(f, "-"))
			}
			var want []string
			for _, d := range tt.writable {
				want = append(want, linuxHome+"/"+d)
			}
			checkArgs(t, "ReadWritePaths", rw, want)
			if len(u.get("Service", "EnvironmentFile")) == 0 {
				t.Error("no EnvironmentFile for secrets")
			}
			for _, key := range []string{"Wants", "After"} {
				if !slices.Contains(strings.Fields(strings.Join(u.get("Unit", key), " ")), "network-online.target") {
					t.Errorf("[Unit] %s lacks network-online.target", key)
				}
			}
			checkEqual(t, "WantedBy", only(t, u, "Install", "WantedBy"), "multi-user.target")
		})
	}
}

func TestHubUnitBinariesExist(t *testing.T) {
	if runtimeHome := config.DefaultHome(); !strings.HasPrefix(runtimeHome, `C:\`) {
		checkEqual(t, "config.DefaultHome", runtimeHome, linuxHome)
	}
	// ExecStart names programs this repository builds.
	dirs := []string{"pilot/cmd/exekra-hub"}
	for _, s := range supervisor.Services {
		dirs = append(dirs, "services/"+s+"/cmd/exekra-"+s)
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(repo, d)); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
}

func TestTemplateInstancesAreTheServices(t *testing.T) {
	u := parseUnit(t, "exekra@.service")
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`exekra@([a-z]+)\b`).FindAllStringSubmatch(u.comments, -1) {
		seen[m[1]] = true
	}
	var got []string
	for name := range seen {
		got = append(got, name)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(supervisor.Services))
	checkArgs(t, "instances named in exekra@.service", got, want)
	checkEqual(t, "AssertFileIsExecutable", only(t, u, "Unit", "AssertFileIsExecutable"), linuxHome+"/bin/exekra-%i")
}

// TestUnitsVerify runs systemd-analyze verify on every unit in deploy/systemd,
// each a copy whose programs point at stand-ins (verify refuses a unit whose
// ExecStart program does not exist). Any output fails the test.
func TestUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not found: the units are checked by parsing only")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	verify := func(unitPath string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, analyze, "verify", "--man=no", unitPath).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	// A unit that must pass: if it does not, verify cannot work here.
	stub(t, bin, "control")
	control := filepath.Join(dir, "servicecheck-control.service")
	writeFile(t, control, "[Unit]\nDescription=control\n[Service]\nExecStart="+bin+"/control\n")
	if out, err := verify(control); err != nil || out != "" {
		t.Skipf("systemd-analyze verify does not work here (%v): %s", err, out)
	}

	units, err := filepath.Glob(filepath.Join(repo, "deploy", "systemd", "*.service"))
	if err != nil || len(units) == 0 {
		t.Fatalf("no units in deploy/systemd: %v", err)
	}
	for _, src := range units {
		name := filepath.Base(src)
		u := parseUnit(t, name)
		program := strings.Fields(only(t, u, "Service", "ExecStart"))[0]
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		copyPath := filepath.Join(dir, name)
		writeFile(t, copyPath, strings.ReplaceAll(string(data), path.Dir(program)+"/", bin+"/"))
		instances := []string{name}
		if prefix, ok := strings.CutSuffix(name, "@.service"); ok {
			instances = nil
			for _, s := range supervisor.Services {
				instances = append(instances, prefix+"@"+s+".service")
			}
		}
		for _, inst := range instances {
			t.Run(inst, func(t *testing.T) {
				_, instance, _ := strings.Cut(strings.TrimSuffix(inst, ".service"), "@")
				stub(t, bin, strings.ReplaceAll(path.Base(program), "%i", instance))
				out, err := verify(filepath.Join(dir, inst))
				t.Logf("systemd-analyze verify %s: %v %q", inst, err, out)
				if err != nil || out != "" {
					t.Errorf("systemd-analyze verify %s: %v\n%s", inst, err, out)
				}
			})
		}
	}
}

// only returns the single value of a key.
func only(t testing.TB, u unit, section, key string) string {
	t.Helper()
	v := u.get(section, key)
	if len(v) != 1 {
		t.Fatalf("%s: [%s] %s is set %d times, want once", u.name, section, key, len(v))
	}
	return v[0]
}

// systemdDuration reads a time span such as 150s, 2min or 90 (seconds).
func systemdDuration(t testing.TB, s string) time.Duration {
	t.Helper()
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second
	}
	d, err := time.ParseDuration(strings.NewReplacer("min", "m", " ", "").Replace(s))
	if err != nil {
		t.Fatalf("time span %q: %v", s, err)
	}
	return d
}

func stub(t testing.TB, dir, name string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, name), "#!/bin/sh\nexit 0\n")
	if err := os.Chmod(filepath.Join(dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
