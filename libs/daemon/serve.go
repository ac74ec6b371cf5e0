package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/contract/health"
	"github.com/exekra/hub/libs/metrics"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/google/uuid"
)

// serveMicro wires a micro service and serves its endpoints until ctx ends,
// then drains NATS.
func (p *process) serveMicro(ctx context.Context) error {
	endpoints, err := p.endpoints(ctx)
	if err != nil {
		return err
	}
	p.metrics.srv.SetReadiness(readiness(p.deps, p.nc)...)
	err = natsrpc.Serve(ctx, p.nc, p.log, p.reg, natsrpc.Service{
		Name: "exekra-" + p.spec.Name, Version: semver(buildinfo.Version), Description: p.spec.Description,
		Endpoints: endpoints, MaxInFlight: p.spec.MaxInFlight,
	})
	p.log.Info("stopping")
	if derr := p.nc.Drain(); derr != nil {
		p.log.Warn("drain NATS", "err", derr)
	}
	return err
}

// endpoints are the service's own, a lost database answered as
// unavailable, and its status endpoint.
func (p *process) endpoints(ctx context.Context) ([]natsrpc.Endpoint, error) {
	var endpoints []natsrpc.Endpoint
	if p.spec.Setup != nil {
		var err error
		if endpoints, err = p.spec.Setup(ctx, p.deps); err != nil {
			return nil, fmt.Errorf("set up %s: %w", p.spec.Name, err)
		}
	}
	for i := range endpoints {
		endpoints[i].Handle = answerUnavailable(endpoints[i].Handle)
	}
	instance := uuid.NewString()
	return append(endpoints, natsrpc.Handle(health.StatusSubject(p.spec.Name),
		func(ctx context.Context, _ health.StatusRequest) (health.Status, error) {
			return status(ctx, p.deps, p.spec.Name, instance, p.started), nil
		})), nil
}

// serveHTTP wires an HTTP service, then serves it (and from then on its
// metrics port) until ctx ends.
func (p *process) serveHTTP(ctx context.Context) error {
	srv, err := p.spec.HTTP.Setup(ctx, p.deps)
	if err != nil {
		return fmt.Errorf("set up %s: %w", p.spec.Name, err)
	}
	srv.TLSConfig = p.tls
	p.metrics.srv.SetReadiness(readiness(p.deps, p.nc)...)
	p.metrics.serve(ctx)
	return p.serveUntilDone(ctx, srv)
}

// serveUntilDone serves srv on the service's port (HTTPS with HTTP/2 when
// srv.TLSConfig is set) until ctx ends, then lets the requests in flight
// finish, for up to ShutdownTimeout.
func (p *process) serveUntilDone(ctx context.Context, srv *http.Server) error {
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(p.ln, "", "") // certificates come from TLSConfig.GetCertificate
			return
		}
		errc <- srv.Serve(p.ln)
	}()
	addr := p.ln.Addr().String()
	p.log.Info(p.spec.Name+" serving", "addr", addr, "startup_ms", time.Since(p.started).Milliseconds())
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serve %s: %w", addr, err)
	case <-ctx.Done():
	}
	p.log.Info("stopping")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		p.log.Warn("shutdown", "err", err)
	}
	return nil
}

// metricsPort serves the metrics listener on its own goroutine.
type metricsPort struct {
	srv    *metrics.Server
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{} // closed when Serve returned; nil until served
}

// serve answers /metrics, /livez and /readyz from now until ctx ends or close.
func (m *metricsPort) serve(ctx context.Context) {
	ctx, m.cancel = context.WithCancel(ctx)
	m.done = make(chan struct{})
	go func() {
		defer close(m.done)
		m.srv.Serve(ctx, m.log)
	}()
}

// close stops serving and frees the port. A port never served is served
// with an ended context, which closes its listener at once.
func (m *metricsPort) close() {
	if m.done == nil {
		ended, cancel := context.WithCancel(context.Background())
		cancel()
		m.serve(ended)
	}
	m.cancel()
	<-m.done
}
