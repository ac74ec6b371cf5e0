package servicecheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/pilot/supervisor"
)

// windowsHome is config.DefaultHome() on Windows.
const windowsHome = `C:\Program Files\Exekra\Hub`

// nssmParams are the parameters `nssm set` accepts in NSSM 2.24 (registry.h
// NSSM_REG_* and settings.h NSSM_NATIVE_*). Later builds add AppEvents,
// AppKillProcessTree, AppRotateDelay, AppTimestampLog, App*CopyAndTruncate
// and AppRedirectHook; the scripts keep to 2.24 so any NSSM since 2014 works.
var nssmParams = map[string]bool{
	"Application": true, "AppParameters": true, "AppDirectory": true, "AppEnvironment": true,
	"AppEnvironmentExtra": true, "AppExit": true, "AppRestartDelay": true, "AppThrottle": true,
	"AppStopMethodSkip": true, "AppStopMethodConsole": true, "AppStopMethodWindow": true,
	"AppStopMethodThreads": true, "AppStdin": true, "AppStdout": true, "AppStderr": true,
	"AppStdinShareMode": true, "AppStdinCreationDisposition": true, "AppStdinFlagsAndAttributes": true,
	"AppStdoutShareMode": true, "AppStdoutCreationDisposition": true, "AppStdoutFlagsAndAttributes": true,
	"AppStderrShareMode": true, "AppStderrCreationDisposition": true, "AppStderrFlagsAndAttributes": true,
	"AppRotateFiles": true, "AppRotateOnline": true, "AppRotateSeconds": true, "AppRotateBytes": true,
	"AppRotateBytesHigh": true, "AppPriority": true, "AppAffinity": true, "AppNoConsole": true,
	"DependOnGroup": true, "DependOnService": true, "Description": true, "DisplayName": true,
	"Environment": true, "ImagePath": true, "Name": true, "ObjectName": true, "Start": true, "Type": true,
}

// nssmNumeric are the parameters stored as a number (REG_DWORD).
var nssmNumeric = map[string]bool{
	"AppRestartDelay": true, "AppThrottle": true, "AppStopMethodSkip": true, "AppStopMethodConsole": true,
	"AppStopMethodWindow": true, "AppStopMethodThreads": true, "AppRotateFiles": true, "AppRotateOnline": true,
	"AppRotateSeconds": true, "AppRotateBytes": true, "AppRotateBytesHigh": true, "AppNoConsole": true,
}

// spec is deploy/windows/services.json.
type spec struct {
	About       string   `json:"about"`
	RedisURL    string   `json:"redis_url"`
	Directories []string `json:"directories"`
	Credentials struct {
		About     string   `json:"about"`
		Program   string   `json:"program"`
		Arguments []string `json:"arguments"`
	} `json:"credentials"`
	Firewall struct {
		Name        string `json:"name"`
		DisplayName string `json:"display_name"`
		Port        int    `json:"port"`
		Program     string `json:"program"`
	} `json:"firewall"`
	Recovery struct {
		About        string `json:"about"`
		ResetSeconds int    `json:"reset_seconds"`
		Actions      string `json:"actions"`
	} `json:"recovery"`
	Services []struct {
		Name       string `json:"name"`
		Program    string `json:"program"`
		Parameters string `json:"parameters"`
		Settings   []struct {
			Parameter string   `json:"parameter"`
			Value     []string `json:"value"`
		} `json:"settings"`
	} `json:"services"`
}

// nssmService is one service of the spec as installed in an install dir.
type nssmService struct {
	name, program string
	args          []string            // the program's argv after the program
	settings      map[string][]string // parameter -> value; AppExit as "AppExit <code>"
}

func loadSpec(t testing.TB) spec {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(readRepoFile(t, "deploy/windows/services.json"))))
	dec.DisallowUnknownFields()
	var s spec
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("services.json: %v", err)
	}
	return s
}

