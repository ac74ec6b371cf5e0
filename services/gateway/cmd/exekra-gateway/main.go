// Command exekra-gateway is the Hub's only user-facing listener: HTTPS API,
// web console and /api/health, translating HTTP to NATS requests. It runs on
// libs/daemon like the other services, as an HTTP service with no database.
package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/daemon"
	"github.com/exekra/hub/libs/pkgstore"
	"github.com/exekra/hub/services/gateway/internal/console"
	"github.com/exekra/hub/services/gateway/internal/healthcheck"
	"github.com/exekra/hub/services/gateway/internal/httpapi"
	"github.com/exekra/hub/services/gateway/internal/tlscert"
	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

func main() { daemon.Main(spec()) }

// spec is the gateway as libs/daemon runs it: gateway.listen bound (and the
// certificate read) before Redis and NATS are waited for, Redis and NATS as
// the gateway's own users, no database; /readyz is 200 while NATS and Redis
// answer, and the metrics port answers once the server is wired.
func spec() daemon.Spec {
	g := &gateway{}
	return daemon.Spec{
		Name:        "gateway",
		Description: "HTTPS API, web console and /api/health",
		NoDatabase:  true,
		UsesRedis:   true,
		HTTP: &daemon.HTTP{
			Listen: func(cfg *config.Config) (string, string) { return "gateway.listen", cfg.Gateway.Listen },
			TLS:    g.openTLS,
			Setup:  g.server,
		},
	}
}

// gateway is the process's wiring.
type gateway struct {
	certs *tlscert.Source // nil: plain HTTP (gateway.plain_http)
}

// openTLS opens the certificate source, which follows a replaced certificate
// without a restart, unless gateway.plain_http.
func (g *gateway) openTLS(cfg *config.Config) (*tls.Config, error) {
	if cfg.Gateway.PlainHTTP {
		return nil, nil
	}
	certs, err := tlscert.Open(cfg.Path(cfg.TLS.CertFile), cfg.Path(cfg.TLS.KeyFile), cfg.TLS.SelfSigned, cfg.Hub.HostNames)
	if err != nil {
		return nil, err
	}
	g.certs = certs
	return certs.Config(), nil
}

// server wires the API and the console to NATS (requests, sessions, the
// package store) and Redis.
func (g *gateway) server(ctx context.Context, d *daemon.Deps) (*http.Server, error) {
	if g.certs != nil {
		d.Metrics.MustRegister(certExpiry(g.certs))
	}
	js, err := jetstream.New(d.NATS.Conn(), jetstream.WithPublishAsyncTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	packages, err := pkgstore.Open(ctx, js, d.Config.Audit.StreamReplicas)
	if err != nil {
		return nil, fmt.Errorf("package store: %w", err)
	}
	sessions, err := httpapi.NewSessions(d.NATS.Conn(), httpapi.SessionTTL)
	if err != nil {
		return nil, err
	}
	instances, err := httpapi.NewRunnerInstances(d.NATS.Conn())
	if err != nil {
		return nil, err
	}
	d.Metrics.MustRegister(instances.Collectors()...)
	checker := &healthcheck.Checker{NATS: d.NATS, Redis: d.Redis, Started: d.Started, Timeout: 2 * time.Second}
	api := &httpapi.Server{
		Log: d.Log, Metrics: d.Metrics, NATS: d.NATS, Health: checker,
		MaxBodyBytes: d.Config.Gateway.MaxBodyBytes, HTTPS: g.certs != nil, TrustedProxies: d.Config.Gateway.TrustedProxies,
		JS: js, Packages: packages, Sessions: sessions, Instances: instances,
	}
	var mountErr error
	engine, err := api.Engine(func(e *gin.Engine) { mountErr = g.console(d, api, checker).Mount(e) })
	if err != nil || mountErr != nil {
		return nil, fmt.Errorf("build routes: %w", errors.Join(err, mountErr))
	}
	return &http.Server{Handler: engine, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		HTTP2: http2Config()}, nil
}

// headerTableSize bounds the HPACK dynamic table of each HTTP/2 connection's
// encoder (the gateway's answers). Every runner keeps a connection open, and
// with the default 4 KiB table each connection held about 4 KiB of header
// copies — live heap that the GC then doubles. Headers still go across, only
// less compressed. The decoder's table (the runners' requests) keeps the
// protocol's 4 KiB: a client may fill that much before it has read the
// server's SETTINGS, and a server decoding with a smaller table from the
// start tears such connections down (COMPRESSION_ERROR).
const headerTableSize = 256

// http2Config is the gateway's HTTP/2 settings: Go's defaults but for the
// encoder's header table (headerTableSize).
func http2Config() *http.HTTP2Config {
	return &http.HTTP2Config{MaxEncoderHeaderTableSize: headerTableSize}
}

// console is the web console, beside the API.
func (g *gateway) console(d *daemon.Deps, api *httpapi.Server, checker *healthcheck.Checker) *console.Console {
	con := &console.Console{Log: d.Log, Health: checker, NATS: d.NATS, Principal: httpapi.Principal,
		Setup: func(c *gin.Context) (console.SetupState, error) {
			st, err := api.SetupState(c)
			return console.SetupState{Licensed: st.Licensed, Bootstrapped: st.Bootstrapped}, err
		}}
	if g.certs != nil {
		con.CertFingerprint = func() string { return certFingerprint(g.certs) }
	}
	return con
}

// certExpiry is exekra_tls_certificate_expiry_timestamp_seconds: when the
// certificate served now expires (it follows a rotated certificate), so an
// alert can fire well before.
func certExpiry(certs *tlscert.Source) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "exekra_tls_certificate_expiry_timestamp_seconds",
		Help: "When the gateway's TLS certificate (the one served now) expires, as a Unix time.",
	}, func() float64 { return float64(certs.NotAfter().Unix()) })
}

// certFingerprint is the SHA-256 of the certificate the gateway serves now
// (it follows a rotated certificate), as colon-separated upper-case hex — what
// `openssl x509 -noout -fingerprint -sha256` prints (exekractl's --fingerprint
// takes it with or without colons). "" when no certificate can be read.
func certFingerprint(certs *tlscert.Source) string {
	cert, err := certs.GetCertificate(nil)
	if err != nil || cert == nil || len(cert.Certificate) == 0 {
		return ""
	}
	sum := sha256.Sum256(cert.Certificate[0])
	hex := make([]string, len(sum))
	for i, b := range sum {
		hex[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(hex, ":")
}
