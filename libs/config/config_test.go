package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeHome(t *testing.T, file, dotenv string) string {
	t.Helper()
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	if file != "" {
		if err := os.WriteFile(filepath.Join(home, FileName), []byte(file), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if dotenv != "" {
		if err := os.WriteFile(filepath.Join(home, ".env"), []byte(dotenv), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return home
}

func TestDefaultFileLoadsToDefaults(t *testing.T) {
	home := writeHome(t, string(DefaultFile()), "")
	c, err := Load(home, nil)
	if err != nil {
		t.Fatalf("Load(default file): %v", err)
	}
	if c.Gateway.Listen != ":8443" || c.Database.ConnectTimeout.D() != 10*time.Second || !c.TLS.SelfSigned {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if !strings.Contains(string(DefaultFile()), "// ") {
		t.Fatal("default file carries no comments")
	}
}

func TestPrecedence(t *testing.T) {
	file := `{
	  // comment with "quotes" and a URL-like http://x
	  "database": {"url": "postgres://file//not-a-comment", "max_conns": 3},
	  "redis": {"url": "redis://file"},
	  "log": {"level": "debug"}
	}`
	dotenv := "# secrets\nEXEKRA_REDIS_URL=\"redis://dotenv\"\nEXEKRA_DATABASE_MAX_CONNS=4\n"
	c, err := Load(writeHome(t, file, dotenv), []string{"EXEKRA_DATABASE_MAX_CONNS=5", "PATH=/bin", "EXEKRA_HUB_HOST_NAMES=a.example, b.example"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.URL != "postgres://file//not-a-comment" {
		t.Errorf("file value lost: %q", c.Database.URL)
	}
	if c.Redis.URL != "redis://dotenv" {
		t.Errorf(".env should override file: %q", c.Redis.URL)
	}
	if c.Database.MaxConns != 5 {
		t.Errorf("environment should override .env: %d", c.Database.MaxConns)
	}
	if got := c.Hub.HostNames; len(got) != 2 || got[1] != "b.example" {
		t.Errorf("list variable: %v", got)
	}
	if c.DatabaseURL("audit") != c.Database.URL {
		t.Errorf("service URL should default to the shared one")
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		environ []string
		want    string
	}{
		{"missing file", "", nil, "not found"},
		{"malformed file", `{"log": `, nil, "not valid JSON"},
		{"unknown top-level key", `{"databse": {"url": "x"}}`, nil, `unknown key "databse"`},
		{"unknown nested key", `{"database": {"ulr": "x"}}`, nil, `unknown key "database.ulr"`},
		{"wrong type", `{"database": {"max_conns": "many"}}`, nil, "key database.max_conns: expected a whole number"},
		{"bad duration", `{"database": {"connect_timeout": "soon"}}`, nil, "database.connect_timeout"},
		{"unknown variable", `{}`, []string{"EXEKRA_DATABASE_ULR=x"}, "EXEKRA_DATABASE_ULR names no known key"},
		{"bad variable value", `{}`, []string{"EXEKRA_GATEWAY_PLAIN_HTTP=maybe"}, "gateway.plain_http"},
		{"invalid address", `{"gateway": {"listen": "8443"}}`, nil, "gateway.listen"},
		{"invalid level", `{"log": {"level": "loud"}}`, nil, "log.level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeHome(t, tt.file, ""), tt.environ)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load() error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestEffectiveMasksSecrets(t *testing.T) {
	c := Default("/x")
	c.Database.URL = "postgres://u:hunter2@h/db"
	eff := c.Effective()
	if eff["database.url"] != "********" {
		t.Fatalf("secret not masked: %v", eff["database.url"])
	}
	if eff["gateway.listen"] != ":8443" {
		t.Fatalf("plain value masked: %v", eff["gateway.listen"])
	}
}

func TestMetricsTokenFileSitsWithTheOtherCredentials(t *testing.T) {
	c, err := Load(writeHome(t, string(DefaultFile()), ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Path(c.Metrics.TokenFile), filepath.Join(c.Path(c.Hub.CredentialsDir), "metrics.token"); got != want {
		t.Errorf("metrics.token_file resolves to %q, want %q beside the bus keys", got, want)
	}
	c, err = Load(writeHome(t, `{"metrics": {"token_file": "config/scrape.token"}}`, ""), []string{"EXEKRA_METRICS_TOKEN_FILE=/etc/exekra/metrics.token"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Path(c.Metrics.TokenFile) != "/etc/exekra/metrics.token" {
		t.Errorf("EXEKRA_METRICS_TOKEN_FILE did not override the file: %q", c.Metrics.TokenFile)
	}
}