// render does what Install-ExekraHub.ps1 does with the spec for installDir.
func render(t testing.TB, s spec, installDir string) map[string]nssmService {
	t.Helper()
	expand := func(v string) string { return strings.ReplaceAll(v, "{InstallDir}", installDir) }
	out := map[string]nssmService{}
	for _, svc := range s.Services {
		r := nssmService{name: svc.Name, program: expand(svc.Program), settings: map[string][]string{}}
		r.args = windowsArgs(expand(svc.Parameters))
		for _, set := range svc.Settings {
			key := set.Parameter
			if key == "AppExit" && len(set.Value) > 0 {
				key += " " + set.Value[0]
			}
			if _, dup := r.settings[key]; dup {
				t.Errorf("%s: %s is set twice", svc.Name, key)
			}
			var vals []string
			for _, v := range set.Value {
				vals = append(vals, expand(v))
			}
			r.settings[key] = vals
		}
		out[svc.Name] = r
	}
	return out
}

func TestNSSMSettingsAreValid(t *testing.T) {
	s := loadSpec(t)
	var names []string
	for _, svc := range s.Services {
		names = append(names, svc.Name)
		for _, set := range svc.Settings {
			p, v := set.Parameter, set.Value
			switch {
			case !nssmParams[p]:
				t.Errorf("%s: %q is not a parameter of nssm 2.24", svc.Name, p)
			case p == "Application" || p == "AppParameters":
				t.Errorf("%s: %s comes from program/parameters, not from settings", svc.Name, p)
			case p == "AppExit":
				if len(v) != 2 || (v[0] != "Default" && !isUint(v[0])) || !slices.Contains([]string{"Restart", "Ignore", "Exit", "Suicide"}, v[1]) {
					t.Errorf("%s: AppExit %q: want <code|Default> <Restart|Ignore|Exit|Suicide>", svc.Name, v)
				}
			case p == "Start":
				if len(v) != 1 || !slices.Contains([]string{"SERVICE_AUTO_START", "SERVICE_DELAYED_AUTO_START", "SERVICE_DEMAND_START", "SERVICE_DISABLED"}, v[0]) {
					t.Errorf("%s: Start %q is not a start type", svc.Name, v)
				}
			case nssmNumeric[p]:
				if len(v) != 1 || !isUint(v[0]) {
					t.Errorf("%s: %s %q: want one unsigned number", svc.Name, p, v)
				}
			case len(v) == 0:
				t.Errorf("%s: %s has no value", svc.Name, p)
			}
		}
	}
	// Redis first: the Hub's dependency must exist when the Hub is installed.
	if want := []string{"ExekraHubRedis", "ExekraHubService"}; !slices.Equal(names, want) {
		t.Fatalf("services %q, want exactly %q in that order", names, want)
	}
}

