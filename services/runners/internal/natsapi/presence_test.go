package natsapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	contract "github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/services/runners/internal/natsapi"
)

// An instance announces itself every PresenceEvery, and says it stops when it does.
func TestAnnounce(t *testing.T) {
	url := natstest.URL(t)
	listener := natstest.Connect(t, url)
	sub, err := listener.SubscribeSync(contract.SubjectPresence)
	if err != nil {
		t.Fatal(err)
	}
	listener.Flush()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		natsapi.Announce(ctx, natstest.Connect(t, url), "i1", slog.New(slog.DiscardHandler))
		close(done)
	}()
	next := func() contract.Presence {
		t.Helper()
		m, err := sub.NextMsg(3 * contract.PresenceEvery)
		if err != nil {
			t.Fatal(err)
		}
		var p contract.Presence
		if err := json.Unmarshal(m.Data, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := next()
	began := time.Now()
	second := next()
	if first != (contract.Presence{Instance: "i1"}) || second != first {
		t.Fatalf("announcements %+v %+v", first, second)
	}
	if gap := time.Since(began); gap > 2*contract.PresenceEvery {
		t.Errorf("announcements %s apart; want every %s", gap, contract.PresenceEvery)
	}
	cancel()
	<-done
	for {
		if p := next(); p.Stopping {
			if p.Instance != "i1" {
				t.Fatalf("stopping announcement %+v", p)
			}
			break
		}
	}
}
