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
//
// One relay of a service publishes at a time: the one holding the service's
// relay lock, a PostgreSQL session advisory lock taken on a connection of the
// relay's own (the others keep theirs and try again every LeadEvery; a
// leader's lock ends with its session, so a stopped or killed instance hands
// over at once, the connection's TCP keepalives end a lost host's session
// within about 25 s, and a relay waiting to lead ends a relay session idle
// for StaleAfter, a hung instance's). The leader reads rows past the last one it read and
// publishes them, without locking or writing them: what it sent is kept in
// its memory. Every ConfirmEvery it asks the audit service which of the rows
// up to there the log holds and deletes those; it sends again a row it has
// not sent (a transaction that committed after a later one's read, a publish
// not acknowledged) and one sent Republish ago and still not in the log. A
// new leader knows nothing of what the last one sent and sends every row
// again: JetStream drops a repeat within its duplicate window, the log's
// insert any later one.
type Relay struct {
	Pool     *pgxpool.Pool
	JS       jetstream.JetStream
	RPC      *natsrpc.Client
	Service  string
	Log      *slog.Logger
	Interval time.Duration // how often the leader looks for new rows
	Batch    int           // rows per publish round
	// LeadEvery is how often a relay that does not lead tries to.
	LeadEvery time.Duration
	// StaleAfter is how long a relay session may sit idle before one waiting
	// to lead ends it: a leader queries every Interval, and at most a few
	// NATS timeouts pass between its queries.
	StaleAfter time.Duration
	// ConfirmEvery is how often published rows are checked against the log.
	ConfirmEvery time.Duration
	Republish    time.Duration // publish again when unconfirmed this long
	// Timeout bounds each request to NATS (stream set-up, confirmation),
	// whatever deadline Run's ctx has: a reply lost with an audit instance
	// killed mid-request, or with a NATS restart, must not stall the relay
	// until ctx ends. natsrpc.DefaultTimeout when zero.
	Timeout time.Duration

	conn    *pgx.Conn            // the relay's own session; nil until connected
	leading bool                 // conn holds the relay lock
	cursor  int64                // the last row read (seq)
	sent    map[string]time.Time // unconfirmed events published, by id
}

// maxSent bounds what a leader remembers having sent (an audit service down
// for long leaves every event unconfirmed): a row it forgot is sent once
// more when the confirmation comes to it.
const maxSent = 100_000

// NewRelay returns a relay with sensible defaults.
func NewRelay(pool *pgxpool.Pool, nc *nats.Conn, rpc *natsrpc.Client, service string, log *slog.Logger) (*Relay, error) {
	// Acknowledgements lost in a NATS restart must not hold publish slots
	// forever: time them out, and the rows are simply published again.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(10*time.Second), jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return &Relay{Pool: pool, JS: js, RPC: rpc, Service: service, Log: log,
		Interval: 200 * time.Millisecond, Batch: 500, LeadEvery: time.Second, StaleAfter: time.Minute, ConfirmEvery: time.Second,
		Republish: 30 * time.Second, Timeout: natsrpc.DefaultTimeout}, nil
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

