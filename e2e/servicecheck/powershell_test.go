package servicecheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/config"
)

var scripts = []string{"Install-ExekraHub.ps1", "Set-ExekraHubConfig.ps1", "Uninstall-ExekraHub.ps1"}

// psScan is a small PowerShell lexer: enough to find strings, comments and
// brackets, so a script's quotes and brackets can be checked without pwsh.
type psScan struct {
	src  string
	pos  int
	ps7  []string // PowerShell 7-only operators found in code
	line func(int) int
}

// checkPowerShell reports the first unbalanced bracket or unterminated
// string, comment or here-string, and the PowerShell 7-only pipeline chain
// and null-coalescing operators (&& || ??) that Windows PowerShell 5.1 rejects.
func checkPowerShell(src string) (ps7 []string, err error) {
	s := &psScan{src: src, line: func(p int) int { return strings.Count(src[:min(p, len(src))], "\n") + 1 }}
	if err := s.code(0); err != nil {
		return nil, err
	}
	return s.ps7, nil
}

// code scans until closer (0: the end) at bracket depth 0.
func (s *psScan) code(closer byte) error {
	var stack []int // positions of open brackets
	pairs := map[byte]byte{')': '(', '}': '{', ']': '['}
	for s.pos < len(s.src) {
		c, next := s.src[s.pos], s.peek(1)
		switch {
		case c == '`':
			s.pos += 2 // escape, line continuation
			continue
		case c == '<' && next == '#':
			end := strings.Index(s.src[s.pos+2:], "#>")
			if end < 0 {
				return fmt.Errorf("line %d: <# comment never closed", s.line(s.pos))
			}
			s.pos += 2 + end + 2
			continue
		case c == '#' && s.tokenStart():
			for s.pos < len(s.src) && s.src[s.pos] != '\n' {
				s.pos++
			}
			continue
		case c == '@' && (next == '\'' || next == '"') && (s.peek(2) == '\n' || s.peek(2) == '\r'):
			if err := s.hereString(next); err != nil {
				return err
			}
			continue
		case c == '\'':
			if err := s.singleQuoted(); err != nil {
				return err
			}
			continue
		case c == '"':
			if err := s.doubleQuoted(); err != nil {
				return err
			}
			continue
		case (c == '&' || c == '|' || c == '?') && next == c:
			s.ps7 = append(s.ps7, fmt.Sprintf("line %d: %c%c", s.line(s.pos), c, c))
			s.pos += 2
			continue
		case c == '(' || c == '{' || c == '[':
			stack = append(stack, s.pos)
		case c == ')' || c == '}' || c == ']':
			if len(stack) == 0 {
				if c == closer {
					s.pos++
					return nil
				}
				return fmt.Errorf("line %d: %c closes nothing", s.line(s.pos), c)
			}
			if open := s.src[stack[len(stack)-1]]; open != pairs[c] {
				return fmt.Errorf("line %d: %c closes %c of line %d", s.line(s.pos), c, open, s.line(stack[len(stack)-1]))
			}
			stack = stack[:len(stack)-1]
		}
		s.pos++
	}
	if len(stack) > 0 {
		return fmt.Errorf("line %d: %c never closed", s.line(stack[len(stack)-1]), s.src[stack[len(stack)-1]])
	}
	if closer != 0 {
		return fmt.Errorf("end of script inside $( ... )")
	}
	return nil
}

func (s *psScan) peek(n int) byte {
	if s.pos+n < len(s.src) {
		return s.src[s.pos+n]
	}
	return 0
}

// tokenStart reports whether # here begins a comment rather than sitting
// inside a word (a#b is one bareword in PowerShell).
func (s *psScan) tokenStart() bool {
	return s.pos == 0 || strings.IndexByte(" \t\r\n;(){}|&,=", s.src[s.pos-1]) >= 0
}

func (s *psScan) singleQuoted() error {
	start := s.pos
	for s.pos++; s.pos < len(s.src); s.pos++ {
		if s.src[s.pos] == '\'' {
			if s.peek(1) == '\'' { // '' is a quote inside the string
				s.pos++
				continue
			}
			s.pos++
			return nil
		}
	}
	return fmt.Errorf("line %d: ' string never closed", s.line(start))
}

func (s *psScan) doubleQuoted() error {
	start := s.pos
	for s.pos++; s.pos < len(s.src); s.pos++ {
		switch c := s.src[s.pos]; {
		case c == '`':
			s.pos++
		case c == '"' && s.peek(1) == '"': // "" is a quote inside the string
			s.pos++
		case c == '"':
			s.pos++
			return nil
		case c == '$' && s.peek(1) == '(':
			s.pos += 2
			if err := s.code(')'); err != nil {
				return err
			}
			s.pos-- // the loop steps past the ')'
		}
	}
	return fmt.Errorf("line %d: \" string never closed", s.line(start))
}

