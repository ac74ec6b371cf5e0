package natsrpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	neturl "net/url"
	"strings"
	"time"

	"github.com/exekra/hub/libs/busauth"
	"github.com/exekra/hub/libs/config"
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
	// MaxInFlight bounds concurrent requests per instance (default 4096: a
	// waiting long-poll claim holds one for up to a minute).
	MaxInFlight int
}

// addService is micro.AddService; tests replace it to reach the micro service.
var addService = micro.AddService

// Serve runs the service until ctx ends. Then it stops taking requests, answers
// any that still arrive with unavailable, and waits for those in flight (each
// bounded by its Timeout or DefaultTimeout) before it returns, so that a stopping process
// still answers what it accepted. If the micro service is stopped by anything
// else while the connection is open, it is added again. A service that cannot
// be added, or a connection that is closed for good, is an error: the process
// should exit and be restarted rather than sit there serving nothing.
func Serve(ctx context.Context, nc *nats.Conn, log *slog.Logger, reg *metrics.Registry, s Service) error {
	if s.MaxInFlight <= 0 {
		s.MaxInFlight = 4096
	}
	f := newFlight(s.MaxInFlight)
	defer f.wait()
	for {
		svc, done, err := start(ctx, nc, log, reg, f, s)
		if err != nil {
			return err
		}
		log.Info("micro service serving", "name", s.Name, "id", svc.Info().ID)
		select {
		case <-ctx.Done():
			return svc.Stop()
		case <-done:
		}
		if nc.IsClosed() {
			return fmt.Errorf("serve %s: the NATS connection is closed", s.Name)
		}
		log.Warn("micro service stopped by itself; adding it again", "name", s.Name)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func start(ctx context.Context, nc *nats.Conn, log *slog.Logger, reg *metrics.Registry, f *flight, s Service) (micro.Service, <-chan struct{}, error) {
	done := make(chan struct{})
	svc, err := addService(nc, micro.Config{
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
		if err := svc.AddEndpoint(name, handler(ctx, nc, log, reg, f, ep), micro.WithEndpointSubject(ep.Subject)); err != nil {
			svc.Stop()
			return nil, nil, fmt.Errorf("add endpoint %s: %w", ep.Subject, err)
		}
	}
	return svc, done, nil
}

// flight bounds the requests handled at once and lets Serve wait for them.
type flight struct {
	slots    chan struct{}
	stopping chan struct{}
}

func newFlight(max int) *flight {
	return &flight{slots: make(chan struct{}, max), stopping: make(chan struct{})}
}

// enter takes a slot, waiting for one while all are taken; it reports false
// once the service is stopping.
func (f *flight) enter() bool {
	select {
	case <-f.stopping:
		return false
	default:
	}
	select {
	case f.slots <- struct{}{}:
		return true
	case <-f.stopping:
		return false
	}
}

func (f *flight) leave() { <-f.slots }

// wait refuses new requests and returns when none is in flight.
func (f *flight) wait() {
	close(f.stopping)
	for range cap(f.slots) {
		f.slots <- struct{}{}
	}
}

// Dial is how a process reaches NATS.
type Dial struct {
	URL       string            // nats.url: one or more, comma-separated
	Principal busauth.Principal // who the process is on the bus
	// CredentialsDir holds the principal's NKey seed (busauth.SeedFile).
	// Without one the process connects with no key, and a server that
	// requires keys refuses it.
	CredentialsDir string
	CAFile         string // CA of tls:// servers; empty: the system's roots
}

// DialOf is how process p of cfg's install reaches NATS.
func DialOf(cfg *config.Config, p busauth.Principal) Dial {
	return Dial{URL: cfg.NATS.URL, Principal: p, CredentialsDir: cfg.Path(cfg.Hub.CredentialsDir), CAFile: cfg.Path(cfg.NATS.CAFile)}
}

// Connect connects as d's principal, reconnecting for ever after a loss.
func Connect(d Dial, log *slog.Logger) (*nats.Conn, error) {
	if d.URL == "" {
		return nil, fmt.Errorf("no NATS URL: set nats.url (EXEKRA_NATS_URL)")
	}
	auth, authenticated, err := busauth.ClientOptions(d.Principal, d.CredentialsDir)
	if err != nil {
		return nil, err
	}
	if !authenticated {
		log.Warn("no NATS key: connecting without credentials (a Hub NATS server refuses that)",
			"key_file", busauth.SeedFile(d.CredentialsDir, d.Principal))
	}
	opts := append(auth,
		nats.Name("exekra-"+string(d.Principal)),
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
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Error("NATS refused an operation", "subscription", subject, "err", err)
		}),
	)
	if d.CAFile != "" {
		opts = append(opts, nats.RootCAs(d.CAFile))
	}
	nc, err := nats.Connect(d.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("NATS at %s as %s: %w", redact(d.URL), d.Principal, err)
	}
	return nc, nil
}

// redact drops passwords from NATS URLs for messages.
func redact(urls string) string {
	var out []string
	for _, u := range strings.Split(urls, ",") {
		if parsed, err := neturl.Parse(strings.TrimSpace(u)); err == nil {
			out = append(out, parsed.Redacted())
		} else {
			out = append(out, "(malformed URL)")
		}
	}
	return strings.Join(out, ",")
}

// errNotConnected is Connected's answer while the connection is down.
var errNotConnected = errors.New("NATS is not connected")

// Connected reports whether nc is connected now (not reconnecting, not
// closed): the NATS check of a process's /readyz.
func Connected(nc *nats.Conn) func(context.Context) error {
	return func(context.Context) error {
		if !nc.IsConnected() {
			return errNotConnected
		}
		return nil
	}
}