func TestNSSMServicesRunWhatThePilotRuns(t *testing.T) {
	s := loadSpec(t)
	def := config.Default("")
	redisHost, redisPort := hostPort(t, def.Redis.Listen)
	supervisorRedis := redisArgs(t)
	// The pilot's worst-case stop: every child in turn, stop_timeout each
	// (five services, the bundled Redis, the private PostgreSQL).
	worstStop := time.Duration(len(supervisor.Services)+2) * def.Supervisor.StopTimeout.D()

	for _, dir := range []string{windowsHome, `D:\Exekra`, `C:\Exekra Hub`} {
		t.Run(dir, func(t *testing.T) {
			svcs := render(t, s, dir)
			logs := dir + `\` + def.Log.Dir + `\`

			hub := svcs["ExekraHubService"]
			checkEqual(t, "hub program", hub.program, dir+`\bin\exekra-hub.exe`)
			checkArgs(t, "hub arguments", hub.args, []string{"--home", dir})
			checkSetting(t, hub, "AppDirectory", dir)
			checkSetting(t, hub, "AppStdout", logs+"service-hub.log")
			checkSetting(t, hub, "AppStderr", logs+"service-hub.log")
			checkSetting(t, hub, "DependOnService", "ExekraHubRedis")
			if ms := settingNumber(t, hub, "AppStopMethodConsole"); time.Duration(ms)*time.Millisecond < worstStop+5*time.Second {
				t.Errorf("hub AppStopMethodConsole %d ms: the supervisor may need %s (+5 s) to stop its children", ms, worstStop)
			}

			// The bundled Redis lives in runtime\redis: its program, its data,
			// its ACL file and its log, as the supervisor's (children.go redisDir).
			redis := svcs["ExekraHubRedis"]
			redisDir := dir + `\` + strings.ReplaceAll(supervisorRedisDir(t), "/", `\`)
			checkEqual(t, "redis dir", redisDir, dir+`\runtime\redis`)
			checkEqual(t, "redis program", redis.program, redisDir+`\redis-server.exe`)
			checkSetting(t, redis, "AppDirectory", redisDir)
			checkSetting(t, redis, "AppStdout", redisDir+`\redis.log`)
			checkSetting(t, redis, "AppStderr", redisDir+`\redis.log`)
			if !slices.Contains(s.Directories, `{InstallDir}\runtime\redis`) {
				t.Errorf("directories %q lack {InstallDir}\\runtime\\redis", s.Directories)
			}
			got := flagPairs(t, redis.args)
			want := map[string]string{}
			for flag, v := range supervisorRedis {
				switch v {
				case "<bind>":
					v = redisHost
				case "<port>":
					v = redisPort
				case "<dir>":
					v = redisDir
				case "<aclfile>":
					v = redisDir + `\users.acl`
				}
				want[flag] = v
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("redis-server arguments\n got %v\nwant %v (the supervisor's, children.go startRedis)", got, want)
			}
			checkEqual(t, "redis_url", s.RedisURL, "redis://"+def.Redis.Listen+"/0")

			// The credentials step writes the ACL file Redis reads, into the
			// directory every Hub process reads its password from.
			expand := func(v string) string { return strings.ReplaceAll(v, "{InstallDir}", dir) }
			checkEqual(t, "credentials program", expand(s.Credentials.Program), dir+`\bin\exekractl.exe`)
			cred := s.Credentials.Arguments
			if len(cred) == 0 || cred[0] != "credentials" {
				t.Fatalf("credentials arguments %q do not run `exekractl credentials`", cred)
			}
			credFlags := flagPairs(t, cred[1:])
			checkEqual(t, "credentials --redis-acl", expand(credFlags["--redis-acl"]), got["--aclfile"])
			checkEqual(t, "credentials --dir", expand(credFlags["--dir"]), dir+`\`+strings.ReplaceAll(def.Hub.CredentialsDir, "/", `\`))

			for _, svc := range []nssmService{hub, redis} {
				checkSetting(t, svc, "Start", "SERVICE_AUTO_START")
				checkSetting(t, svc, "AppRotateFiles", "1")
				checkSetting(t, svc, "AppRotateOnline", "1")
				checkSetting(t, svc, "AppExit Default", "Default", "Restart")
				if settingNumber(t, svc, "AppRotateBytes") == 0 || settingNumber(t, svc, "AppRestartDelay") == 0 {
					t.Errorf("%s: AppRotateBytes and AppRestartDelay must be set", svc.name)
				}
				// NSSM's only clean stop for a console program is Ctrl-C: it must
				// not be skipped (bit 1), and the program needs its console.
				if settingNumber(t, svc, "AppStopMethodSkip")&1 != 0 {
					t.Errorf("%s: AppStopMethodSkip skips Ctrl-C, the supervisor's clean stop", svc.name)
				}
				if v, ok := svc.settings["AppNoConsole"]; ok && v[0] != "0" {
					t.Errorf("%s: AppNoConsole %s leaves no console for Ctrl-C", svc.name, v[0])
				}
			}
		})
	}
}

func TestNSSMFirewallAndRecovery(t *testing.T) {
	s := loadSpec(t)
	_, port := hostPort(t, config.Default("").Gateway.Listen)
	checkEqual(t, "firewall port", strconv.Itoa(s.Firewall.Port), port)
	checkEqual(t, "firewall program", s.Firewall.Program, `{InstallDir}\bin\exekra-gateway.exe`)
	if !regexp.MustCompile(`^(restart|run|reboot|)/\d+(/(restart|run|reboot|)/\d+){0,2}$`).MatchString(s.Recovery.Actions) || s.Recovery.ResetSeconds <= 0 {
		t.Errorf("recovery %q reset %d: not what sc.exe failure takes", s.Recovery.Actions, s.Recovery.ResetSeconds)
	}
	for _, d := range s.Directories {
		if !strings.HasPrefix(d, `{InstallDir}\`) {
			t.Errorf("directory %q is outside the install dir", d)
		}
	}
}

func TestWindowsDefaultInstallDir(t *testing.T) {
	if !strings.Contains(readRepoFile(t, "libs/config/config.go"), "`"+windowsHome+"`") {
		t.Fatalf("libs/config no longer defaults to %s on Windows: update deploy/windows and this test", windowsHome)
	}
}

func TestWindowsArgs(t *testing.T) {
	tests := []struct {
		name string
		line string
		want []string
	}{
		{"plain words", `--port 16379 --appendonly no`, []string{"--port", "16379", "--appendonly", "no"}},
		{"quoted path with spaces", `--home "C:\Program Files\Exekra\Hub"`, []string{"--home", `C:\Program Files\Exekra\Hub`}},
		{"empty quoted argument", `--save "" --logfile ""`, []string{"--save", "", "--logfile", ""}},
		{"backslashes before a closing quote are halved", `"C:\dir\\" x`, []string{`C:\dir\`, "x"}},
		{"escaped quote", `a\"b`, []string{`a"b`}},
		{"trailing backslash of a quoted path swallows the quote", `"C:\dir\" x`, []string{`C:\dir" x`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := windowsArgs(tt.line); !slices.Equal(got, tt.want) {
				t.Errorf("windowsArgs(%s) = %q, want %q", tt.line, got, tt.want)
			}
		})
	}
}

// windowsArgs splits a command line as the Microsoft C runtime does for a
// program's argv: blanks separate arguments outside quotes; 2n backslashes
// before a quote give n and the quote delimits, 2n+1 give n and a literal
// quote; other backslashes are literal; "" inside quotes is a literal quote.
func windowsArgs(line string) []string {
	var args []string
	var cur strings.Builder
	inQuotes, started := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\':
			n := 0
			for i < len(line) && line[i] == '\\' {
				n++
				i++
			}
			if i < len(line) && line[i] == '"' {
				cur.WriteString(strings.Repeat(`\`, n/2))
				if n%2 == 1 {
					cur.WriteByte('"')
				} else {
					i-- // the quote delimits: handle it next
				}
			} else {
				cur.WriteString(strings.Repeat(`\`, n))
				i--
			}
			started = true
		case c == '"':
			if inQuotes && i+1 < len(line) && line[i+1] == '"' {
				cur.WriteByte('"')
				i++
			} else {
				inQuotes = !inQuotes
			}
			started = true
		case (c == ' ' || c == '\t') && !inQuotes:
			if started {
				args = append(args, cur.String())
				cur.Reset()
				started = false
			}
		default:
			cur.WriteByte(c)
			started = true
		}
	}
	if started {
		args = append(args, cur.String())
	}
	return args
}

// flagPairs turns --flag value ... into a map.
func flagPairs(t testing.TB, args []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	if len(args)%2 != 0 {
		t.Fatalf("arguments %q are not --flag value pairs", args)
	}
	for i := 0; i < len(args); i += 2 {
		if !strings.HasPrefix(args[i], "--") {
			t.Fatalf("argument %q is not a --flag", args[i])
		}
		out[args[i]] = args[i+1]
	}
	return out
}

func checkEqual(t testing.TB, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func checkArgs(t testing.TB, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func checkSetting(t testing.TB, svc nssmService, param string, want ...string) {
	t.Helper()
	got, ok := svc.settings[param]
	if !ok {
		t.Errorf("%s: %s is not set", svc.name, param)
		return
	}
	checkArgs(t, svc.name+" "+param, got, want)
}

func settingNumber(t testing.TB, svc nssmService, param string) uint64 {
	t.Helper()
	v, ok := svc.settings[param]
	if !ok || len(v) != 1 {
		t.Errorf("%s: %s is not set", svc.name, param)
		return 0
	}
	n, err := strconv.ParseUint(v[0], 10, 32)
	if err != nil {
		t.Errorf("%s: %s %q is not a number", svc.name, param, v[0])
	}
	return n
}

func isUint(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}
