package httpapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/nats-io/nats.go"
)

func TestSessions(t *testing.T) {
	srv := natstest.Server(t)
	nc := natstest.Connect(t, srv.ClientURL())
	announcer := natstest.Connect(t, srv.ClientURL())
	clock := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	s, err := NewSessions(nc, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return clock }
	principal := func(userID string, expires time.Time) identity.Principal {
		return identity.Principal{User: identity.User{ID: userID, Role: identity.RoleAdmin}, SessionID: "s-" + userID, ExpiresAt: expires}
	}
	later := clock.Add(time.Hour)
	// announce publishes data and waits until the cache has heard it.
	announce := func(t *testing.T, data string) {
		t.Helper()
		before := uint64(s.Stamp())
		if err := announcer.Publish(identity.SubjectSessionsChanged, []byte(data)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return uint64(s.Stamp()) > before })
	}
	changed := func(t *testing.T, userID string) {
		t.Helper()
		data, _ := json.Marshal(identity.SessionsChanged{UserID: userID})
		announce(t, string(data))
	}

	t.Run("an answer is remembered for the TTL", func(t *testing.T) {
		s.Put("tok-a", principal("u1", later), s.Stamp())
		if p, ok := s.Get("tok-a"); !ok || p.User.ID != "u1" {
			t.Fatalf("Get = %+v, %v", p, ok)
		}
		if _, ok := s.Get("tok-other"); ok {
			t.Fatal("an unknown token was found")
		}
		clock = clock.Add(5 * time.Second)
		if _, ok := s.Get("tok-a"); ok {
			t.Fatal("remembered past the TTL")
		}
	})
	t.Run("never past the session's own end", func(t *testing.T) {
		s.Put("tok-b", principal("u1", clock.Add(2*time.Second)), s.Stamp())
		clock = clock.Add(2 * time.Second)
		if _, ok := s.Get("tok-b"); ok {
			t.Fatal("remembered past the session's end")
		}
	})
	t.Run("an announcement drops that user's sessions only", func(t *testing.T) {
		s.Put("tok-c", principal("u1", later), s.Stamp())
		s.Put("tok-d", principal("u1", later), s.Stamp())
		s.Put("tok-e", principal("u2", later), s.Stamp())
		changed(t, "u1")
		_, c := s.Get("tok-c")
		_, d := s.Get("tok-d")
		_, e := s.Get("tok-e")
		if c || d || !e {
			t.Fatalf("after u1 changed: u1's found %v %v, u2's found %v", c, d, e)
		}
	})
	t.Run("an answer that raced with an announcement is not remembered", func(t *testing.T) {
		stamp := s.Stamp()
		changed(t, "u3") // of someone else even: the answer may predate it
		s.Put("tok-f", principal("u1", later), stamp)
		if _, ok := s.Get("tok-f"); ok {
			t.Fatal("an answer older than an announcement was remembered")
		}
	})
	t.Run("an unreadable announcement drops everything", func(t *testing.T) {
		s.Put("tok-g", principal("u2", later), s.Stamp())
		announce(t, "not json")
		if _, ok := s.Get("tok-g"); ok {
			t.Fatal("remembered after an unreadable announcement")
		}
	})
	t.Run("an interrupted connection drops everything", func(t *testing.T) {
		s.Put("tok-h", principal("u2", later), s.Stamp())
		raced := s.Stamp() // identity asked before the interruption, answered after
		id, err := nc.GetClientID()
		if err != nil {
			t.Fatal(err)
		}
		reconnected := make(chan struct{}, 1)
		nc.SetReconnectHandler(func(*nats.Conn) { reconnected <- struct{}{} })
		if err := srv.DisconnectClientByID(id); err != nil {
			t.Fatal(err)
		}
		select {
		case <-reconnected:
		case <-time.After(10 * time.Second):
			t.Fatal("no reconnect")
		}
		// Lost (RECONNECTING) and regained (CONNECTED): both are heard.
		waitFor(t, func() bool { return uint64(s.Stamp()) >= uint64(raced)+2 })
		if _, ok := s.Get("tok-h"); ok {
			t.Fatal("remembered across an interruption")
		}
		s.Put("tok-r", principal("u2", later), raced)
		if _, ok := s.Get("tok-r"); ok {
			t.Fatal("an answer asked for before the interruption was remembered")
		}
		s.Put("tok-h", principal("u2", later), s.Stamp())
		if _, ok := s.Get("tok-h"); !ok {
			t.Fatal("not remembered after the reconnect")
		}
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
