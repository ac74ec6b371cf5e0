// Package outbox records audit events in the same PostgreSQL transaction as
// the change they describe, and relays them to the JetStream stream AUDIT.
//
// Guarantee: a row leaves the outbox only after the audit service confirms
// that audit.audit_log holds its event. A publish acknowledgement alone is not
// taken as proof (JetStream's file store syncs to disk periodically, so an
// acknowledged message can be lost in a crash); unconfirmed rows are published
// again, JetStream de-duplicates by Nats-Msg-Id and the log inserts with
// ON CONFLICT DO NOTHING, so every event lands exactly once.
package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/migrate"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Migration is the outbox table, for a service to append to its own migrations.
func Migration(version int) migrate.File {
	return migrate.File{Version: version, Name: fmt.Sprintf("%04d_audit_outbox.sql", version), SQL: `
CREATE TABLE audit_outbox (
    seq          bigserial PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);`}
}

// Events is what a store asks of a Writer (an interface, so a test may
// stand in for it).
type Events interface {
	Append(ctx context.Context, tx pgx.Tx, ev audit.Event) (audit.Event, error)
	Queue(ctx context.Context, b *pgx.Batch, ev audit.Event) (audit.Event, error)
	Record(ctx context.Context, db interface {
		Begin(context.Context) (pgx.Tx, error)
	}, ev audit.Event) error
}

var _ Events = Writer{}

// Writer appends events for one service.
type Writer struct {
	Service string
}

// Append writes ev into the outbox within tx. Missing id, time, actor, source
// address and request id are taken from ctx. The event is returned as written.
func (w Writer) Append(ctx context.Context, tx pgx.Tx, ev audit.Event) (audit.Event, error) {
	ev, payload, err := w.encode(ctx, ev)
	if err != nil {
		return ev, err
	}
	if _, err := tx.Exec(ctx, insertEvent, ev.ID, payload); err != nil {
		return ev, fmt.Errorf("write audit event %s: %w", ev.Action, err)
	}
	return ev, nil
}

// Queue is Append into a batch that a transaction sends: the event's row is
// written with the batch's other statements in one round trip.
func (w Writer) Queue(ctx context.Context, b *pgx.Batch, ev audit.Event) (audit.Event, error) {
	ev, payload, err := w.encode(ctx, ev)
	if err != nil {
		return ev, err
	}
	b.Queue(insertEvent, ev.ID, payload)
	return ev, nil
}

const insertEvent = "INSERT INTO audit_outbox (event_id, payload) VALUES ($1, $2)"

// encode completes and checks ev and returns it with its JSON.
func (w Writer) encode(ctx context.Context, ev audit.Event) (audit.Event, []byte, error) {
	ev = w.complete(ctx, ev)
	ev, err := audit.Normalize(ev)
	if err != nil {
		return ev, nil, err
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return ev, nil, fmt.Errorf("encode audit event: %w", err)
	}
	return ev, payload, nil
}

// Record writes ev in a transaction of its own: for an event that goes with
// no change (a refusal, a failed attempt).
func (w Writer) Record(ctx context.Context, db interface {
	Begin(context.Context) (pgx.Tx, error)
}, ev audit.Event) error {
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		_, err := w.Append(ctx, tx, ev)
		return err
	})
}

func (w Writer) complete(ctx context.Context, ev audit.Event) audit.Event {
	info := caller.From(ctx)
	if ev.ID == "" {
		ev.ID = uuid.NewString()
	}
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	if ev.Actor.Type == "" {
		a := info.Actor
		ev.Actor = audit.Actor{Type: a.Type, ID: a.ID, Email: a.Email, Role: a.Role, TokenID: a.TokenID}
		if a.Type == "" || a.Type == "anonymous" {
			ev.Actor.Type = audit.ActorSystem
		}
	}
	if ev.Outcome == "" {
		ev.Outcome = audit.Success
	}
	if ev.SourceIP == "" {
		ev.SourceIP = info.SourceIP
	}
	if ev.RequestID == "" {
		ev.RequestID = info.RequestID
	}
	ev.Service, ev.Version = w.Service, buildinfo.Version
	return ev
}
