package natsrpc_test

import (
	"context"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestOversizedRequestIsPayloadTooLarge pins that a request too large for
// the bus is the caller's 413 with its cause kept, not "the bus is
// unavailable" (a 503 that sends operators looking for an outage).
func TestOversizedRequestIsPayloadTooLarge(t *testing.T) {
	nc := natstest.Conn(t)
	serve(t, nc, testService(nil))
	c, reg := client(nc)
	big := strings.Repeat("x", int(nc.MaxPayload())+1)
	_, err := natsrpc.Call[greeting](context.Background(), c, subjGreet, greetRequest{Name: big})
	if !errs.Is(err, errs.PayloadTooLarge) {
		t.Fatalf("err = %v, want payload_too_large", err)
	}
	if !strings.Contains(err.Error(), subjGreet) || !strings.Contains(err.Error(), "maximum payload") {
		t.Fatalf("err = %v, want the subject and the bus's cause", err)
	}
	if got := testutil.ToFloat64(reg.NATSRequests.WithLabelValues(subjGreet, "payload_too_large")); got != 1 {
		t.Fatalf("payload_too_large calls counted = %v, want 1", got)
	}
}

// TestBusBodiesKeepHTMLCharacters pins that '<', '>' and '&' cross the bus
// as themselves: escaped as \u003c they take six bytes each, and a request
// well within the bus's limit as sent would outgrow it.
func TestBusBodiesKeepHTMLCharacters(t *testing.T) {
	nc := natstest.Conn(t)
	serve(t, nc, testService(nil))
	c, _ := client(nc)
	name := strings.Repeat("<&>", int(nc.MaxPayload())/4)
	got, err := natsrpc.Call[greeting](context.Background(), c, subjGreet, greetRequest{Name: name})
	if err != nil || got.Text != "hello "+name {
		t.Fatalf("Call: %d bytes, %v", len(got.Text), err)
	}
}
