package natsrpc_test

import (
	"context"
	"testing"

	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/testkit/natstest"
)

const subjDeep = "exekra.test.v1.deep"

// deep uses about 8 KiB of stack, as a handler decoding JSON and reading
// PostgreSQL does.
//
//go:noinline
func deep(n int) byte {
	var frame [64]byte
	frame[n%64] = byte(n)
	if n == 0 {
		return frame[0]
	}
	return deep(n-1) + frame[n%64]
}

// BenchmarkServe is one request answered, caller and service in this
// process, with a handler as deep as the services' own.
func BenchmarkServe(b *testing.B) {
	nc := natstest.Conn(b)
	serve(b, nc, natsrpc.Service{Name: "exekra-bench", Version: "1.0.0", Endpoints: []natsrpc.Endpoint{
		natsrpc.Handle(subjDeep, func(_ context.Context, req greetRequest) (greeting, error) {
			return greeting{Text: req.Name + string(rune('a'+deep(100)%26))}, nil
		}),
	}})
	c, _ := client(nc)
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := natsrpc.Call[greeting](context.Background(), c, subjDeep, greetRequest{Name: "ada"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
