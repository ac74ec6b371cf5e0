package natstest_test

import (
	"context"
	"testing"
	"time"

	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestServerAnswersRequestsAndHasJetStream(t *testing.T) {
	s := natstest.Server(t)
	nc := natstest.Connect(t, s.ClientURL())
	other := natstest.Connect(t, s.ClientURL())
	if _, err := other.Subscribe("echo", func(m *nats.Msg) { m.Respond(m.Data) }); err != nil {
		t.Fatal(err)
	}
	if err := other.Flush(); err != nil {
		t.Fatal(err)
	}
	reply, err := nc.Request("echo", []byte("hi"), 5*time.Second)
	if err != nil {
		t.Fatalf("request through the server: %v", err)
	}
	if string(reply.Data) != "hi" {
		t.Fatalf("reply = %q, want hi", reply.Data)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatalf("JetStream is not enabled: %v", err)
	}
}

func TestServerIsShutDownWhenTheTestEnds(t *testing.T) {
	var url string
	t.Run("serving", func(t *testing.T) {
		url = natstest.URL(t)
		natstest.Connect(t, url)
	})
	if _, err := nats.Connect(url, nats.Timeout(time.Second)); err == nil {
		t.Fatalf("server at %s still accepts connections after its test ended", url)
	}
}
