package natsrpc_test

import (
	"context"
	"testing"
	"time"

	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/testkit/natstest"
)

func TestEndpointTimeoutBoundsTheHandler(t *testing.T) {
	nc := natstest.Conn(t)
	c, _ := client(nc)
	deadline := func(ctx context.Context, _ struct{}) (time.Duration, error) {
		d, _ := ctx.Deadline()
		return time.Until(d), nil
	}
	long := natsrpc.Handle("exekra.test.v1.long", deadline)
	long.Timeout = time.Minute
	serve(t, nc, natsrpc.Service{Name: "exekra-timeouts", Version: "1.0.0", Endpoints: []natsrpc.Endpoint{
		natsrpc.Handle("exekra.test.v1.default", deadline), long,
	}})
	tests := []struct {
		name     string
		subject  string
		min, max time.Duration
	}{
		{"without a timeout the handler gets DefaultTimeout", "exekra.test.v1.default", natsrpc.DefaultTimeout - 2*time.Second, natsrpc.DefaultTimeout},
		{"with one the handler gets it", "exekra.test.v1.long", time.Minute - 2*time.Second, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			left, err := natsrpc.Call[time.Duration](context.Background(), c, tt.subject, struct{}{})
			if err != nil || left < tt.min || left > tt.max {
				t.Fatalf("handler deadline in %v, %v", left, err)
			}
		})
	}
}
