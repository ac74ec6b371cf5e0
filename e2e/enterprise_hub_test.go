package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/exekra/hub/libs/busauth"
	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/redisdb"
)

// services are the Hub's processes in the enterprise layout, each run twice.
var services = []string{"identity", "licensing", "runners", "audit", "gateway"}

// instance is one Hub process with its own install dir, started with the
// layout's hub-config.json and env files, as exekra@<service> would be.
type instance struct {
	t       testing.TB
	service string
	n       int
	bin     string // the programs' dir
	home    string
	env     []string
	metrics string // its metrics_listen
	listen  string // gateway.listen (gateways only)
	out     *syncBuffer
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
}

func (in *instance) name() string { return fmt.Sprintf("%s-%d", in.service, in.n) }

func (in *instance) start() {
	in.t.Helper()
	in.mu.Lock()
	defer in.mu.Unlock()
	cmd := exec.Command(filepath.Join(in.bin, "exekra-"+in.service), "--home", in.home)
	cmd.Env, cmd.Stdout, cmd.Stderr = in.env, in.out, in.out
	if err := cmd.Start(); err != nil {
		in.t.Fatalf("start %s: %v", in.name(), err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	in.cmd, in.exited = cmd, exited
}

// kill is a crash: SIGKILL, no goodbye.
func (in *instance) kill() {
	in.mu.Lock()
	cmd, exited := in.cmd, in.exited
	in.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	cmd.Process.Kill()
	<-exited
}

// stop is the service manager's stop: SIGTERM, then the wait for the
// process to finish its work and exit.
func (in *instance) stop(t testing.TB, within time.Duration) {
	t.Helper()
	in.mu.Lock()
	cmd, exited := in.cmd, in.exited
	in.mu.Unlock()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(within):
		t.Fatalf("%s did not stop within %s of SIGTERM", in.name(), within)
	}
}

func (in *instance) running() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.exited == nil {
		return false
	}
	select {
	case <-in.exited:
		return false
	default:
		return true
	}
}

