package e2e

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"github.com/exekra/hub/libs/testkit/freeport"
	"math/big"
	mathrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// enterpriseDir holds the enterprise layout's operator files, which the
// enterprise test runs as written: only the documented host names, ports,
// directories and passwords are replaced by the test's own.
var enterpriseDir = filepath.Join("..", "deploy", "enterprise")

// leftovers are the marks of a documented value the test did not replace:
// a file that gains one (a new host, port or placeholder) fails the test
// until the test knows what to put there.
var leftovers = []string{".hub.example", "CHANGE_ME", "0.0.0.0:", "/var/lib/nats", "/opt/exekra", "10.20.0.",
	"/etc/nats", "/etc/redis", "/var/lib/redis", "6379"}

// readLayoutFile returns a file of deploy/enterprise without its comment
// lines (# or //), whose prose may name hosts the settings do not use.
func readLayoutFile(t testing.TB, parts ...string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(append([]string{enterpriseDir}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for line := range strings.Lines(string(raw)) {
		if s := strings.TrimSpace(line); strings.HasPrefix(s, "#") || strings.HasPrefix(s, "//") {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

// substitution maps documented values to the test's.
type substitution map[string]string

// with returns s plus more (more wins).
func (s substitution) with(more substitution) substitution {
	out := substitution{}
	for k, v := range s {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

// render replaces every documented value in text (longest first) and fails
// when one is left that the test does not know.
func (s substitution) render(t testing.TB, name, text string) string {
	t.Helper()
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	pairs := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		pairs = append(pairs, k, s[k])
	}
	out := strings.NewReplacer(pairs...).Replace(text)
	for _, mark := range leftovers {
		if i := strings.Index(out, mark); i >= 0 {
			line := out[strings.LastIndex(out[:i], "\n")+1:]
			line, _, _ = strings.Cut(line, "\n")
			t.Fatalf("%s: the test does not know what to put for %q in %q", name, mark, line)
		}
	}
	return out
}

// envFile parses KEY=VALUE lines, as systemd's EnvironmentFile does.
func envFile(t testing.TB, name, text string) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		k, _, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(k, "EXEKRA_") {
			t.Fatalf("%s: %q is not an EXEKRA_KEY=value line", name, line)
		}
		out = append(out, line)
	}
	return out
}

// nginxUpstream is what the test's load balancer takes from the nginx
// config: the gateways it balances and how it passes a request on.
type nginxUpstream struct {
	servers     []string      // host:port of each gateway
	failTimeout time.Duration // a refusing gateway is skipped this long
	nextOn      []string      // proxy_next_upstream conditions
	readTimeout time.Duration // proxy_read_timeout
}

var (
	upstreamBlock = regexp.MustCompile(`(?s)upstream\s+exekra_gateways\s*\{(.*?)\}`)
	serverLine    = regexp.MustCompile(`(?m)^\s*server\s+(\S+)([^;]*);`)
	failTimeout   = regexp.MustCompile(`fail_timeout=(\d+)s`)
	nextUpstream  = regexp.MustCompile(`(?m)^\s*proxy_next_upstream\s+([^;]+);`)
	readTimeout   = regexp.MustCompile(`(?m)^\s*proxy_read_timeout\s+(\d+)s;`)
)

func readNginxUpstream(t testing.TB) nginxUpstream {
	t.Helper()
	conf := readLayoutFile(t, "nginx", "exekra-hub.conf")
	block := upstreamBlock.FindStringSubmatch(conf)
	if block == nil {
		t.Fatal("nginx/exekra-hub.conf has no upstream exekra_gateways block")
	}
	var u nginxUpstream
	for _, m := range serverLine.FindAllStringSubmatch(block[1], -1) {
		u.servers = append(u.servers, m[1])
		if ft := failTimeout.FindStringSubmatch(m[2]); ft != nil {
			n, _ := strconv.Atoi(ft[1])
			u.failTimeout = time.Duration(n) * time.Second
		}
	}
	if m := nextUpstream.FindStringSubmatch(conf); m != nil {
		u.nextOn = strings.Fields(m[1])
	}
	if m := readTimeout.FindStringSubmatch(conf); m != nil {
		n, _ := strconv.Atoi(m[1])
		u.readTimeout = time.Duration(n) * time.Second
	}
	return u
}

// selfSigned writes a self-signed certificate for names (DNS names or IP
// addresses) and its key as PEM files, returning their paths.
func selfSigned(t testing.TB, dir, base string, names ...string) (certFile, keyFile string) {
	t.Helper()
	cert, key, _ := newCertificate(t, names...)
	certFile, keyFile = filepath.Join(dir, base+".crt"), filepath.Join(dir, base+".key")
	if err := os.WriteFile(certFile, cert, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// newCertificate makes a self-signed ECDSA P-256 certificate, valid for 90
// days and its own CA, for names (DNS names or IP addresses; the first is
// its common name): the certificate and its key as PEM, and its serial.
func newCertificate(t testing.TB, names ...string) (certPEM, keyPEM []byte, serial *big.Int) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ = rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, // NATS routes present it as a client
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), serial
}

// serverPort returns a loopback address free now, for a server the test
// runs and may restart on the same port. Unlike freePort's, it lies below
// the kernel's ephemeral range, so no outgoing connection (of this test, or
// of a load generator next to it holding thousands) can take it before the
// server binds it. Ports 14000-17999 (the pilot's defaults) and 25432 (the
// test PostgreSQL) are left alone.
func serverPort(t testing.TB) string {
	t.Helper()
	top := 32768
	if raw, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(raw)); len(f) == 2 {
			if lo, err := strconv.Atoi(f[0]); err == nil && lo > 20100 {
				top = lo
			}
		}
	}
	servedPorts.Lock()
	defer servedPorts.Unlock()
	for range 200 {
		p := 20000 + mathrand.IntN(top-20000)
		if p == 25432 || servedPorts.given[p] {
			continue // the test PostgreSQL's, or given out already (maybe not yet bound)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			servedPorts.given[p] = true
			return addr
		}
	}
	return freeport.Addr(t)
}

// servedPorts are the ports serverPort gave out in this test binary.
var servedPorts = struct {
	sync.Mutex
	given map[int]bool
}{given: map[int]bool{}}

// port is the port of a host:port address.
func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
