package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	testID     = "8f0e1c4a-8b7b-4b65-9d64-0c5b7c2d9a10"
	testSecret = "exk_ms_q5Jb1Yx0l1v0m8hH3tQf3g9mW6zA2bC4dE5fG6hI7jK"
)

func writeFile(t *testing.T, name, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParseArgs(t *testing.T) {
	file := writeFile(t, "runner.json", `{"hub":"https://file:8443","id":"`+testID+`","secret_file":"/from/file","fingerprint":"ab"}`, 0o600)
	t.Run("flags win over the config file", func(t *testing.T) {
		cfg, _, err := ParseArgs([]string{"--config", file, "--hub", "https://flag:8443", "--work-dir", "/w"})
		if err != nil || cfg.Hub != "https://flag:8443" || cfg.ID != testID || cfg.SecretFile != "/from/file" || cfg.WorkDir != "/w" || cfg.Fingerprint != "ab" {
			t.Fatalf("%+v, %v", cfg, err)
		}
	})
	t.Run("defaults hold without the file", func(t *testing.T) {
		cfg, _, err := ParseArgs([]string{"--hub", "https://h"})
		if err != nil || cfg.WorkDir != "." || cfg.LogLevel != "info" {
			t.Fatalf("%+v, %v", cfg, err)
		}
	})
	t.Run("an unknown key in the file is refused", func(t *testing.T) {
		bad := writeFile(t, "bad.json", `{"hub":"https://h","secret":"exk_ms_x"}`, 0o600)
		if _, _, err := ParseArgs([]string{"--config", bad}); !isUsage(err) || !strings.Contains(err.Error(), "secret") {
			t.Fatal(err)
		}
	})
	t.Run("an unknown flag is refused", func(t *testing.T) {
		if _, _, err := ParseArgs([]string{"--insecure"}); !isUsage(err) {
			t.Fatal(err)
		}
	})
}

func TestValidate(t *testing.T) {
	ok := Config{Hub: "https://hub.example:8443", ID: testID, SecretFile: "/s"}
	tests := []struct {
		name string
		edit func(*Config)
		msg  string
	}{
		{"no hub", func(c *Config) { c.Hub = "" }, "--hub is required"},
		{"a hub without a scheme", func(c *Config) { c.Hub = "hub.example:8443" }, "https://"},
		{"plain http without --plain-http", func(c *Config) { c.Hub = "http://hub.example" }, "refusing plain http"},
		{"a hub URL with credentials", func(c *Config) { c.Hub = "https://u:p@hub.example" }, "must not hold credentials"},
		{"an id that is not a UUID", func(c *Config) { c.ID = "runner-1" }, "UUID"},
		{"no secret file", func(c *Config) { c.SecretFile = "" }, "--secret-file"},
		{"a short fingerprint", func(c *Config) { c.Fingerprint = "abcd" }, "64 hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			c := ok
			tt.edit(&c)
			if _, err := c.Validate(); !isUsage(err) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("%v, want it to mention %q", err, tt.msg)
			}
		})
	}
	t.Run("plain http with --plain-http and a fingerprint with colons are fine", func(t *testing.T) {
		c := ok
		c.Hub, c.PlainHTTP = "http://127.0.0.1:8080", true
		c.Fingerprint = strings.Repeat("AB:", 31) + "AB"
		if _, err := c.Validate(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestReadSecret(t *testing.T) {
	var warnings []string
	warn := func(m string) { warnings = append(warnings, m) }
	t.Run("the secret is read and trimmed", func(t *testing.T) {
		s, err := readSecret(writeFile(t, "s", testSecret+"\n", 0o600), warn)
		if err != nil || string(s) != testSecret || len(warnings) != 0 {
			t.Fatalf("%v, %v", err, warnings)
		}
	})
	t.Run("a file others may read is warned about", func(t *testing.T) {
		if _, err := readSecret(writeFile(t, "s", testSecret, 0o644), warn); err != nil || len(warnings) != 1 {
			t.Fatalf("%v, %v", err, warnings)
		}
	})
	t.Run("a file without a machine secret is refused, not quoted", func(t *testing.T) {
		_, err := readSecret(writeFile(t, "s", "hunter2-is-not-a-secret", 0o600), warn)
		if !isUsage(err) || strings.Contains(err.Error(), "hunter2") {
			t.Fatal(err)
		}
	})
	t.Run("the secret prints redacted", func(t *testing.T) {
		s := secret(testSecret)
		if s.String() != "[redacted]" || strings.Contains(strings.Join([]string{s.String(), s.GoString()}, ""), "exk_ms_") {
			t.Fatal("secret printed")
		}
	})
}