// hereString skips @'...'@ or @"..."@; the closing mark starts a line.
func (s *psScan) hereString(quote byte) error {
	start := s.pos
	end := strings.Index(s.src[s.pos:], "\n"+string(quote)+"@")
	if end < 0 {
		return fmt.Errorf("line %d: here-string never closed", s.line(start))
	}
	s.pos += end + 3
	return nil
}

func TestPowerShellScanner(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		wantErr string
		wantPS7 int
	}{
		{"balanced script", "if ($a) { Write-Host \"x $($b.c) y\" }\n", "", 0},
		{"missing brace", "foreach ($x in $y) {\n  Write-Host $x\n", "line 1: { never closed", 0},
		{"extra parenthesis", "Write-Host (1 + 2))\n", "line 1: ) closes nothing", 0},
		{"crossed brackets", "@( 1, { 2 ) }\n", "line 1: ) closes {", 0},
		{"quote in a comment is ignored", "# don't\n$a = 1\n", "", 0},
		{"brace in a string is ignored", "$a = '{'; $b = \"}\"\n", "", 0},
		{"quotes inside a subexpression", "\"a $(\"b\" + 'c') d\"\n", "", 0},
		{"unterminated single quote", "$a = 'abc\n", "line 1: ' string never closed", 0},
		{"unterminated double quote", "$a = \"abc\n", "line 1: \" string never closed", 0},
		{"doubled quotes", "'it''s'; \"say \"\"hi\"\"\"\n", "", 0},
		{"here-string with stray brackets", "$t = @'\n{ ( '\n'@\n", "", 0},
		{"block comment", "<# { ' #>\n$a = 1\n", "", 0},
		{"hash inside a word", "$a = a#b\n", "", 0},
		{"PowerShell 7 operators", "a && b; $x ?? 1\n", "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps7, err := checkPowerShell(tt.src)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("checkPowerShell: %v, want error %q", err, tt.wantErr)
			}
			if len(ps7) != tt.wantPS7 {
				t.Errorf("PowerShell 7 operators %q, want %d", ps7, tt.wantPS7)
			}
		})
	}
}

func TestScriptsParse(t *testing.T) {
	for _, name := range scripts {
		t.Run(name, func(t *testing.T) {
			src := readRepoFile(t, "deploy/windows/"+name)
			ps7, err := checkPowerShell(src)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps7) > 0 {
				t.Errorf("Windows PowerShell 5.1 does not know %q", ps7)
			}
			for i, r := range src {
				if r > 0x7e || r < 0x20 && r != '\n' && r != '\r' && r != '\t' {
					// Windows PowerShell 5.1 reads a file without a BOM as ANSI.
					t.Fatalf("byte %d: %q is not printable ASCII", i, r)
				}
			}
			for _, want := range []string{"#Requires -RunAsAdministrator", "Set-StrictMode -Version", "$ErrorActionPreference = 'Stop'",
				"[string] $InstallDir = '" + windowsHome + "'", "[IO.Path]::IsPathRooted($InstallDir)"} {
				if !strings.Contains(src, want) {
					t.Errorf("missing %q", want)
				}
			}
			// sc is Set-Content in PowerShell; the service tool is sc.exe.
			if m := regexp.MustCompile(`(?m)^\s*sc\s`).FindString(src); m != "" {
				t.Errorf("%q runs Set-Content, not sc.exe", m)
			}
			checkServiceNames(t, src)
			checkVariables(t, src)
		})
	}
}

func TestInstallScript(t *testing.T) {
	src := readRepoFile(t, "deploy/windows/Install-ExekraHub.ps1")
	for _, want := range []string{
		"Join-Path $PSScriptRoot 'services.json'", // what the Go tests check is what it installs
		"Invoke-Nssm @('install', $name, $program)",
		"Invoke-Nssm (@('set', $name, $setting.parameter) + $values)",
		"Set-AppParameters $name (Expand-Placeholder $svc.parameters)",
		"-Name AppParameters -PropertyType ExpandString",
		"Set-ExekraHubConfig.ps1') -InstallDir $InstallDir -RedisUrl $spec.redis_url",
		"sc.exe failure $name reset= $spec.recovery.reset_seconds actions= $spec.recovery.actions",
		"$InstallDir.TrimEnd('\\')", // a trailing \ before a closing quote would escape it
	} {
		if !strings.Contains(src, want) {
			t.Errorf("Install-ExekraHub.ps1 no longer has %q", want)
		}
	}
	// Literal `nssm set` parameters in the script are valid ones too.
	for _, m := range regexp.MustCompile(`Invoke-Nssm @\('set', \$\w+, '(\w+)'`).FindAllStringSubmatch(src, -1) {
		if !nssmParams[m[1]] {
			t.Errorf("nssm set %s: not a parameter of nssm 2.24", m[1])
		}
	}
}

