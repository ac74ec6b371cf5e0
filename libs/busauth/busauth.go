// Package busauth says who may do what on the Hub's NATS bus. Every Hub
// process authenticates as a Principal with its own NKey (an Ed25519 key
// pair; the server holds only the public key), and each principal may publish
// and subscribe only on the subjects its work needs:
//
//   - only the gateway calls a service on a person's behalf, so the caller
//     headers (libs/caller) on a user-facing subject come from the gateway;
//   - a service calls another only on the few subjects it needs (runners asks
//     licensing whether a job may start, licensing counts runners, identity
//     reads the license's admin email);
//   - only service X publishes X's audit events, only the audit service reads
//     or changes the AUDIT stream, and only the gateway and the admin CLI
//     (backup and restore) touch the package store;
//   - replies go back on each principal's own inbox prefix, which no other
//     principal may read, and a responder may answer only the requests it got;
//   - only the runners service announces its instances (runners.SubjectPresence),
//     which the gateways read to route claims.
//
// The pilot's supervisor generates the keys at first start and runs its
// embedded NATS with these permissions; an enterprise nats-server gets the same
// permissions from the authorization block that Render writes.
package busauth

import (
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/contract/runners"
)

// Principal is one kind of Hub process on the bus.
type Principal string

// The principals. Every instance of a service shares its service's principal.
const (
	Gateway   Principal = "gateway"
	Identity  Principal = "identity"
	Licensing Principal = "licensing"
	Runners   Principal = "runners"
	Audit     Principal = "audit"
	// Admin is exekractl's backup and restore, which copy the package store.
	Admin Principal = "admin"
)

// Principals is every principal, in the order configurations list them.
var Principals = []Principal{Gateway, Identity, Licensing, Runners, Audit, Admin}

// Known reports whether p is one of Principals.
func Known(p Principal) bool {
	for _, k := range Principals {
		if k == p {
			return true
		}
	}
	return false
}

// InboxPrefix is where p's requests get their replies: p alone may subscribe
// there, so no other process reads what answers p.
func (p Principal) InboxPrefix() string { return "_INBOX_" + string(p) }

// Permissions is what a principal may do on the bus, in nats-server's terms.
type Permissions struct {
	PublishAllow, PublishDeny []string
	SubscribeAllow            []string
	// Responds lets the principal answer requests it received (and only
	// those: the server allows one reply to each request's reply subject).
	Responds bool
}

// Permissions returns p's permissions; an unknown principal may do nothing.
func (p Principal) Permissions() Permissions {
	inbox := p.InboxPrefix() + ".>"
	switch p {
	case Gateway:
		return Permissions{
			PublishAllow: append([]string{
				operations("identity"), operations("licensing"), operations("runners"), operations("audit"),
				events(Gateway),
			}, packageStore...),
			// Announcing session changes is identity's; confirming outbox
			// rows is the relays'.
			PublishDeny:    []string{identity.SubjectSessionsChanged, audit.SubjectConfirm},
			SubscribeAllow: []string{inbox, identity.SubjectSessionsChanged, runners.SubjectPresence},
		}
	case Identity:
		return service(p, licensing.SubjectAdminEmail, identity.SubjectSessionsChanged)
	case Licensing:
		return service(p, runners.SubjectCount)
	case Runners:
		return service(p, licensing.SubjectCheck, runners.SubjectPresence)
	case Audit:
		perms := service(p)
		perms.PublishAllow = append(perms.PublishAllow, auditStream...)
		return perms
	case Admin:
		return Permissions{PublishAllow: packageStore, SubscribeAllow: []string{inbox}}
	}
	return Permissions{}
}

// service is a back-end service's permissions: it answers its own
// operations (and micro's discovery), calls the given subjects, and relays
// its audit outbox (audit's own service writes no outbox, but the extra
// subjects would only let it publish what its stream consumer reads anyway).
func service(p Principal, calls ...string) Permissions {
	pub := append([]string{}, calls...)
	if p != Audit {
		pub = append(pub, events(p), audit.SubjectConfirm, "$JS.API.STREAM.INFO."+audit.Stream)
	}
	return Permissions{
		PublishAllow:   pub,
		SubscribeAllow: []string{operations(string(p)), "$SRV.>", p.InboxPrefix() + ".>"},
		Responds:       true,
	}
}

// operations is every request subject of a service (exekra.<name>.v1.*,
// its status included).
func operations(name string) string { return "exekra." + name + ".v1.>" }

// events is the subject p's audit events are published on.
func events(p Principal) string { return audit.SubjectEvents + "." + string(p) }

// packageStore is the JetStream object store of package bytes: its stream,
// its chunk and meta subjects, the ordered consumers and direct gets that
// read it, and their flow control.
var packageStore = func() []string {
	const stream = "OBJ_EXEKRA_PACKAGES" // jetstream names an object store's stream OBJ_<bucket>
	return []string{
		"$O.EXEKRA_PACKAGES.>",
		"$JS.API.STREAM.*." + stream,
		"$JS.API.STREAM.MSG.GET." + stream,
		"$JS.API.CONSUMER.*." + stream,
		"$JS.API.CONSUMER.*." + stream + ".>",
		"$JS.API.DIRECT.GET." + stream,
		"$JS.API.DIRECT.GET." + stream + ".>",
		"$JS.FC." + stream + ".>",
	}
}()

// auditStream is what the audit service does to the AUDIT stream: create and
// look it up, keep its durable consumer, fetch and acknowledge, and read
// what verify holds the log against.
var auditStream = []string{
	"$JS.API.STREAM.CREATE." + audit.Stream,
	"$JS.API.STREAM.UPDATE." + audit.Stream,
	"$JS.API.STREAM.INFO." + audit.Stream,
	"$JS.API.STREAM.MSG.GET." + audit.Stream, // verify reads the stream's tail
	"$JS.API.CONSUMER.CREATE." + audit.Stream + ".>",
	"$JS.API.CONSUMER.INFO." + audit.Stream + ".>",
	"$JS.API.CONSUMER.MSG.NEXT." + audit.Stream + ".>",
	"$JS.ACK." + audit.Stream + ".>",
}
