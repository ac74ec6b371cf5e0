package natsrpc_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exekra/hub/libs/busauth"
	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type greetRequest struct {
	Name string `json:"name"`
}

type greeting struct {
	Text string `json:"text"`
}

const (
	subjGreet  = "exekra.test.v1.greet"
	subjFail   = "exekra.test.v1.fail"
	subjPanic  = "exekra.test.v1.panic"
	subjCaller = "exekra.test.v1.caller"
)

// failures maps a request name to the error the fail endpoint returns.
var failures = map[string]error{
	"not found": errs.E(errs.NotFound, "runner r1 not found"),
	"wrapped":   fmt.Errorf("find runner: %w", errs.Wrap(errs.Conflict, "name taken", errors.New("unique violation"))),
	"internal":  fmt.Errorf("query runners: password=hunter2 refused"),
	"bad kind":  errs.E(errs.Kind("teapot"), "short and stout"),
	"throttled": errs.Throttled("too many attempts", 2500*time.Millisecond),
}

func testService(seen chan<- caller.Info) natsrpc.Service {
	return natsrpc.Service{
		Name: "exekra-test", Version: "1.0.0",
		Endpoints: []natsrpc.Endpoint{
			natsrpc.Handle(subjGreet, func(_ context.Context, req greetRequest) (greeting, error) {
				return greeting{Text: "hello " + req.Name}, nil
			}),
			natsrpc.Handle(subjFail, func(_ context.Context, req greetRequest) (greeting, error) {
				return greeting{}, failures[req.Name]
			}),
			natsrpc.Handle(subjPanic, func(context.Context, greetRequest) (greeting, error) {
				panic("handler bug: hunter2")
			}),
			natsrpc.Handle(subjCaller, func(ctx context.Context, _ struct{}) (struct{}, error) {
				seen <- caller.From(ctx)
				return struct{}{}, nil
			}),
		},
	}
}

func TestCallRoundTrip(t *testing.T) {
	nc := natstest.Conn(t)
	serve(t, nc, testService(nil))
	c, _ := client(nc)
	got, err := natsrpc.Call[greeting](context.Background(), c, subjGreet, greetRequest{Name: "ada"})
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if got.Text != "hello ada" {
		t.Fatalf("reply = %+v, want hello ada", got)
	}
}

func TestErrorsCrossTheWire(t *testing.T) {
	nc := natstest.Conn(t)
	srv := serve(t, nc, testService(nil))
	c, _ := client(nc)
	tests := []struct {
		name    string
		subject string
		req     any
		kind    errs.Kind
		message string
	}{
		{"a handler's kind and message arrive unchanged", subjFail, greetRequest{"not found"}, errs.NotFound, "runner r1 not found"},
		{"a kind wrapped with fmt arrives without its cause", subjFail, greetRequest{"wrapped"}, errs.Conflict, "name taken"},
		{"an internal error arrives with a generic message", subjFail, greetRequest{"internal"}, errs.Internal, "internal error; see the Hub logs"},
		{"a kind the client does not know arrives as internal", subjFail, greetRequest{"bad kind"}, errs.Internal, "short and stout"},
		{"a wrongly typed field is an invalid argument", subjGreet, map[string]any{"name": 7}, errs.InvalidArgument, "malformed request"},
		{"a panicking handler is an internal error", subjPanic, greetRequest{}, errs.Internal, "internal error; see the Hub logs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := natsrpc.Call[greeting](context.Background(), c, tt.subject, tt.req)
			if !errs.Is(err, tt.kind) {
				t.Fatalf("Call() error = %v, want kind %s", err, tt.kind)
			}
			var e *errs.Error
			if !errors.As(err, &e) || e.Message != tt.message {
				t.Fatalf("Call() error = %v, want message %q", err, tt.message)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "unique violation") {
				t.Fatalf("Call() error %q leaks the cause", err)
			}
		})
	}
	t.Run("a throttled error arrives with its retry delay", func(t *testing.T) {
		_, err := natsrpc.Call[greeting](context.Background(), c, subjFail, greetRequest{"throttled"})
		if !errs.Is(err, errs.RateLimited) || errs.RetryAfter(err) != 2500*time.Millisecond {
			t.Fatalf("Call() error = %v, retry after %v", err, errs.RetryAfter(err))
		}
	})
	t.Run("causes of internal errors are logged by the service", func(t *testing.T) {
		logs := srv.log.String()
		if !strings.Contains(logs, "password=hunter2 refused") || !strings.Contains(logs, "panic in "+subjPanic) {
			t.Fatalf("service log lacks the causes:\n%s", logs)
		}
	})
	t.Run("the service keeps serving after a panic", func(t *testing.T) {
		if _, err := natsrpc.Call[greeting](context.Background(), c, subjGreet, greetRequest{Name: "bo"}); err != nil {
			t.Fatalf("Call after a panic: %v", err)
		}
	})
}

