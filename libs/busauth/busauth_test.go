package busauth_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/busauth"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/outbox"
	"github.com/exekra/hub/libs/pkgstore"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
)

// violations records the permission errors the server sends a connection.
type violations struct {
	mu   sync.Mutex
	seen []string
}

func (v *violations) handler(_ *nats.Conn, _ *nats.Subscription, err error) {
	if err != nil && strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
		v.mu.Lock()
		v.seen = append(v.seen, err.Error())
		v.mu.Unlock()
	}
}

// refused waits for the server to report a violation naming subject.
func (v *violations) refused(t *testing.T, subject string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		v.mu.Lock()
		for _, s := range v.seen {
			if strings.Contains(s, `"`+subject+`"`) {
				v.mu.Unlock()
				return
			}
		}
		v.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("the server did not refuse %q", subject)
}

func connect(t *testing.T, url, dir string, p busauth.Principal) (*nats.Conn, *violations) {
	t.Helper()
	v := &violations{}
	opts, ok, err := busauth.ClientOptions(p, dir)
	if err != nil || !ok {
		t.Fatalf("client options of %s: %v (authenticated %v)", p, err, ok)
	}
	nc, err := nats.Connect(url, append(opts, nats.ErrorHandler(v.handler))...)
	if err != nil {
		t.Fatalf("connect as %s: %v", p, err)
	}
	t.Cleanup(nc.Close)
	return nc, v
}

