// Package metrics holds each process's Prometheus registry, the metric vectors
// every process shares, and the server on its own port: /metrics, /livez,
// /readyz and pprof. /metrics and pprof need the bearer token of the
// metrics.token_file setting; /livez and /readyz are open to every prober.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry is one process's metrics.
type Registry struct {
	*prometheus.Registry
	HTTPRequests *prometheus.CounterVec   // exekra_http_requests_total{route,method,code}
	HTTPDuration *prometheus.HistogramVec // exekra_http_request_duration_seconds{route}
	NATSRequests *prometheus.CounterVec   // exekra_nats_requests_total{subject,outcome}
	Refused      *prometheus.CounterVec   // exekra_metrics_refused_total{endpoint,reason}
}

// New returns a registry with Go and process collectors and the shared vectors.
func New(process string) *Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	r := &Registry{
		Registry: reg,
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "exekra_http_requests_total", Help: "HTTP requests served, by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "exekra_http_request_duration_seconds", Help: "HTTP request latency by route template.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route"}),
		NATSRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "exekra_nats_requests_total", Help: "NATS requests, by subject and outcome (ok or the error code).",
		}, []string{"subject", "outcome"}),
		Refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "exekra_metrics_refused_total",
			Help: "Requests to this metrics port refused for want of its bearer token, by endpoint (metrics or pprof) and reason (missing, invalid or no_token_file).",
		}, []string{"endpoint", "reason"}),
	}
	reg.MustRegister(r.HTTPRequests, r.HTTPDuration, r.NATSRequests, r.Refused)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "exekra_process_info", Help: "Always 1; labels name the process.", ConstLabels: prometheus.Labels{"process": process},
	}, func() float64 { return 1 }))
	return r
}

// Server serves /metrics, /livez, /readyz and pprof on its own listener.
type Server struct {
	srv     *http.Server
	ln      net.Listener
	ready   *Readiness
	token   tokenSource
	refused *prometheus.CounterVec
}

// Listen binds addr now, so a port in use is a start-up error naming key.
// /metrics and pprof answer only requests bearing the token held in
// tokenFile (read again on every such request, so it can be rotated); an
// empty tokenFile, or a missing or empty file, refuses them all.
func Listen(key, addr string, reg *Registry, tokenFile string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", key, addr, err)
	}
	s := &Server{ln: ln, ready: &Readiness{}, token: tokenSource{path: tokenFile}, refused: reg.Refused}
	mux := http.NewServeMux()
	mux.Handle("/metrics", s.guard("metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})))
	// /livez: the process runs. /readyz: its critical dependencies answer
	// (503 "starting" until SetReadiness).
	mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.Handle("/readyz", s.ready)
	// Profiles for operators, on the metrics port only, with the same token.
	mux.Handle("/debug/pprof/", s.guard("pprof", http.HandlerFunc(pprof.Index)))
	mux.Handle("/debug/pprof/profile", s.guard("pprof", http.HandlerFunc(pprof.Profile)))
	mux.Handle("/debug/pprof/symbol", s.guard("pprof", http.HandlerFunc(pprof.Symbol)))
	mux.Handle("/debug/pprof/trace", s.guard("pprof", http.HandlerFunc(pprof.Trace)))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return s, nil
}

// SetReadiness sets the checks /readyz probes: the process's critical
// dependencies, wired. Until it is called /readyz answers 503 "starting".
func (s *Server) SetReadiness(checks ...Check) { s.ready.Set(checks...) }

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve runs until ctx ends, then shuts down. It warns first when the token
// file is unset, missing or empty: then every scrape is refused.
func (s *Server) Serve(ctx context.Context, log *slog.Logger) {
	s.warnUnusableToken(log)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s.srv.Shutdown(sctx)
	}()
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("metrics server stopped", "err", err)
	}
}
