package natsrpc

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// TestServeAddsTheServiceAgainAfterItStops stops the micro service behind
// Serve's back (nothing on the wire can: $SRV has no stop verb) and checks
// that Serve adds it again.
func TestServeAddsTheServiceAgainAfterItStops(t *testing.T) {
	nc := natstest.Conn(t)
	added := make(chan micro.Service, 4)
	addService = func(nc *nats.Conn, cfg micro.Config) (micro.Service, error) {
		svc, err := micro.AddService(nc, cfg)
		if err == nil {
			added <- svc
		}
		return svc, err
	}
	t.Cleanup(func() { addService = micro.AddService })

	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	svc := Service{Name: "exekra-readd", Version: "1.0.0", Endpoints: []Endpoint{
		Handle("exekra.readd.v1.ping", func(context.Context, struct{}) (string, error) { return "pong", nil }),
	}}
	go func() { served <- Serve(ctx, nc, slog.New(slog.DiscardHandler), nil, svc) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve() = %v", err)
		}
	}()

	first := next(t, added)
	call(t, nc, "before the stop")
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	second := next(t, added)
	if second.Info().ID == first.Info().ID {
		t.Fatal("the service was not added anew")
	}
	call(t, nc, "after the service was added again")
}

func next(t *testing.T, added <-chan micro.Service) micro.Service {
	t.Helper()
	select {
	case svc := <-added:
		return svc
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not add the micro service within 5s")
		return nil
	}
}

// call retries for a while: the service is handed out before its endpoints are added.
func call(t *testing.T, nc *nats.Conn, when string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := Call[string](context.Background(), NewClient(nc, nil), "exekra.readd.v1.ping", struct{}{})
		if err == nil && got == "pong" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("call %s = %q, %v", when, got, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFlight(t *testing.T) {
	t.Run("enter waits for a free slot", func(t *testing.T) {
		f := newFlight(1)
		f.enter()
		entered := make(chan bool)
		go func() { entered <- f.enter() }()
		select {
		case <-entered:
			t.Fatal("a second request entered a flight of one")
		case <-time.After(50 * time.Millisecond):
		}
		f.leave()
		if !<-entered {
			t.Fatal("the waiting request was refused")
		}
		f.leave()
	})
	t.Run("wait returns only when every request has left", func(t *testing.T) {
		f := newFlight(3)
		f.enter()
		f.enter()
		var mu sync.Mutex
		left := 0
		go func() {
			for range 2 {
				time.Sleep(30 * time.Millisecond)
				mu.Lock()
				left++
				mu.Unlock()
				f.leave()
			}
		}()
		f.wait()
		mu.Lock()
		defer mu.Unlock()
		if left != 2 {
			t.Fatalf("wait returned with %d of 2 requests still in flight", 2-left)
		}
	})
	t.Run("a stopping flight refuses new requests", func(t *testing.T) {
		f := newFlight(2)
		f.wait()
		if f.enter() {
			t.Fatal("a request entered a stopped flight")
		}
	})
	t.Run("a request waiting for a slot is refused when the flight stops", func(t *testing.T) {
		f := newFlight(1)
		f.enter()
		entered := make(chan bool)
		go func() { entered <- f.enter() }()
		time.Sleep(20 * time.Millisecond)
		go func() {
			time.Sleep(20 * time.Millisecond)
			f.leave()
		}()
		f.wait()
		if <-entered {
			t.Fatal("a waiting request entered a stopping flight")
		}
	})
}
