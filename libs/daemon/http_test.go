package daemon_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/daemon"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/testkit/redistest"
)

// certificate is a self-signed certificate for 127.0.0.1 with serial.
func certificate(t *testing.T, serial int64) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// web is an HTTP service for the tests: /hello answers at once, /slow once
// release is closed; its certificate is whatever cert holds now.
type web struct {
	cert    atomic.Pointer[tls.Certificate]
	entered chan struct{} // a request reached /slow
	release chan struct{}
	deps    *daemon.Deps
}

func newWeb(t *testing.T) *web {
	w := &web{entered: make(chan struct{}, 1), release: make(chan struct{})}
	w.cert.Store(certificate(t, 1))
	return w
}

func (w *web) spec() daemon.Spec {
	return daemon.Spec{
		Name: "gateway", NoDatabase: true, UsesRedis: true,
		HTTP: &daemon.HTTP{
			Listen: func(cfg *config.Config) (string, string) { return "gateway.listen", cfg.Gateway.Listen },
			TLS: func(*config.Config) (*tls.Config, error) {
				return &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return w.cert.Load(), nil }}, nil
			},
			Setup: func(_ context.Context, d *daemon.Deps) (*http.Server, error) {
				if d.DB != nil || d.Redis == nil || d.NATS == nil || d.Started.IsZero() {
					return nil, errors.New("unexpected dependencies")
				}
				w.deps = d
				mux := http.NewServeMux()
				mux.HandleFunc("/hello", func(rw http.ResponseWriter, _ *http.Request) { io.WriteString(rw, "hello") })
				mux.HandleFunc("/slow", func(rw http.ResponseWriter, _ *http.Request) {
					w.entered <- struct{}{}
					<-w.release
					io.WriteString(rw, "done")
				})
				return &http.Server{Handler: mux}, nil
			},
		},
	}
}

// client trusts any certificate and records the one it was shown.
func client(seen *atomic.Int64) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{ForceAttemptHTTP2: true, DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, VerifyConnection: func(cs tls.ConnectionState) error {
			seen.Store(cs.PeerCertificates[0].SerialNumber.Int64())
			return nil
		}}}}
}

// waitHTTPS gets url until it answers.
func waitHTTPS(t *testing.T, c *http.Client, url string, r *running) *http.Response {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := c.Get(url)
		if err == nil {
			return resp
		}
		select {
		case <-r.done:
			t.Fatalf("Run returned before serving: %v", r.err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer within 15s: %v", url, err)
		}
	}
}

func TestHTTPServiceServesUntilCancelled(t *testing.T) {
	metricsAddr, addr := freeAddr(t), freeAddr(t)
	w := newWeb(t)
	token, tokenFile := "daemon-test-metrics-token-0123456789abcdef", filepath.Join(t.TempDir(), "metrics.token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, w.spec(), []string{
		"EXEKRA_NATS_URL=" + natstest.URL(t), "EXEKRA_REDIS_URL=" + redistest.New(t),
		"EXEKRA_GATEWAY_METRICS_LISTEN=" + metricsAddr, "EXEKRA_GATEWAY_LISTEN=" + addr,
		"EXEKRA_METRICS_TOKEN_FILE=" + tokenFile,
		// No database: an unreachable one must not matter.
		"EXEKRA_DATABASE_URL=postgres://exekra@127.0.0.1:1/hub?sslmode=disable", "EXEKRA_DATABASE_CONNECT_TIMEOUT=5s",
	})
	var seen atomic.Int64
	c := client(&seen)
	resp := waitHTTPS(t, c, "https://"+addr+"/hello", r)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	t.Run("it serves HTTPS with HTTP/2", func(t *testing.T) {
		if resp.StatusCode != http.StatusOK || string(body) != "hello" || resp.Proto != "HTTP/2.0" {
			t.Fatalf("GET /hello = %s %s %q", resp.Proto, resp.Status, body)
		}
	})
	t.Run("ready while NATS and Redis answer; no database is checked", func(t *testing.T) {
		rep := readyz(t, metricsAddr, http.StatusOK, r)
		if len(rep.Checks) != 2 || rep.Checks["nats"] != "up" || rep.Checks["redis"] != "up" {
			t.Fatalf("ready report = %+v, want nats and redis up, nothing else", rep)
		}
	})
	t.Run("/metrics and pprof need the token of metrics.token_file", func(t *testing.T) {
		for _, path := range []string{"/metrics", "/debug/pprof/"} {
			for auth, want := range map[string]int{"": http.StatusUnauthorized, "Bearer wrong": http.StatusUnauthorized,
				"Bearer " + token: http.StatusOK} {
				req, _ := http.NewRequest(http.MethodGet, "http://"+metricsAddr+path, nil)
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Errorf("%s with Authorization %q = %d, want %d", path, strings.Replace(auth, token, "<token>", 1), resp.StatusCode, want)
				}
			}
		}
	})
	t.Run("a replaced certificate is served without a restart", func(t *testing.T) {
		if seen.Load() != 1 {
			t.Fatalf("first certificate serial = %d, want 1", seen.Load())
		}
		w.cert.Store(certificate(t, 2))
		resp, err := c.Get("https://" + addr + "/hello")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if seen.Load() != 2 {
			t.Fatalf("serial after the swap = %d, want 2", seen.Load())
		}
	})
	t.Run("stopping lets a request in flight finish, then frees the ports", func(t *testing.T) {
		got := make(chan string, 1)
		go func() {
			resp, err := c.Get("https://" + addr + "/slow")
			if err != nil {
				got <- err.Error()
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			got <- string(b)
		}()
		<-w.entered
		r.cancel()
		select {
		case <-r.done:
			t.Fatalf("Run returned (%v) with a request in flight", r.err)
		case <-time.After(300 * time.Millisecond):
		}
		close(w.release)
		if b := <-got; b != "done" {
			t.Fatalf("the request in flight got %q, want done", b)
		}
		if err := r.wait(t, 5*time.Second); err != nil {
			t.Fatalf("Run() = %v, want nil", err)
		}
		for _, a := range []string{addr, metricsAddr} {
			ln, err := net.Listen("tcp", a)
			if err != nil {
				t.Fatalf("%s still bound after Run returned: %v", a, err)
			}
			ln.Close()
		}
	})
}