// TestStrangersAreRefused: no key, an unknown key, a well-formed key the
// server was not given — none connects.
func TestStrangersAreRefused(t *testing.T) {
	srv, _ := natstest.Secured(t)
	if _, err := nats.Connect(srv.ClientURL()); err == nil {
		t.Fatal("a client without credentials connected")
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	if _, err := nats.Connect(srv.ClientURL(), nats.Nkey(pub, kp.Sign)); err == nil {
		t.Fatal("a client with a key the server does not know connected")
	}
	if _, err := nats.Connect(srv.ClientURL(), nats.UserInfo("exekra", "exekra")); err == nil {
		t.Fatal("a client with a user name and password connected")
	}
}

// TestOnlyTheGatewayActsForPeople is the review's attack: a process that is
// not the gateway sends a request on a person's behalf (create an ADMIN) and
// nobody answers, because it cannot publish there.
func TestOnlyTheGatewayActsForPeople(t *testing.T) {
	srv, dir := natstest.Secured(t)
	url := srv.ClientURL()
	id, _ := connect(t, url, dir, busauth.Identity)
	created := make(chan string, 4)
	if _, err := id.QueueSubscribe(identity.SubjectUsersCreate, "exekra-identity", func(m *nats.Msg) {
		created <- m.Header.Get("Exekra-Actor")
		_ = m.Respond([]byte(`{}`))
	}); err != nil {
		t.Fatal(err)
	}
	if err := id.Flush(); err != nil {
		t.Fatal(err)
	}
	forged := nats.NewMsg(identity.SubjectUsersCreate)
	forged.Header.Set("Exekra-Actor", "user:admin-id:ADMIN:admin@acme.example")
	forged.Data = []byte(`{"email":"mallory@evil.example","role":"ADMIN"}`)
	for _, p := range []busauth.Principal{busauth.Licensing, busauth.Runners, busauth.Audit, busauth.Admin} {
		nc, v := connect(t, url, dir, p)
		if _, err := nc.RequestMsg(forged, 300*time.Millisecond); err == nil {
			t.Errorf("%s created a user", p)
		}
		v.refused(t, identity.SubjectUsersCreate)
	}
	select {
	case actor := <-created:
		t.Fatalf("identity received a forged request from %q", actor)
	default:
	}
	gw, _ := connect(t, url, dir, busauth.Gateway)
	if _, err := gw.RequestMsg(forged, 2*time.Second); err != nil {
		t.Fatalf("the gateway's request was not answered: %v", err)
	}
}

// TestNobodyListensInOnAnother: subscribing to another service's requests
// (to read passwords or answer in its place) or to another principal's
// replies is refused.
func TestNobodyListensInOnAnother(t *testing.T) {
	srv, dir := natstest.Secured(t)
	for _, c := range []struct {
		who     busauth.Principal
		subject string
	}{
		{busauth.Gateway, identity.SubjectLogin},
		{busauth.Runners, identity.SubjectLogin},
		{busauth.Licensing, runners.SubjectHeartbeat},
		{busauth.Identity, licensing.SubjectActivate},
		{busauth.Identity, busauth.Gateway.InboxPrefix() + ".>"},
		{busauth.Gateway, busauth.Identity.InboxPrefix() + ".abc"},
		{busauth.Runners, ">"},
		{busauth.Audit, audit.SubjectEvents + ".>"},
	} {
		nc, v := connect(t, srv.ClientURL(), dir, c.who)
		if _, err := nc.SubscribeSync(c.subject); err != nil {
			t.Fatal(err)
		}
		_ = nc.Flush()
		v.refused(t, c.subject)
	}
}

// TestAuditEventsComeOnlyFromTheirService: a service may publish its own
// audit events only, the gateway its refusals only, and nobody but the
// audit service may change or read the AUDIT stream.
func TestAuditEventsComeOnlyFromTheirService(t *testing.T) {
	srv, dir := natstest.Secured(t)
	url := srv.ClientURL()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	au, _ := connect(t, url, dir, busauth.Audit)
	ajs, err := jetstream.New(au)
	if err != nil {
		t.Fatal(err)
	}
	if err := outbox.EnsureStream(ctx, ajs, 1); err != nil {
		t.Fatalf("the audit service cannot create its stream: %v", err)
	}
	cons, err := ajs.CreateOrUpdateConsumer(ctx, audit.Stream, jetstream.ConsumerConfig{Durable: "busauth-test", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatalf("the audit service cannot create its consumer: %v", err)
	}

	id, _ := connect(t, url, dir, busauth.Identity)
	ijs, _ := jetstream.New(id)
	if _, err := ijs.Publish(ctx, audit.SubjectEvents+".identity", []byte(`{"id":"1"}`)); err != nil {
		t.Fatalf("identity cannot publish its own events: %v", err)
	}
	msgs, err := cons.Fetch(1, jetstream.FetchMaxWait(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range msgs.Messages() {
		if err := m.Ack(); err != nil {
			t.Fatalf("the audit service cannot acknowledge: %v", err)
		}
	}

	forgeries := map[busauth.Principal][]string{
		busauth.Identity: {audit.SubjectEvents + ".runners", "$JS.API.STREAM.PURGE.AUDIT", "$JS.API.STREAM.DELETE.AUDIT",
			"$JS.API.STREAM.MSG.DELETE.AUDIT", "$JS.API.CONSUMER.CREATE.AUDIT.x", "$JS.API.STREAM.UPDATE.AUDIT"},
		busauth.Gateway: {audit.SubjectEvents + ".identity", audit.SubjectConfirm, identity.SubjectSessionsChanged,
			"$JS.API.STREAM.PURGE.AUDIT", "$JS.API.CONSUMER.MSG.NEXT.AUDIT.audit-log-writer"},
		busauth.Runners: {audit.SubjectEvents + ".gateway", "$JS.API.STREAM.CREATE.AUDIT"},
		busauth.Admin:   {audit.SubjectEvents + ".admin", "$JS.API.STREAM.INFO.AUDIT"},
	}
	for p, subjects := range forgeries {
		nc, v := connect(t, url, dir, p)
		for _, s := range subjects {
			if err := nc.Publish(s, []byte(`{"id":"forged"}`)); err != nil {
				t.Fatal(err)
			}
			_ = nc.Flush()
			v.refused(t, s)
		}
	}
	info, err := ajs.Stream(ctx, audit.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if n := info.CachedInfo().State.Msgs; n != 1 {
		t.Fatalf("the AUDIT stream holds %d messages, want the 1 identity published", n)
	}
}

// TestPackageStoreIsTheGatewaysAndTheAdmins: the gateway and exekractl keep
// the package store; a service cannot open, read or write it.
func TestPackageStoreIsTheGatewaysAndTheAdmins(t *testing.T) {
	srv, dir := natstest.Secured(t)
	url := srv.ClientURL()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	gw, _ := connect(t, url, dir, busauth.Gateway)
	gjs, _ := jetstream.New(gw)
	if _, err := pkgstore.Open(ctx, gjs, 1); err != nil {
		t.Fatalf("the gateway cannot open the package store: %v", err)
	}
	obj, err := gjs.ObjectStore(ctx, pkgstore.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obj.PutBytes(ctx, "p", []byte("package bytes")); err != nil {
		t.Fatalf("the gateway cannot write the package store: %v", err)
	}
	ad, _ := connect(t, url, dir, busauth.Admin)
	adjs, _ := jetstream.New(ad)
	aobj, err := adjs.ObjectStore(ctx, pkgstore.Bucket)
	if err != nil {
		t.Fatalf("exekractl cannot open the package store: %v", err)
	}
	if got, err := aobj.GetBytes(ctx, "p"); err != nil || !bytes.Equal(got, []byte("package bytes")) {
		t.Fatalf("exekractl reads %q, %v", got, err)
	}
	for _, p := range []busauth.Principal{busauth.Runners, busauth.Identity, busauth.Licensing, busauth.Audit} {
		nc, v := connect(t, url, dir, p)
		js, _ := jetstream.New(nc)
		short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		_, err := js.ObjectStore(short, pkgstore.Bucket)
		cancel()
		if err == nil {
			t.Errorf("%s opened the package store", p)
		}
		if err := nc.Publish("$O.EXEKRA_PACKAGES.C.x", []byte("evil")); err != nil {
			t.Fatal(err)
		}
		_ = nc.Flush()
		v.refused(t, "$O.EXEKRA_PACKAGES.C.x")
	}
}

// TestServicesCallOnlyWhatTheyNeed: the calls between services go through,
// and nothing else does.
func TestServicesCallOnlyWhatTheyNeed(t *testing.T) {
	srv, dir := natstest.Secured(t)
	url := srv.ClientURL()
	serve := func(p busauth.Principal, subject string) {
		nc, _ := connect(t, url, dir, p)
		if _, err := nc.QueueSubscribe(subject, "q", func(m *nats.Msg) { _ = m.Respond([]byte("{}")) }); err != nil {
			t.Fatal(err)
		}
		_ = nc.Flush()
	}
	serve(busauth.Licensing, licensing.SubjectCheck)
	serve(busauth.Licensing, licensing.SubjectAdminEmail)
	serve(busauth.Runners, runners.SubjectCount)
	serve(busauth.Audit, audit.SubjectConfirm)
	allowed := map[busauth.Principal][]string{
		busauth.Runners:   {licensing.SubjectCheck, audit.SubjectConfirm},
		busauth.Licensing: {runners.SubjectCount, audit.SubjectConfirm},
		busauth.Identity:  {licensing.SubjectAdminEmail, audit.SubjectConfirm},
	}
	for p, subjects := range allowed {
		nc, _ := connect(t, url, dir, p)
		for _, s := range subjects {
			if _, err := nc.Request(s, []byte("{}"), 2*time.Second); err != nil {
				t.Errorf("%s cannot call %s: %v", p, s, err)
			}
		}
	}
	denied := map[busauth.Principal]string{
		busauth.Runners:   licensing.SubjectActivate,
		busauth.Licensing: runners.SubjectRegister,
		busauth.Identity:  runners.SubjectRegenerateSecret,
		busauth.Audit:     licensing.SubjectCheck,
	}
	for p, s := range denied {
		nc, v := connect(t, url, dir, p)
		_, err := nc.Request(s, []byte("{}"), 300*time.Millisecond)
		if err == nil || errors.Is(err, nats.ErrNoResponders) {
			t.Errorf("%s calling %s: %v, want a refusal (time-out)", p, s, err)
		}
		v.refused(t, s)
	}
}

// TestRenderListsEveryPrincipal: the enterprise authorization block holds a
// user per principal with its key and quoted subjects.
func TestRenderListsEveryPrincipal(t *testing.T) {
	keys, err := busauth.EnsureKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := busauth.Render(&b, keys); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, p := range busauth.Principals {
		if !strings.Contains(out, `nkey: "`+keys[p]+`"`) {
			t.Errorf("no user for %s", p)
		}
	}
	if strings.Contains(out, " $JS") || !strings.Contains(out, `"$JS.ACK.AUDIT.>"`) {
		t.Error("a $ subject is not quoted")
	}
}

// TestOnlyRunnersAnnounceRunnersInstances: the gateways route claims by the
// runners instances' announcements, so no other process may make one.
func TestOnlyRunnersAnnounceRunnersInstances(t *testing.T) {
	srv, dir := natstest.Secured(t)
	url := srv.ClientURL()
	gw, _ := connect(t, url, dir, busauth.Gateway)
	sub, err := gw.SubscribeSync(runners.SubjectPresence)
	if err != nil {
		t.Fatal(err)
	}
	_ = gw.Flush()
	rs, _ := connect(t, url, dir, busauth.Runners)
	if err := rs.Publish(runners.SubjectPresence, []byte(`{"instance":"r1"}`)); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.NextMsg(2 * time.Second); err != nil || string(m.Data) != `{"instance":"r1"}` {
		t.Fatalf("the gateway did not hear the runners instance: %v", err)
	}
	for _, p := range []busauth.Principal{busauth.Gateway, busauth.Identity, busauth.Licensing, busauth.Audit, busauth.Admin} {
		nc, v := connect(t, url, dir, p)
		if err := nc.Publish(runners.SubjectPresence, []byte(`{"instance":"forged"}`)); err != nil {
			t.Fatal(err)
		}
		_ = nc.Flush()
		v.refused(t, runners.SubjectPresence)
	}
	if m, err := sub.NextMsg(300 * time.Millisecond); err == nil {
		t.Fatalf("a forged announcement reached the gateway: %s", m.Data)
	}
}
