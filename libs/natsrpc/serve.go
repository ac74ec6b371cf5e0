package natsrpc

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/exekra/hub/libs/metrics"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// Service describes a micro service: its name (the queue group) and endpoints.
type Service struct {
	Name        string
	Version     string
	Description string
	Endpoints   []Endpoint
	// MaxInFlight bounds concurrent requests per instance (default 256).
	MaxInFlight int
}

// Serve runs the service until ctx ends. If the micro service stops by itself
// (for example after its connection was closed and reopened) it is added again.
func Serve(ctx context.Context, nc *nats.Conn, log *slog.Logger, reg *metrics.Registry, s Service) error {
	if s.MaxInFlight <= 0 {
		s.MaxInFlight = 256
	}
	sem := make(chan struct{}, s.MaxInFlight)
	for {
		svc, done, err := start(ctx, nc, log, reg, sem, s)
		if err != nil {
			log.Error("start micro service", "err", err)
		} else {
			log.Info("micro service serving", "name", s.Name, "id", svc.Info().ID)
			select {
			case <-ctx.Done():
				return svc.Stop()
			case <-done:
				log.Warn("micro service stopped by itself; restarting", "name", s.Name)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func start(ctx context.Context, nc *nats.Conn, log *slog.Logger, reg *metrics.Registry, sem chan struct{}, s Service) (micro.Service, <-chan struct{}, error) {
	done := make(chan struct{})
	svc, err := micro.AddService(nc, micro.Config{
		Name:        s.Name,
		Version:     s.Version,
		Description: s.Description,
		DoneHandler: func(micro.Service) { close(done) },
		ErrorHandler: func(_ micro.Service, e *micro.NATSError) {
			log.Error("micro service error", "subject", e.Subject, "err", e.Description)
		},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("add service %s: %w", s.Name, err)
	}
	for _, ep := range s.Endpoints {
		name := strings.NewReplacer(".", "-", "*", "any", ">", "all").Replace(ep.Subject)
		if err := svc.AddEndpoint(name, handler(ctx, log, reg, sem, ep), micro.WithEndpointSubject(ep.Subject)); err != nil {
			svc.Stop()
			return nil, nil, fmt.Errorf("add endpoint %s: %w", ep.Subject, err)
		}
	}
	return svc, done, nil
}

// Connect dials NATS with unlimited reconnects, so a bus restart is survived.
func Connect(url, name string, log *slog.Logger) (*nats.Conn, error) {
	if url == "" {
		return nil, fmt.Errorf("no NATS URL: set nats.url (EXEKRA_NATS_URL)")
	}
	nc, err := nats.Connect(url,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		nats.RetryOnFailedConnect(false),
		nats.Timeout(3*time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("NATS disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("NATS reconnected", "url", c.ConnectedUrlRedacted()) }),
	)
	if err != nil {
		return nil, fmt.Errorf("NATS at %s is unreachable: %w", url, err)
	}
	return nc, nil
}
