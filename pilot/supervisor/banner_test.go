package supervisor

import (
	"testing"

	"github.com/exekra/hub/libs/config"
)

func TestConsoleURL(t *testing.T) {
	tests := []struct {
		name, listen string
		plain        bool
		want         string
	}{
		{"an empty host means this machine", ":8443", false, "https://127.0.0.1:8443/"},
		{"the wildcard means this machine", "0.0.0.0:9443", false, "https://127.0.0.1:9443/"},
		{"a named host is kept", "10.0.0.5:8443", false, "https://10.0.0.5:8443/"},
		{"IPv6 is bracketed", "[::1]:8443", false, "https://[::1]:8443/"},
		{"plain HTTP for tests", "127.0.0.1:8080", true, "http://127.0.0.1:8080/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default("/opt/exekra/hub")
			cfg.Gateway.Listen, cfg.Gateway.PlainHTTP = tt.listen, tt.plain
			if got := consoleURL(cfg); got != tt.want {
				t.Fatalf("consoleURL = %q, want %q", got, tt.want)
			}
		})
	}
}
