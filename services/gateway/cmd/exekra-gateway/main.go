// Command exekra-gateway is the Hub's only user-facing listener: HTTPS API,
// web console and /api/health, translating HTTP to NATS requests.
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/busauth"
	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/logger"
	"github.com/exekra/hub/libs/metrics"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/pkgstore"
	"github.com/exekra/hub/libs/redisdb"
	"github.com/exekra/hub/services/gateway/internal/console"
	"github.com/exekra/hub/services/gateway/internal/healthcheck"
	"github.com/exekra/hub/services/gateway/internal/httpapi"
	"github.com/exekra/hub/services/gateway/internal/tlscert"
	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Environ(), os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "exekra-gateway: %v\n", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args, environ []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("exekra-gateway", flag.ContinueOnError)
	home := fs.String("home", config.DefaultHome(), "install dir (config/, logs/, var/)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Fprintln(stdout, buildinfo.Version)
		return nil
	}
	cfg, err := config.Load(*home, environ)
	if err != nil {
		return err
	}
	log, closer, err := logger.New(cfg, "gateway")
	if err != nil {
		return err
	}
	defer closer.Close()
	started := time.Now()
	log.Info("starting", "version", buildinfo.Version, "home", cfg.Home, "config", cfg.Effective())

	reg := metrics.New("gateway")
	msrv, err := metrics.Listen("gateway.metrics_listen", cfg.Gateway.MetricsListen, reg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Gateway.Listen)
	if err != nil {
		return fmt.Errorf("gateway.listen %s: %w", cfg.Gateway.Listen, err)
	}
	defer ln.Close()
	var certs *tlscert.Source
	if !cfg.Gateway.PlainHTTP {
		if certs, err = tlscert.Open(cfg.Path(cfg.TLS.CertFile), cfg.Path(cfg.TLS.KeyFile), cfg.TLS.SelfSigned, cfg.Hub.HostNames); err != nil {
			return err
		}
		reg.MustRegister(certExpiry(certs))
	}
	rdb, err := redisdb.Open(ctx, cfg.Redis.URL, redisdb.Gateway, cfg.Path(cfg.Hub.CredentialsDir), cfg.Database.ConnectTimeout.D())
	if err != nil {
		return err
	}
	defer rdb.Close()
	nc, err := natsrpc.Connect(natsrpc.DialOf(cfg, busauth.Gateway), log)
	if err != nil {
		return err
	}
	defer nc.Close()
	client := natsrpc.NewClient(nc, reg)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(10*time.Second))
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}

	packages, err := pkgstore.Open(ctx, js, cfg.Audit.StreamReplicas)
	if err != nil {
		return fmt.Errorf("package store: %w", err)
	}
	sessions, err := httpapi.NewSessions(nc, httpapi.SessionTTL)
	if err != nil {
		return err
	}
	checker := &healthcheck.Checker{NATS: client, Redis: rdb, Started: started, Timeout: 2 * time.Second}
	api := &httpapi.Server{
		Log: log, Metrics: reg, NATS: client, Health: checker,
		MaxBodyBytes: cfg.Gateway.MaxBodyBytes, HTTPS: certs != nil, TrustedProxies: cfg.Gateway.TrustedProxies, JS: js, Packages: packages,
		Sessions: sessions,
	}
	con := &console.Console{Log: log, Health: checker, NATS: client, Principal: httpapi.Principal,
		Setup: func(c *gin.Context) (console.SetupState, error) {
			st, err := api.SetupState(c)
			return console.SetupState{Licensed: st.Licensed, Bootstrapped: st.Bootstrapped}, err
		}}
	if certs != nil {
		con.CertFingerprint = func() string { return certFingerprint(certs) }
	}
	var mountErr error
	engine, err := api.Engine(func(e *gin.Engine) { mountErr = con.Mount(e) })
	if err != nil || mountErr != nil {
		return fmt.Errorf("build routes: %w", errors.Join(err, mountErr))
	}
	srv := &http.Server{Handler: engine, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	if certs != nil {
		srv.TLSConfig = certs.Config()
	}
	// The metrics port answers once the gateway is wired: the supervisor's
	// start-up waits for its /livez. /readyz is 200 while NATS and Redis answer.
	msrv.SetReadiness(
		metrics.Check{Name: "nats", Probe: natsrpc.Connected(nc)},
		metrics.Check{Name: "redis", Probe: func(ctx context.Context) error { return redisdb.Ping(ctx, rdb) }},
	)
	mctx, stopMetrics := context.WithCancel(ctx)
	metricsDone := make(chan struct{})
	go func() {
		defer close(metricsDone)
		msrv.Serve(mctx, log)
	}()
	defer func() {
		stopMetrics()
		<-metricsDone
	}()
	return serve(ctx, srv, ln, log, started)
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
