// Package metrics holds each process's Prometheus registry, the metric vectors
// every process shares, and the server on its own port: /metrics, /livez,
// /readyz and pprof.
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
	}
	reg.MustRegister(r.HTTPRequests, r.HTTPDuration, r.NATSRequests)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "exekra_process_info", Help: "Always 1; labels name the process.", ConstLabels: prometheus.Labels{"process": process},
	}, func() float64 { return 1 }))
	return r
}

// Server serves /metrics, /livez and /readyz on its own listener.
type Server struct {
	srv   *http.Server
	ln    net.Listener
	ready *Readiness
}

// Listen binds addr now, so a port in use is a start-up error naming key.
func Listen(key, addr string, reg *Registry) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", key, addr, err)
	}
	ready := &Readiness{}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	// /livez: the process runs. /readyz: its critical dependencies answer
	// (503 "starting" until SetReadiness).
	mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.Handle("/readyz", ready)
	// Profiles for operators, on the metrics port only (loopback in the pilot).
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln, ready: ready}, nil
}

// SetReadiness sets the checks /readyz probes: the process's critical
// dependencies, wired. Until it is called /readyz answers 503 "starting".
func (s *Server) SetReadiness(checks ...Check) { s.ready.Set(checks...) }

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve runs until ctx ends, then shuts down.
func (s *Server) Serve(ctx context.Context, log *slog.Logger) {
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