// waitReady waits for the instance's /readyz, as a load balancer's or
// Prometheus' check would.
func (in *instance) waitReady(t testing.TB, within time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	waitFor(t, within, in.name()+" ready", func() bool {
		if !in.running() {
			t.Fatalf("%s exited:\n%s\n%s", in.name(), tail(in.out.String(), 2000), in.logTail(3000))
		}
		resp, err := client.Get("http://" + in.metrics + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// logTail is the end of the instance's own log file.
func (in *instance) logTail(n int) string {
	data, err := os.ReadFile(filepath.Join(in.home, "logs", "hub-"+in.service+".log"))
	if err != nil {
		return err.Error()
	}
	return tail(string(data), n)
}

// newInstance lays out the install dir of instance n of service: the
// layout's hub-config.json and the certificate (gateways) or the shared
// checkpoint key (audit) in config/, and the environment of hub.env plus
// <service>.env. Its own ports replace the documented ones; the other
// services' ports in the shared file are unused by it.
func newInstance(t *testing.T, dir, service string, n int, common substitution, gwCert, gwKey string, auditKey []byte, creds string) *instance {
	t.Helper()
	in := &instance{t: t, service: service, n: n, bin: binDir, out: &syncBuffer{}, metrics: serverPort(t),
		home: filepath.Join(dir, fmt.Sprintf("%s-%d", service, n))}
	defaults := config.Default("")
	own := substitution{"0.0.0.0:" + port(defaults.Gateway.Listen): "127.0.0.1:0"}
	for _, s := range services {
		_, addr := defaults.MetricsListen(s)
		own["0.0.0.0:"+port(addr)] = "127.0.0.1:0"
		if s == service {
			own["0.0.0.0:"+port(addr)] = in.metrics
		}
	}
	if service == "gateway" {
		in.listen = serverPort(t)
		own["0.0.0.0:"+port(defaults.Gateway.Listen)] = in.listen
	}
	sub := common.with(own)
	certs := filepath.Join(in.home, "config", "certs")
	if err := os.MkdirAll(certs, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(path string, data []byte, mode os.FileMode) {
		if err := os.WriteFile(path, data, mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(in.home, config.FileName), []byte(sub.render(t, "hub-config.json", readLayoutFile(t, "hub-config.json"))), 0o644)
	// Only this service's own NATS key and Redis password, as the guide says.
	ownCreds := filepath.Join(in.home, "var", "credentials")
	if err := os.MkdirAll(ownCreds, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{busauth.SeedFile(creds, busauth.Principal(service)), redisdb.PasswordFile(creds, redisdb.User(service))} {
		data, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) && strings.HasSuffix(f, ".password") {
			continue // licensing and audit use no Redis
		}
		if err != nil {
			t.Fatal(err)
		}
		write(filepath.Join(ownCreds, filepath.Base(f)), data, 0o600)
	}
	switch service {
	case "gateway":
		for src, dst := range map[string]string{gwCert: "hub.crt", gwKey: "hub.key"} {
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			write(filepath.Join(certs, dst), data, 0o600)
		}
	case "audit":
		write(filepath.Join(in.home, "config", "audit-signing.key"), auditKey, 0o600)
	}
	in.env = config.WithoutSettings(os.Environ())
	for _, f := range []string{"hub.env", service + ".env"} {
		in.env = append(in.env, envFile(t, f, sub.render(t, f, readLayoutFile(t, "env", f)))...)
	}
	t.Cleanup(func() {
		in.kill()
		if t.Failed() {
			t.Logf("%s output:\n%s\nlog (tail):\n%s", in.name(), tail(in.out.String(), 1500), in.logTail(2500))
		}
	})
	return in
}

// newCheckpointKey is an audit checkpoint key as README.md makes it once
// for every audit host: 32 random bytes, base64.
func newCheckpointKey() []byte {
	seed := make([]byte, 32)
	rand.Read(seed)
	return []byte(base64.StdEncoding.EncodeToString(seed) + "\n")
}

// balancer is the test's load balancer in front of the gateways, doing what
// deploy/enterprise/nginx/exekra-hub.conf says nginx does: TLS with the
// shared certificate, round robin, TLS again to the gateways verified
// against that certificate under the public name, X-Forwarded-For, and a
// request passed on to the next gateway when the connection fails (for
// idempotent requests also when the gateway fails after the request was
// sent); a gateway refusing connections is skipped for fail_timeout.
type balancer struct {
	url       string
	backends  []string
	down      []atomic.Int64 // until when (Unix ns) a backend is skipped
	failFor   time.Duration
	next      atomic.Uint64
	transport *http.Transport
	passedOn  atomic.Int64 // requests passed on to another gateway
}

func startBalancer(t *testing.T, up nginxUpstream, backends []string, certFile, keyFile string) *balancer {
	t.Helper()
	if len(up.servers) != len(backends) {
		t.Fatalf("nginx upstream lists %d gateways %v; the test runs %d", len(up.servers), up.servers, len(backends))
	}
	if !strings.Contains(" "+strings.Join(up.nextOn, " ")+" ", " error ") || up.failTimeout <= 0 || up.readTimeout <= 60*time.Second {
		t.Fatalf("nginx config: proxy_next_upstream %v, fail_timeout %s, proxy_read_timeout %s: want error, a fail_timeout and more than the 60 s claim long poll",
			up.nextOn, up.failTimeout, up.readTimeout)
	}
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{backends: backends, down: make([]atomic.Int64, len(backends)), failFor: up.failTimeout,
		transport: &http.Transport{
			TLSClientConfig:       &tls.Config{RootCAs: roots, ServerName: "hub.example", MinVersion: tls.VersionTLS12},
			DialContext:           (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
			ResponseHeaderTimeout: up.readTimeout, MaxIdleConnsPerHost: 32, IdleConnTimeout: 60 * time.Second,
		}}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host
			pr.Out.URL.Scheme, pr.Out.URL.Host = "https", "exekra_gateways"
		},
		Transport:     b,
		FlushInterval: -1,
		ErrorHandler:  func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) },
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Buffered, so that a request can be passed on (nginx buffers small bodies too).
			if r.Body != nil && r.ContentLength != 0 {
				data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 100<<20))
				if err != nil {
					w.WriteHeader(http.StatusRequestEntityTooLarge)
					return
				}
				r.Body = io.NopCloser(bytes.NewReader(data))
				r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
			}
			proxy.ServeHTTP(w, r)
		})}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close(); b.transport.CloseIdleConnections() })
	b.url = "https://" + ln.Addr().String()
	return b
}

// RoundTrip sends req to the gateways in round-robin order, those skipped
// after a failure last, passing it on as proxy_next_upstream error does.
func (b *balancer) RoundTrip(req *http.Request) (*http.Response, error) {
	start := int(b.next.Add(1))
	now := time.Now().UnixNano()
	var order, skipped []int
	for i := range b.backends {
		k := (start + i) % len(b.backends)
		if b.down[k].Load() > now {
			skipped = append(skipped, k)
		} else {
			order = append(order, k)
		}
	}
	var lastErr error
	for i, k := range append(order, skipped...) {
		out := req.Clone(req.Context())
		out.URL.Host = b.backends[k]
		if i > 0 && req.GetBody != nil {
			out.Body, _ = req.GetBody()
		}
		resp, err := b.transport.RoundTrip(out)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		var op *net.OpError
		refused := errors.As(err, &op) && op.Op == "dial"
		if refused {
			b.down[k].Store(time.Now().Add(b.failFor).UnixNano())
		}
		idempotent := req.Method == http.MethodGet || req.Method == http.MethodHead
		if req.Context().Err() != nil || !(refused || idempotent) {
			return nil, err
		}
		b.passedOn.Add(1)
	}
	return nil, lastErr
}