func TestUnansweredCallsAreUnavailable(t *testing.T) {
	nc := natstest.Conn(t)
	c, _ := client(nc)
	slow := natsrpc.Service{Name: "exekra-slow", Version: "1.0.0", Endpoints: []natsrpc.Endpoint{
		natsrpc.Handle("exekra.test.v1.slow", func(ctx context.Context, _ struct{}) (struct{}, error) {
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
			}
			return struct{}{}, nil
		}),
	}}
	serve(t, nc, slow)
	tests := []struct {
		name    string
		subject string
		timeout time.Duration
	}{
		{"a subject nobody serves is unavailable at once", "exekra.nobody.v1.status", 5 * time.Second},
		{"a reply later than the deadline is unavailable", "exekra.test.v1.slow", 200 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			start := time.Now()
			_, err := natsrpc.Call[struct{}](ctx, c, tt.subject, struct{}{})
			if !errs.Is(err, errs.Unavailable) {
				t.Fatalf("Call() error = %v, want unavailable", err)
			}
			if took := time.Since(start); took > tt.timeout+time.Second {
				t.Fatalf("Call() took %s", took)
			}
		})
	}
}

func TestCallerInfoTravelsToTheHandler(t *testing.T) {
	nc := natstest.Conn(t)
	seen := make(chan caller.Info, 1)
	serve(t, nc, testService(seen))
	c, _ := client(nc)
	tests := []struct {
		name string
		sent caller.Info
		want caller.Info
	}{
		{
			name: "request id, actor and source address arrive",
			sent: caller.Info{RequestID: "req-1", SourceIP: "192.0.2.7", Actor: caller.Actor{Type: "user", ID: "u1", Role: "admin", Email: "a@example.com"}},
			want: caller.Info{RequestID: "req-1", SourceIP: "192.0.2.7", Actor: caller.Actor{Type: "user", ID: "u1", Role: "admin", Email: "a@example.com"}},
		},
		{
			name: "a request without caller info comes from an anonymous actor",
			sent: caller.Info{},
			want: caller.Info{Actor: caller.Actor{Type: "anonymous"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.sent != (caller.Info{}) {
				ctx = caller.With(ctx, tt.sent)
			}
			if _, err := natsrpc.Call[struct{}](ctx, c, subjCaller, struct{}{}); err != nil {
				t.Fatal(err)
			}
			if got := <-seen; got != tt.want {
				t.Fatalf("handler saw %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestInstancesShareTheQueueGroup(t *testing.T) {
	s := natstest.Server(t)
	var handled [2]atomic.Int64
	for i := range handled {
		nc := natstest.Connect(t, s.ClientURL())
		serve(t, nc, natsrpc.Service{Name: "exekra-shared", Version: "1.0.0", Endpoints: []natsrpc.Endpoint{
			natsrpc.Handle(subjGreet, func(_ context.Context, req greetRequest) (greeting, error) {
				handled[i].Add(1)
				return greeting{Text: fmt.Sprint(i)}, nil
			}),
		}})
	}
	c, _ := client(natstest.Connect(t, s.ClientURL()))
	const requests = 40
	var wg sync.WaitGroup
	for range requests {
		wg.Go(func() {
			if _, err := natsrpc.Call[greeting](context.Background(), c, subjGreet, greetRequest{}); err != nil {
				t.Errorf("Call: %v", err)
			}
		})
	}
	wg.Wait()
	a, b := handled[0].Load(), handled[1].Load()
	if a+b != requests {
		t.Errorf("instances handled %d+%d requests, want %d in all (each exactly once)", a, b, requests)
	}
	if a == 0 || b == 0 {
		t.Errorf("one instance handled every request (%d, %d); they do not share a queue group", a, b)
	}
}

func TestRequestsAreCounted(t *testing.T) {
	nc := natstest.Conn(t)
	srv := serve(t, nc, testService(nil))
	c, creg := client(nc)
	ctx := context.Background()
	natsrpc.Call[greeting](ctx, c, subjGreet, greetRequest{Name: "a"})
	natsrpc.Call[greeting](ctx, c, subjGreet, greetRequest{Name: "b"})
	natsrpc.Call[greeting](ctx, c, subjFail, greetRequest{Name: "not found"})
	natsrpc.Call[greeting](ctx, c, "exekra.nobody.v1.x", greetRequest{})
	gone, cancel := context.WithCancel(ctx)
	cancel()
	natsrpc.Call[greeting](gone, c, subjGreet, greetRequest{Name: "gone"})
	tests := []struct {
		name    string
		side    string
		subject string
		outcome string
		want    float64
	}{
		{"the client counts successes", "client", subjGreet, "ok", 2},
		{"the client counts errors by kind", "client", subjFail, "not_found", 1},
		{"the client counts unanswered calls", "client", "exekra.nobody.v1.x", "unavailable", 1},
		{"the client counts a call its caller gave up as canceled, not unavailable", "client", subjGreet, "canceled", 1},
		{"a call given up is no unavailable bus", "client", subjGreet, "unavailable", 0},
		{"the service counts successes", "service", subjGreet, "ok", 2},
		{"the service counts errors by kind", "service", subjFail, "not_found", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := creg
			if tt.side == "service" {
				reg = srv.reg
			}
			// The service counts after it replies; give it a moment.
			deadline := time.Now().Add(2 * time.Second)
			for {
				got := testutil.ToFloat64(reg.NATSRequests.WithLabelValues(tt.subject, tt.outcome))
				if got == tt.want {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s count{%s,%s} = %v, want %v", tt.side, tt.subject, tt.outcome, got, tt.want)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

func TestServeStopsGracefully(t *testing.T) {
	nc := natstest.Conn(t)
	started := make(chan struct{})
	var finished atomic.Bool
	srv := serve(t, nc, natsrpc.Service{Name: "exekra-graceful", Version: "1.0.0", Endpoints: []natsrpc.Endpoint{
		natsrpc.Handle(subjGreet, func(ctx context.Context, req greetRequest) (greeting, error) {
			close(started)
			select {
			case <-time.After(300 * time.Millisecond):
			case <-ctx.Done():
				return greeting{}, ctx.Err()
			}
			finished.Store(true)
			return greeting{Text: "done"}, nil
		}),
	}})
	c, _ := client(nc)
	reply := make(chan error, 1)
	go func() {
		_, err := natsrpc.Call[greeting](context.Background(), c, subjGreet, greetRequest{})
		reply <- err
	}()
	<-started
	if err := srv.stop(t); err != nil {
		t.Fatalf("Serve() = %v, want nil after its context ended", err)
	}
	t.Run("a request in flight is finished before Serve returns", func(t *testing.T) {
		if !finished.Load() {
			t.Fatal("Serve returned while a request was still being handled")
		}
	})
	t.Run("a request in flight is answered", func(t *testing.T) {
		if err := <-reply; err != nil {
			t.Fatalf("the in-flight call got %v", err)
		}
	})
	t.Run("the service is gone afterwards", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := natsrpc.Call[greeting](ctx, c, subjGreet, greetRequest{})
		if !errs.Is(err, errs.Unavailable) {
			t.Fatalf("Call after stop: %v, want unavailable", err)
		}
	})
}

func TestServeFailsWhenItsConnectionCloses(t *testing.T) {
	s := natstest.Server(t)
	nc := natstest.Connect(t, s.ClientURL())
	srv := serve(t, nc, testService(nil))
	nc.Close()
	select {
	case err := <-srv.done:
		srv.done <- err
		if err == nil || !strings.Contains(err.Error(), "closed") {
			t.Fatalf("Serve() = %v, want an error saying the connection closed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve kept running on a closed connection")
	}
}

func TestServeRefusesABadService(t *testing.T) {
	nc := natstest.Conn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	err := natsrpc.Serve(ctx, nc, discardLog(), nil, natsrpc.Service{Name: "bad name!", Version: "1.0.0"})
	if err == nil || !strings.Contains(err.Error(), "bad name!") {
		t.Fatalf("Serve() = %v, want an error naming the service", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("Serve retried a service that can never start")
	}
}

func TestConnectRefusesBadURLs(t *testing.T) {
	tests := []struct {
		name string
		url  string
		want string
	}{
		{"an empty URL names the setting", "", "EXEKRA_NATS_URL"},
		{"an unreachable server names its URL", "nats://127.0.0.1:1", "127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := natsrpc.Connect(natsrpc.Dial{URL: tt.url, Principal: busauth.Gateway, CredentialsDir: t.TempDir()}, discardLog())
			if err == nil {
				nc.Close()
				t.Fatal("Connect succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Connect() error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// foreign replies with a micro error header the way a service of another
// version might, to check the client's side of the mapping alone.
func TestClientMapsErrorHeaders(t *testing.T) {
	nc := natstest.Conn(t)
	_, err := nc.Subscribe("exekra.foreign.v1.x", func(m *nats.Msg) {
		reply := nats.NewMsg(m.Reply)
		reply.Header.Set(micro.ErrorCodeHeader, string(errs.LicenseLimit))
		reply.Header.Set(micro.ErrorHeader, "runner limit reached")
		m.RespondMsg(reply)
	})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := client(nc)
	_, err = natsrpc.Call[struct{}](context.Background(), c, "exekra.foreign.v1.x", struct{}{})
	if !errs.Is(err, errs.LicenseLimit) || !strings.Contains(err.Error(), "runner limit reached") {
		t.Fatalf("Call() error = %v, want license_limit: runner limit reached", err)
	}
}

// A handler knows when its caller stops waiting, and a request holding
// fields it does not know (a newer caller's) is served, not refused.
func TestCallerDeadlineAndNewerFieldsReachTheHandler(t *testing.T) {
	nc := natstest.Conn(t)
	const subj = "exekra.test.v1.deadline"
	seen := make(chan time.Time, 1)
	serve(t, nc, natsrpc.Service{Name: "exekra-test", Version: "1.0.0", Endpoints: []natsrpc.Endpoint{
		natsrpc.Handle(subj, func(ctx context.Context, req greetRequest) (greeting, error) {
			d, ok := natsrpc.CallerDeadline(ctx)
			if !ok {
				d = time.Time{}
			}
			seen <- d
			return greeting{Text: "hello " + req.Name}, nil
		}),
	}})
	c, _ := client(nc)
	deadline := time.Now().Add(7 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	newer := struct {
		Name  string `json:"name"`
		Added string `json:"added_by_a_newer_release"`
	}{Name: "ada", Added: "x"}
	got, err := natsrpc.Call[greeting](ctx, c, subj, newer)
	if err != nil || got.Text != "hello ada" {
		t.Fatalf("a request with a field the service does not know: %+v, %v", got, err)
	}
	if d := <-seen; d.Sub(deadline).Abs() > time.Millisecond {
		t.Fatalf("the handler saw deadline %s, the caller's is %s", d, deadline)
	}
	if _, err := natsrpc.Call[greeting](context.Background(), c, subj, greetRequest{Name: "bob"}); err != nil {
		t.Fatal(err)
	}
	if d := <-seen; time.Until(d) < natsrpc.DefaultTimeout-time.Second || time.Until(d) > natsrpc.DefaultTimeout {
		t.Fatalf("without a deadline of its own the caller waits DefaultTimeout; the handler saw %s", d)
	}
}