// TestHTTPServiceAnswersLivezOnceWired: the supervisor's start-up waits for
// /livez, so an HTTP service's metrics port answers only once it serves.
func TestHTTPServiceAnswersLivezOnceWired(t *testing.T) {
	metricsAddr := freeAddr(t)
	w := newWeb(t)
	spec := w.spec()
	wiring := make(chan struct{})
	setup := spec.HTTP.Setup
	spec.HTTP.Setup = func(ctx context.Context, d *daemon.Deps) (*http.Server, error) {
		<-wiring
		return setup(ctx, d)
	}
	r := run(t, spec, []string{
		"EXEKRA_NATS_URL=" + natstest.URL(t), "EXEKRA_REDIS_URL=" + redistest.New(t),
		"EXEKRA_GATEWAY_METRICS_LISTEN=" + metricsAddr, "EXEKRA_GATEWAY_LISTEN=127.0.0.1:0",
	})
	var wired sync.Once
	t.Cleanup(func() { wired.Do(func() { close(wiring) }) }) // before run's: Run can stop
	quick := &http.Client{Timeout: 300 * time.Millisecond}
	time.Sleep(500 * time.Millisecond) // Redis and NATS connected by now
	if resp, err := quick.Get("http://" + metricsAddr + "/livez"); err == nil {
		resp.Body.Close()
		t.Fatalf("/livez answered %s before the service was wired", resp.Status)
	}
	wired.Do(func() { close(wiring) })
	readyz(t, metricsAddr, http.StatusOK, r)
}

func TestHTTPServiceFailsClearlyAtStartUp(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	w := newWeb(t)
	badCert := w.spec()
	badCert.HTTP.TLS = func(*config.Config) (*tls.Config, error) { return nil, errors.New("tls.cert_file: no such file") }
	failingSetup := w.spec()
	failingSetup.HTTP.Setup = func(context.Context, *daemon.Deps) (*http.Server, error) { return nil, errors.New("no package store") }
	natsURL, redisURL := natstest.URL(t), redistest.New(t)
	// Unreachable dependencies that would take 5 s to give up on: the
	// listener and the certificate are checked before them.
	unreachable := []string{"EXEKRA_REDIS_URL=redis://127.0.0.1:1/0", "EXEKRA_NATS_URL=nats://127.0.0.1:1", "EXEKRA_DATABASE_CONNECT_TIMEOUT=5s"}
	tests := []struct {
		name    string
		spec    daemon.Spec
		environ []string
		want    []string
	}{
		{"a port in use names its key, before the dependencies", w.spec(),
			append([]string{"EXEKRA_GATEWAY_LISTEN=" + busy.Addr().String()}, unreachable...),
			[]string{"gateway.listen", busy.Addr().String()}},
		{"an unreadable certificate, before the dependencies", badCert, unreachable, []string{"tls.cert_file"}},
		{"an unreachable Redis is named", w.spec(), []string{"EXEKRA_REDIS_URL=redis://127.0.0.1:1/0", "EXEKRA_DATABASE_CONNECT_TIMEOUT=1s"},
			[]string{"Redis at 127.0.0.1:1"}},
		{"a failing setup names the service", failingSetup, []string{"EXEKRA_REDIS_URL=" + redisURL, "EXEKRA_NATS_URL=" + natsURL},
			[]string{"set up gateway", "no package store"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			metricsAddr, addr := freeAddr(t), freeAddr(t)
			environ := append([]string{"EXEKRA_GATEWAY_METRICS_LISTEN=" + metricsAddr, "EXEKRA_GATEWAY_LISTEN=" + addr}, tt.environ...)
			start := time.Now()
			err := run(t, tt.spec, environ).wait(t, 10*time.Second)
			if err == nil {
				t.Fatal("Run() = nil, want an error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Run() error %q does not mention %q", err, want)
				}
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("Run took %s to fail", took)
			}
			for _, a := range []string{metricsAddr, addr} {
				ln, err := net.Listen("tcp", a)
				if err != nil {
					t.Fatalf("%s still bound after Run failed: %v", a, err)
				}
				ln.Close()
			}
		})
	}
}

func TestRunRefusesAContradictorySpec(t *testing.T) {
	w := newWeb(t)
	httpWithSetup := w.spec()
	httpWithSetup.Setup = func(context.Context, *daemon.Deps) ([]natsrpc.Endpoint, error) { return nil, nil }
	outboxWithoutDB := daemon.Spec{Name: "audit", NoDatabase: true, Outbox: true}
	for _, spec := range []daemon.Spec{httpWithSetup, outboxWithoutDB} {
		err := daemon.Run(context.Background(), spec, []string{"--home", home(t)}, nil, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "exekra-"+spec.Name) {
			t.Errorf("Run(%s spec) = %v, want a refusal naming it", spec.Name, err)
		}
	}
}
