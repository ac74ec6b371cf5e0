package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// EnsureStream creates or updates the AUDIT stream: file storage, a
// de-duplication window for republished events, replicas as configured.
func EnsureStream(ctx context.Context, js jetstream.JetStream, replicas int) error {
	_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       audit.Stream,
		Subjects:   []string{audit.SubjectEvents + ".>"},
		Storage:    jetstream.FileStorage,
		Duplicates: 2 * time.Minute,
		MaxAge:     7 * 24 * time.Hour,
		Replicas:   max(replicas, 1),
	})
	if err != nil {
		return fmt.Errorf("ensure stream %s: %w", audit.Stream, err)
	}
	return nil
}

// Relay moves one service's outbox rows to the stream and removes them once
// the audit log holds them.
type Relay struct {
	Pool     *pgxpool.Pool
	JS       jetstream.JetStream
	RPC      *natsrpc.Client
	Service  string
	Log      *slog.Logger
	Interval time.Duration // how often it looks when not kicked
	Batch    int           // rows per publish round
	// Linger is how long a kicked relay waits for more events before a round.
	Linger time.Duration
	// ConfirmEvery is how often published rows are checked against the log.
	ConfirmEvery time.Duration
	Republish    time.Duration // publish again when unconfirmed this long
	// Timeout bounds each request to NATS (stream set-up, confirmation),
	// whatever deadline Run's ctx has: a reply lost with an audit instance
	// killed mid-request, or with a NATS restart, must not stall the relay
	// until ctx ends. natsrpc.DefaultTimeout when zero.
	Timeout time.Duration
	kick    chan struct{}
}

// NewRelay returns a relay with sensible defaults.
func NewRelay(pool *pgxpool.Pool, nc *nats.Conn, rpc *natsrpc.Client, service string, log *slog.Logger) (*Relay, error) {
	// Acknowledgements lost in a NATS restart must not hold publish slots
	// forever: time them out, and the rows are simply published again.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(10*time.Second), jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return &Relay{Pool: pool, JS: js, RPC: rpc, Service: service, Log: log,
		Interval: 200 * time.Millisecond, Batch: 500, Linger: 5 * time.Millisecond, ConfirmEvery: time.Second,
		Republish: 30 * time.Second, Timeout: natsrpc.DefaultTimeout, kick: make(chan struct{}, 1)}, nil
}

// request bounds one NATS round trip by Timeout.
func (r *Relay) request(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.Timeout <= 0 {
		return context.WithTimeout(ctx, natsrpc.DefaultTimeout)
	}
	return context.WithTimeout(ctx, r.Timeout)
}

// ensureStream checks that the stream exists. The audit service alone
// creates and changes it (the relay may not: libs/busauth); until it has,
// events wait in the outbox.
func (r *Relay) ensureStream(ctx context.Context) error {
	ctx, cancel := r.request(ctx)
	defer cancel()
	if _, err := r.JS.Stream(ctx, audit.Stream); err != nil {
		return fmt.Errorf("look up stream %s (the audit service creates it): %w", audit.Stream, err)
	}
	return nil
}

// Kick asks the relay to look now (after a transaction that wrote events commits).
func (r *Relay) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run relays until ctx ends. Events are published in rounds: a kick starts
// one after Linger, so the events of transactions committing together go in
// one round rather than one each. Confirming what the audit log holds (and
// removing it here) is cleanup, done every ConfirmEvery.
func (r *Relay) Run(ctx context.Context) {
	streamReady := false
	lastConfirm := time.Time{}
	for {
		if !streamReady {
			streamReady = r.ensureStream(ctx) == nil
		}
		published, err := r.publish(ctx)
		confirmed := 0
		if err == nil && time.Since(lastConfirm) >= r.ConfirmEvery {
			confirmed, err = r.confirm(ctx)
			if err == nil && confirmed < confirmBatch {
				lastConfirm = time.Now()
			}
		}
		wait := r.Interval
		switch {
		case err != nil && ctx.Err() == nil:
			r.Log.Warn("audit relay will retry", "err", err)
			streamReady, wait = false, 2*time.Second
		case published == r.Batch || confirmed == confirmBatch:
			continue // more may be waiting
		}
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
			select {
			case <-ctx.Done():
				return
			case <-time.After(r.Linger):
			}
		case <-time.After(wait):
		}
	}
}

func (r *Relay) publish(ctx context.Context) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, r.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT event_id::text, payload FROM audit_outbox
			WHERE published_at IS NULL OR published_at < now() - make_interval(secs => $1)
			ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED`, r.Republish.Seconds(), r.Batch)
		if err != nil {
			return fmt.Errorf("read outbox: %w", err)
		}
		type row struct {
			id      string
			payload []byte
		}
		pending, err := pgx.CollectRows(rows, func(rw pgx.CollectableRow) (row, error) {
			var x row
			return x, rw.Scan(&x.id, &x.payload)
		})
		if err != nil || len(pending) == 0 {
			return err
		}
		subject := audit.SubjectEvents + "." + r.Service
		futures := make([]jetstream.PubAckFuture, 0, len(pending))
		for _, p := range pending {
			f, err := r.JS.PublishMsgAsync(&nats.Msg{Subject: subject, Data: p.payload}, jetstream.WithMsgID(p.id))
			if err != nil {
				break
			}
			futures = append(futures, f)
		}
		sent := awaitAcks(ctx, futures, 10*time.Second)
		ids := make([]string, 0, len(sent))
		for i := range sent {
			ids = append(ids, pending[sent[i]].id)
		}
		n = len(ids)
		if _, err := tx.Exec(ctx, "UPDATE audit_outbox SET published_at = now() WHERE event_id = ANY($1::uuid[])", ids); err != nil {
			return fmt.Errorf("mark published: %w", err)
		}
		if n < len(pending) {
			return errors.New("some audit events were not acknowledged by JetStream; they will be sent again")
		}
		return nil
	})
	return n, err
}

// awaitAcks returns the indexes of the futures that were acknowledged.
func awaitAcks(ctx context.Context, futures []jetstream.PubAckFuture, within time.Duration) []int {
	deadline := time.After(within)
	var ok []int
	for i, f := range futures {
		select {
		case <-f.Ok():
			ok = append(ok, i)
		case <-f.Err():
		case <-deadline:
			return ok
		case <-ctx.Done():
			return ok
		}
	}
	return ok
}

// confirmBatch is how many published rows one confirmation asks about.
const confirmBatch = 1000

func (r *Relay) confirm(ctx context.Context) (int, error) {
	rows, err := r.Pool.Query(ctx, `SELECT event_id::text FROM audit_outbox WHERE published_at IS NOT NULL ORDER BY seq LIMIT $1`, confirmBatch)
	if err != nil {
		return 0, fmt.Errorf("read published: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	rctx, cancel := r.request(ctx)
	defer cancel()
	resp, err := natsrpc.Call[audit.ConfirmResponse](rctx, r.RPC, audit.SubjectConfirm, audit.ConfirmRequest{IDs: ids})
	if err != nil {
		return 0, fmt.Errorf("confirm with the audit log: %w", err)
	}
	if len(resp.Present) == 0 {
		return 0, nil
	}
	tag, err := r.Pool.Exec(ctx, "DELETE FROM audit_outbox WHERE event_id = ANY($1::uuid[])", resp.Present)
	if err != nil {
		return 0, fmt.Errorf("remove confirmed: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