func TestSetConfigScript(t *testing.T) {
	s := loadSpec(t)
	src := readRepoFile(t, "deploy/windows/Set-ExekraHubConfig.ps1")
	if !strings.Contains(src, "[string] $RedisUrl = '"+s.RedisURL+"'") {
		t.Errorf("-RedisUrl does not default to %s, the ExekraHubRedis service", s.RedisURL)
	}
	for _, want := range []string{
		config.EnvName("redis.url") + " = $RedisUrl",
		"$settings['" + config.EnvName("database.url") + "'] = $DatabaseUrl",
		"$settings['" + config.EnvName("license.public_keys") + "'] = $LicensePublicKeys",
		"New-Object System.Text.UTF8Encoding $false", // no BOM: the first line must start with EXEKRA_
	} {
		if !strings.Contains(src, want) {
			t.Errorf("Set-ExekraHubConfig.ps1 no longer has %q", want)
		}
	}
}

func TestUninstallScript(t *testing.T) {
	s := loadSpec(t)
	src := readRepoFile(t, "deploy/windows/Uninstall-ExekraHub.ps1")
	m := regexp.MustCompile(`foreach \(\$name in @\(([^)]*)\)\)`).FindStringSubmatch(src)
	if m == nil {
		t.Fatal("no foreach ($name in @('...', '...')) over the services")
	}
	var got []string
	for _, q := range regexp.MustCompile(`'([^']*)'`).FindAllStringSubmatch(m[1], -1) {
		got = append(got, q[1])
	}
	var want []string
	for _, svc := range slices.Backward(s.Services) {
		want = append(want, svc.Name) // dependents first
	}
	if !slices.Equal(got, want) {
		t.Errorf("removes %q, want %q (every service, the Hub before Redis)", got, want)
	}
	for _, want := range []string{
		"Stop-Service -Name $name -Force",
		"& $NssmPath remove $name confirm",
		"Remove-NetFirewallRule -Name '" + s.Firewall.Name + "'",
		"$_ -ne '" + config.EnvName("redis.url") + "=" + s.RedisURL + "'",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("Uninstall-ExekraHub.ps1 no longer has %q", want)
		}
	}
}

func TestNSSMCommandsInDocs(t *testing.T) {
	// Every `nssm set <service> <parameter>` shown in deploy/windows names a
	// parameter NSSM knows and, for the Hub, one of its two services.
	files, err := filepath.Glob(filepath.Join(repo, "deploy", "windows", "*.md"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no docs in deploy/windows: %v", err)
	}
	set := regexp.MustCompile(`(?i)nssm(?:\.exe)?'?\s+set\s+(\S+)\s+(\w+)`)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range set.FindAllStringSubmatch(string(data), -1) {
			if !nssmParams[m[2]] {
				t.Errorf("%s: nssm set %s %s: not a parameter of nssm 2.24", filepath.Base(f), m[1], m[2])
			}
		}
		checkServiceNames(t, string(data))
	}
}

// checkServiceNames catches a misspelt service name: every ExekraHub* word
// (not a script name such as Install-ExekraHub.ps1) is one of the two
// services, the firewall rule or the wildcard for both.
func checkServiceNames(t *testing.T, src string) {
	t.Helper()
	known := []string{"ExekraHubService", "ExekraHubRedis", "ExekraHub-HTTPS-In", "ExekraHub*"}
	for _, m := range regexp.MustCompile(`(?:^|[^\w-])(ExekraHub[\w-]*\*?)`).FindAllStringSubmatch(src, -1) {
		if w := m[1]; !slices.Contains(known, w) {
			t.Errorf("unknown name %q (services: ExekraHubService, ExekraHubRedis)", w)
		}
	}
}

// checkVariables catches a misspelt variable: every $name read in a script
// is assigned, a parameter, a loop variable or automatic.
func checkVariables(t *testing.T, src string) {
	t.Helper()
	defined := map[string]bool{"_": true, "true": true, "false": true, "null": true, "PSScriptRoot": true,
		"LASTEXITCODE": true, "ErrorActionPreference": true, "PSVersionTable": true}
	for _, re := range []string{`\$(\w+)\s*=[^=]`, `\[[\w.\[\]]+\]\s*\$(\w+)`, `foreach \(\$(\w+) in`} {
		for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(src, -1) {
			defined[m[1]] = true
		}
	}
	for _, m := range regexp.MustCompile(`\$(?:script:)?(\w+)`).FindAllStringSubmatch(src, -1) {
		if !defined[m[1]] {
			t.Errorf("$%s is used but never set", m[1])
		}
	}
}
