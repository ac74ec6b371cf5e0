package listenaddr

import (
	"net"
	"strings"
	"testing"
)

func TestCheckFree(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	free := freeAddr(t)
	_, freePort, _ := net.SplitHostPort(free)

	tests := []struct {
		name     string
		bindings []Binding
		want     []string // substrings of the error; none means no error
	}{
		{"free addresses pass", []Binding{{"nats.listen", free}, {"redis.listen", freeAddr(t)}}, nil},
		{"an address in use names the key and address",
			[]Binding{{"redis.listen", free}, {"nats.listen", busy.Addr().String()}},
			[]string{"nats.listen " + busy.Addr().String() + ": address already in use"}},
		{"two keys on one address are refused",
			[]Binding{{"gateway.metrics_listen", free}, {"audit.metrics_listen", free}},
			[]string{"gateway.metrics_listen", "audit.metrics_listen", "same port"}},
		{"a wildcard and a loopback address on one port are refused",
			[]Binding{{"gateway.listen", ":" + freePort}, {"runners.metrics_listen", free}},
			[]string{"gateway.listen", "runners.metrics_listen", "same port"}},
		{"a malformed address names the key", []Binding{{"nats.listen", "localhost"}}, []string{"nats.listen", "host:port"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckFree(tt.bindings)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("CheckFree = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckFree = nil, want an error mentioning %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestCheckFreeReleasesTheAddresses(t *testing.T) {
	addr := freeAddr(t)
	if err := CheckFree([]Binding{{"nats.listen", addr}}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("address still held after CheckFree: %v", err)
	}
	ln.Close()
}

func TestDialAddr(t *testing.T) {
	tests := map[string]string{
		":8443":           "127.0.0.1:8443",
		"0.0.0.0:8443":    "127.0.0.1:8443",
		"[::]:8443":       "[::1]:8443",
		"127.0.0.1:14222": "127.0.0.1:14222",
		"10.1.2.3:80":     "10.1.2.3:80",
	}
	for in, want := range tests {
		if got, err := DialAddr(in); err != nil || got != want {
			t.Errorf("DialAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := DialAddr("nope"); err == nil {
		t.Error("DialAddr(nope) = nil error")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
