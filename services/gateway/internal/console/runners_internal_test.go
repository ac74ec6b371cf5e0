package console

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/gin-gonic/gin"
)

func TestHumanBytes(t *testing.T) {
	tests := map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 20 << 30: "20.0 GiB",
		5 << 40: "5.0 TiB", 3 << 60: "3072.0 PiB"}
	for n, want := range tests {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPercentRoundsHalvesUpLikeTheScript(t *testing.T) {
	for p, want := range map[float64]string{0: "0.0 %", 12.5: "12.5 %", 77.25: "77.3 %", 99.96: "100.0 %"} {
		if got := percent(p); got != want {
			t.Errorf("percent(%v) = %q, want %q", p, got, want)
		}
	}
}

func TestAgo(t *testing.T) {
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	tests := map[time.Duration]string{0: "0 s ago", 59 * time.Second: "59 s ago", time.Minute: "1 min ago",
		59*time.Minute + 59*time.Second: "59 min ago", 3*time.Hour + time.Minute: "3 h ago", 49 * time.Hour: "2 d ago",
		-time.Minute: "0 s ago"} // a clock a little ahead
	for d, want := range tests {
		at := now.Add(-d)
		if got := ago(&at, now); got != want {
			t.Errorf("ago(now-%v) = %q, want %q", d, got, want)
		}
	}
	if got := ago(nil, now); got != "never" {
		t.Errorf("ago(nil) = %q", got)
	}
}

func TestSplitLabels(t *testing.T) {
	if got := splitLabels(" linux , gpu ,, x86 "); !slices.Equal(got, []string{"linux", "gpu", "x86"}) {
		t.Fatalf("splitLabels = %q", got)
	}
	if got := splitLabels(" , "); got != nil {
		t.Fatalf("splitLabels of nothing = %q", got)
	}
}

func TestAgentCommand(t *testing.T) {
	tests := []struct {
		name, hub, id, fp, want string
	}{
		{"with a fingerprint", "https://hub.example.com:8443/", "0b7e6c3a-1f2d-4c5b-9a8e-7d6c5b4a3f21", "AB:CD:EF",
			"exekra-runner --hub https://hub.example.com:8443/ --id 0b7e6c3a-1f2d-4c5b-9a8e-7d6c5b4a3f21 --secret-file /etc/exekra-runner/secret --fingerprint AB:CD:EF"},
		{"without one", "http://127.0.0.1:8080/", "r1", "",
			"exekra-runner --hub http://127.0.0.1:8080/ --id r1 --secret-file /etc/exekra-runner/secret"},
		{"odd characters are quoted for the shell", "https://[::1]:8443/", "a b'c$(x)", "",
			`exekra-runner --hub 'https://[::1]:8443/' --id 'a b'\''c$(x)' --secret-file /etc/exekra-runner/secret`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := agentCommand(tt.hub, tt.id, tt.fp); got != tt.want {
				t.Fatalf("agentCommand =\n %s\nwant\n %s", got, tt.want)
			}
		})
	}
}

func TestHubURL(t *testing.T) {
	tests := []struct {
		name, host, proto string
		tls               bool
		want              string
	}{
		{"plain HTTP", "hub.local:8080", "", false, "http://hub.local:8080/"},
		{"TLS", "hub.example.com:8443", "", true, "https://hub.example.com:8443/"},
		{"a proxy that terminates TLS", "hub.example.com", "https", false, "https://hub.example.com/"},
		{"IPv6", "[2001:db8::1]:8443", "", true, "https://[2001:db8::1]:8443/"},
		{"a host that is no host", "evil.example;rm -rf /", "", true, "https://HUB-HOST/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			c.Request = httptest.NewRequest(http.MethodPost, "/runners", nil)
			c.Request.Host = tt.host
			if tt.proto != "" {
				c.Request.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			if tt.tls {
				c.Request.TLS = &tls.ConnectionState{}
			}
			if got := hubURL(c); got != tt.want {
				t.Fatalf("hubURL = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSecretPageShowsTheServedFingerprint(t *testing.T) {
	admin := &identity.Principal{User: identity.User{ID: "u1", Email: "a@example.com", Role: identity.RoleAdmin}}
	fp := "9F:86:D0:81:88:4C:7D:65:9A:2F:EA:A0:C5:5A:D0:15:A3:BF:4F:1B:2B:0B:82:2C:D1:5D:6C:15:B0:F0:0A:08"
	con := &Console{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), CertFingerprint: func() string { return fp },
		Principal: func(*gin.Context) *identity.Principal { return admin }}
	if err := con.parse(); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodPost, "/runners", nil)
	c.Request.Host, c.Request.TLS = "hub.example.com:8443", &tls.ConnectionState{}
	con.showSecret(c, runners.Runner{ID: "r1", Name: "build-01"}, "exk_ms_s3cret", false)
	body := w.Body.String()
	for _, want := range []string{`id="runner-secret">exk_ms_s3cret<`, `id="runner-fingerprint">` + fp + `<`,
		"--hub https://hub.example.com:8443/ --id r1 --secret-file /etc/exekra-runner/secret --fingerprint " + fp + "<"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("headers = %v", w.Header())
	}
}
