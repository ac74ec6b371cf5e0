package loadgen

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/exekra/hub/libs/busauth"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
)

// Floor is the machine's floor for one Hub API read: a bare gin HTTPS
// handler (the gateway's TLS: a self-signed ECDSA P-256 certificate, TLS
// 1.2 and newer, keep-alive) that makes one NATS request to a responder
// that reads one row by primary key from PostgreSQL. It is every layer a
// Hub read crosses, with none of the Hub's own work (sessions, roles,
// middleware, JSON contracts), so a Hub operation's throughput over the
// floor's says what the Hub's own code costs.
type Floor struct {
	URL string // https://127.0.0.1:port/floor/ ; append a row id (1..FloorRows)
	// Client trusts the floor's certificate and keeps connections alive.
	Client *http.Client

	srv   *http.Server
	pool  *pgxpool.Pool
	req   *nats.Conn // the handler's connection, like the gateway's
	resp  *nats.Conn // the responder's connection, like a service's
	sem   chan struct{}
	ready chan error
}

// FloorRows is how many rows the floor's table holds.
const FloorRows = 1000

// floorSubject is where the floor's responder listens: under licensing's
// operations, so that with the pilot's keys the handler calls it as the
// gateway would and the responder answers as a service does (the licensing
// service itself serves only its own endpoints' subjects).
const floorSubject = "exekra.licensing.v1.bench_floor.read"

// floorSchema is the scratch schema the floor creates and drops.
const floorSchema = "bench_floor"

// StartFloor creates the floor's table in the scratch schema bench_floor of
// databaseURL, connects to NATS at natsURL twice (handler and responder,
// with the gateway's and licensing's keys from credsDir, the pilot's
// hub.credentials_dir) and serves HTTPS on 127.0.0.1. Close undoes all of it.
func StartFloor(ctx context.Context, natsURL, credsDir, databaseURL string, maxConns int) (*Floor, error) {
	f := &Floor{sem: make(chan struct{}, 256)}
	if err := f.open(ctx, natsURL, credsDir, databaseURL, maxConns); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (f *Floor) open(ctx context.Context, natsURL, credsDir, databaseURL string, maxConns int) error {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("floor: database URL: %w", err)
	}
	cfg.MaxConns = int32(maxConns)
	if f.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return fmt.Errorf("floor: database: %w", err)
	}
	if err := createFloorTable(ctx, f.pool); err != nil {
		return err
	}
	if f.resp, err = connectAs(natsURL, credsDir, busauth.Licensing, "exekra-loadgen-floor-responder"); err != nil {
		return err
	}
	if f.req, err = connectAs(natsURL, credsDir, busauth.Gateway, "exekra-loadgen-floor-handler"); err != nil {
		return err
	}
	if _, err := f.resp.QueueSubscribe(floorSubject, "bench-floor", f.respond); err != nil {
		return fmt.Errorf("floor: subscribe: %w", err)
	}
	if err := f.resp.Flush(); err != nil {
		return fmt.Errorf("floor: subscribe: %w", err)
	}
	return f.serve()
}

func createFloorTable(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+floorSchema+` CASCADE;
		CREATE SCHEMA `+floorSchema+`;
		CREATE TABLE `+floorSchema+`.item (id bigint PRIMARY KEY, name text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
		INSERT INTO `+floorSchema+`.item (id, name) SELECT i, 'item-' || i FROM generate_series(1, `+strconv.Itoa(FloorRows)+`) AS i;
		ANALYZE `+floorSchema+`.item;`)
	if err != nil {
		return fmt.Errorf("floor: create %s.item: %w", floorSchema, err)
	}
	return nil
}

// floorRow is what the responder reads and the handler returns.
type floorRow struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	UpdatedAt time.Time `json:"updated_at"`
}

// respond reads the requested row on its own goroutine (at most 256 at
// once), as the Hub's natsrpc endpoints do, and replies with it as JSON.
func (f *Floor) respond(m *nats.Msg) {
	f.sem <- struct{}{}
	reply, data := m.Reply, m.Data
	go func() {
		defer func() { <-f.sem }()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		id, _ := strconv.ParseInt(string(data), 10, 64)
		var row floorRow
		err := f.pool.QueryRow(ctx, `SELECT id, name, updated_at FROM `+floorSchema+`.item WHERE id = $1`, id).
			Scan(&row.ID, &row.Name, &row.UpdatedAt)
		out := []byte(`{"error":"not_found"}`)
		if err == nil {
			out, _ = json.Marshal(row)
		} else if !errors.Is(err, pgx.ErrNoRows) {
			out = []byte(`{"error":"internal"}`)
		}
		f.resp.Publish(reply, out)
	}()
}

// serve starts the HTTPS listener with the bare handler.
func (f *Floor) serve() error {
	cert, err := selfSigned()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("floor: listen: %w", err)
	}
	gin.SetMode(gin.ReleaseMode)
	engine := gin.New()
	engine.GET("/floor/:id", f.handle)
	f.srv = &http.Server{Handler: engine, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}}
	f.ready = make(chan error, 1)
	go func() { f.ready <- f.srv.ServeTLS(ln, "", "") }()

	x, _ := x509.ParseCertificate(cert.Certificate[0])
	roots := x509.NewCertPool()
	roots.AddCert(x)
	f.URL = "https://" + ln.Addr().String() + "/floor/"
	f.Client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots},
		MaxIdleConns:    1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 2 * time.Minute,
	}}
	return nil
}

// handle is the floor's whole handler: one NATS request, its reply as JSON.
func (f *Floor) handle(c *gin.Context) {
	msg, err := f.req.RequestWithContext(c.Request.Context(), floorSubject, []byte(c.Param("id")))
	if err != nil {
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "unavailable"})
		return
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", msg.Data)
}

// Close stops the server, drops the scratch schema and closes the
// connections; it is safe on a half-started floor.
func (f *Floor) Close() error {
	var errs []error
	if f.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, f.srv.Shutdown(ctx))
		cancel()
		if err := <-f.ready; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	for _, nc := range []*nats.Conn{f.req, f.resp} {
		if nc != nil {
			nc.Close()
		}
	}
	if f.pool != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, err := f.pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+floorSchema+` CASCADE`); err != nil {
			errs = append(errs, fmt.Errorf("floor: drop %s: %w", floorSchema, err))
		}
		cancel()
		f.pool.Close()
	}
	return errors.Join(errs...)
}

// selfSigned makes the gateway's kind of certificate: ECDSA P-256, for
// 127.0.0.1 and localhost, in memory.
func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("floor: TLS key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "exekra-loadgen floor"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("floor: certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func connectAs(url, credsDir string, p busauth.Principal, name string) (*nats.Conn, error) {
	auth, _, err := busauth.ClientOptions(p, credsDir)
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	nc, err := nats.Connect(url, append(auth, nats.Name(name))...)
	if err != nil {
		return nil, fmt.Errorf("floor: NATS at %s as %s: %w", url, p, err)
	}
	return nc, nil
}