// Run relays until ctx ends: it leads when it can, and then publishes new
// rows every Interval (at once while a round finds a full batch) and
// confirms every ConfirmEvery.
func (r *Relay) Run(ctx context.Context) {
	defer r.disconnect()
	streamReady := false
	lastConfirm := time.Time{}
	for {
		wait := r.Interval
		if err := r.lead(ctx); err != nil && ctx.Err() == nil {
			r.Log.Warn("audit relay will try to connect again", "err", err)
			r.disconnect()
		}
		if !r.leading {
			wait = r.LeadEvery
		} else {
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
			switch {
			case err != nil && ctx.Err() == nil:
				r.Log.Warn("audit relay will retry", "err", err)
				streamReady, wait = false, 2*time.Second
				if r.conn.IsClosed() { // its session, and the lock with it, is gone
					r.disconnect()
				}
			case published == r.Batch || confirmed == confirmBatch:
				continue // more may be waiting
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// lead connects the relay's own session, if it has none, and takes the
// service's relay lock if it does not hold it and nobody else does.
func (r *Relay) lead(ctx context.Context) error {
	if r.leading {
		return nil
	}
	if r.conn == nil {
		cfg := r.Pool.Config()
		p := cfg.ConnConfig.RuntimeParams
		p["application_name"] = r.sessionName()
		// The server ends the session of a host that stopped answering
		// within about 25 s (idle 10 s, then 3 probes 5 s apart), and the
		// lock with it; without this, the system default (often 2 hours).
		p["tcp_keepalives_idle"], p["tcp_keepalives_interval"], p["tcp_keepalives_count"] = "10", "5", "3"
		p["statement_timeout"] = "30s" // a statement stuck behind a lock does not hold the relay
		conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		r.conn = conn
		if cfg.AfterConnect != nil {
			if err := cfg.AfterConnect(ctx, conn); err != nil {
				return fmt.Errorf("set up connection: %w", err)
			}
		}
	}
	if err := r.conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtext($1))", r.sessionName()).Scan(&r.leading); err != nil {
		return fmt.Errorf("take the relay lock: %w", err)
	}
	if r.leading {
		r.cursor, r.sent = 0, map[string]time.Time{}
		r.Log.Info("audit relay leads: it publishes this service's events")
		return nil
	}
	// A session of this service's relays that sat idle for StaleAfter
	// belongs to a hung instance (a leader queries every Interval, one
	// waiting to lead every LeadEvery): end it, and its lock with it.
	var ended int
	err := r.conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND usename = session_user AND pid <> pg_backend_pid() AND state = 'idle'
		  AND state_change < now() - make_interval(secs => $2)`, r.sessionName(), r.StaleAfter.Seconds()).Scan(&ended)
	if err != nil {
		return fmt.Errorf("look for a hung relay: %w", err)
	}
	if ended > 0 {
		r.Log.Warn("audit relay ended the session of a relay idle too long (a hung instance); it takes over", "idle_over", r.StaleAfter)
	}
	return nil
}

// sessionName is the application name of this service's relay sessions and
// the name of its relay lock.
func (r *Relay) sessionName() string { return "exekra audit outbox relay " + r.Service }

// disconnect ends the relay's session: its lock, if held, ends with it.
func (r *Relay) disconnect() {
	if r.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		r.conn.Close(ctx)
	}
	r.conn, r.leading, r.sent = nil, false, nil
}

// publish sends the rows past the cursor and moves it past them.
func (r *Relay) publish(ctx context.Context) (int, error) {
	rows, err := r.conn.Query(ctx, `SELECT seq, event_id::text, payload FROM audit_outbox
		WHERE seq > $1 ORDER BY seq LIMIT $2`, r.cursor, r.Batch)
	if err != nil {
		return 0, fmt.Errorf("read outbox: %w", err)
	}
	pending, err := pgx.CollectRows(rows, pgx.RowToStructByPos[outboxRow])
	if err != nil || len(pending) == 0 {
		return 0, err
	}
	r.cursor = pending[len(pending)-1].Seq // a row not acknowledged is the confirmation's to send
	return len(pending), r.send(ctx, pending)
}

// outboxRow is a row to publish.
type outboxRow struct {
	Seq     int64
	ID      string
	Payload []byte
}

// send publishes rows and notes those JetStream acknowledged.
func (r *Relay) send(ctx context.Context, rows []outboxRow) error {
	subject := audit.SubjectEvents + "." + r.Service
	futures := make([]jetstream.PubAckFuture, 0, len(rows))
	for _, p := range rows {
		f, err := r.JS.PublishMsgAsync(&nats.Msg{Subject: subject, Data: p.Payload}, jetstream.WithMsgID(p.ID))
		if err != nil {
			break
		}
		futures = append(futures, f)
	}
	acked := awaitAcks(ctx, futures, 10*time.Second)
	now := time.Now()
	for _, i := range acked {
		if len(r.sent) < maxSent {
			r.sent[rows[i].ID] = now
		}
	}
	if len(acked) < len(rows) {
		return errors.New("some audit events were not acknowledged by JetStream; they will be sent again")
	}
	return nil
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

// confirmBatch is how many rows one confirmation asks about.
const confirmBatch = 1000

// confirm deletes the oldest rows read that the log holds and sends again
// those it should (see Relay). It returns how many it deleted.
func (r *Relay) confirm(ctx context.Context) (int, error) {
	rows, err := r.conn.Query(ctx, `SELECT event_id::text FROM audit_outbox WHERE seq <= $1 ORDER BY seq LIMIT $2`,
		r.cursor, confirmBatch)
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
	deleted := 0
	if len(resp.Present) > 0 {
		tag, err := r.conn.Exec(ctx, "DELETE FROM audit_outbox WHERE event_id = ANY($1::uuid[])", resp.Present)
		if err != nil {
			return 0, fmt.Errorf("remove confirmed: %w", err)
		}
		deleted = int(tag.RowsAffected())
	}
	present := make(map[string]bool, len(resp.Present))
	for _, id := range resp.Present {
		present[id] = true
		delete(r.sent, id)
	}
	for id, at := range r.sent {
		if time.Since(at) >= 10*r.Republish { // its row went some other way (an older relay deleted it)
			delete(r.sent, id)
		}
	}
	var again []string
	for _, id := range ids {
		at, sent := r.sent[id]
		if !present[id] && (!sent || time.Since(at) >= r.Republish) {
			again = append(again, id)
		}
	}
	if len(again) == 0 {
		return deleted, nil
	}
	rows, err = r.conn.Query(ctx, "SELECT seq, event_id::text, payload FROM audit_outbox WHERE event_id = ANY($1::uuid[]) ORDER BY seq", again)
	if err != nil {
		return deleted, fmt.Errorf("read events to send again: %w", err)
	}
	resend, err := pgx.CollectRows(rows, pgx.RowToStructByPos[outboxRow])
	if err != nil {
		return deleted, fmt.Errorf("read events to send again: %w", err)
	}
	return deleted, r.send(ctx, resend)
}
