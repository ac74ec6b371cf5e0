// Package ingest moves events from the AUDIT stream into the log: a durable
// pull consumer shared by every audit instance, batches appended in one
// transaction each, messages acknowledged only after the commit.
package ingest

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/outbox"
	"github.com/exekra/hub/services/audit/internal/postgres"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Consumer is the durable consumer's name.
const Consumer = "audit-log-writer"

// Appender is the log.
type Appender interface {
	Append(ctx context.Context, entries []postgres.Entry) (int, error)
}

// Metrics are the ingest's gauges and counters.
type Metrics struct {
	Events prometheus.Counter // exekra_audit_events_total
	Lag    prometheus.Gauge   // exekra_audit_lag_seconds
}

// NewMetrics registers the audit metrics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Events: prometheus.NewCounter(prometheus.CounterOpts{Name: "exekra_audit_events_total", Help: "Events appended to the audit log."}),
		Lag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "exekra_audit_lag_seconds",
			Help: "Age of the newest event appended when it was appended: time from the action to the log."}),
	}
	reg.MustRegister(m.Events, m.Lag)
	return m
}

// Ingest runs the consumer.
type Ingest struct {
	JS       jetstream.JetStream
	Log      *slog.Logger
	Store    Appender
	Metrics  *Metrics
	Replicas int
	Batch    int
}

// Run consumes until ctx ends, recreating the consumer after NATS trouble.
func (in *Ingest) Run(ctx context.Context) {
	for ctx.Err() == nil {
		cons, err := in.consumer(ctx)
		if err != nil {
			in.Log.Warn("audit consumer unavailable; retrying", "err", err)
			sleep(ctx, 2*time.Second)
			continue
		}
		in.consume(ctx, cons)
	}
}

func (in *Ingest) consumer(ctx context.Context) (jetstream.Consumer, error) {
	if err := outbox.EnsureStream(ctx, in.JS, in.Replicas); err != nil {
		return nil, err
	}
	return in.JS.CreateOrUpdateConsumer(ctx, audit.Stream, jetstream.ConsumerConfig{
		Durable:       Consumer,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxAckPending: 20000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		Replicas:      max(in.Replicas, 1),
	})
}

// consume fetches batches until an error suggests the consumer must be rebuilt.
func (in *Ingest) consume(ctx context.Context, cons jetstream.Consumer) {
	failures := 0
	for ctx.Err() == nil {
		batch, err := cons.Fetch(in.Batch, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			in.Log.Warn("fetch audit events", "err", err)
			return
		}
		var msgs []jetstream.Msg
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if err := batch.Error(); err != nil && len(msgs) == 0 && ctx.Err() == nil {
			if failures++; failures > 3 {
				return
			}
			sleep(ctx, 500*time.Millisecond)
			continue
		}
		failures = 0
		if len(msgs) == 0 {
			in.Metrics.Lag.Set(0) // nothing waiting
			continue
		}
		in.write(ctx, msgs)
	}
}

// write appends a batch and acknowledges it; on failure nothing is acknowledged
// and JetStream redelivers after AckWait.
func (in *Ingest) write(ctx context.Context, msgs []jetstream.Msg) {
	events := make([]postgres.Entry, 0, len(msgs))
	for _, m := range msgs {
		var ev audit.Event
		if err := json.Unmarshal(m.Data(), &ev); err != nil || ev.ID == "" {
			in.Log.Error("unreadable audit event dropped from the stream", "subject", m.Subject(), "err", err)
			m.Term()
			continue
		}
		if !FromItsService(m.Subject(), ev) {
			in.Log.Error("audit event claiming another service dropped from the stream",
				"subject", m.Subject(), "service", ev.Service, "event_id", ev.ID)
			m.Term()
			continue
		}
		events = append(events, postgres.Entry{Event: ev, StreamSeq: streamSeq(m)})
	}
	n, err := in.Store.Append(ctx, events)
	if err != nil {
		in.Log.Error("append audit events; they will be redelivered", "count", len(events), "err", err)
		for _, m := range msgs {
			m.Nak()
		}
		sleep(ctx, time.Second)
		return
	}
	for _, m := range msgs {
		m.Ack()
	}
	in.Metrics.Events.Add(float64(n))
	if len(events) > 0 {
		in.Metrics.Lag.Set(time.Since(events[len(events)-1].At).Seconds())
	}
}

// streamSeq is the message's sequence in the stream, recorded with its row
// so that verification can hold the log's end against the consumer; 0 when
// the metadata cannot be read (the row records none).
func streamSeq(m jetstream.Msg) uint64 {
	md, err := m.Metadata()
	if err != nil {
		return 0
	}
	return md.Sequence.Stream
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// FromItsService reports whether ev came on its own service's subject
// (exekra.audit.events.<service>). The bus lets only service X publish on X's
// subject (libs/busauth); an event claiming to be another's is a forgery.
func FromItsService(subject string, ev audit.Event) bool {
	return ev.Service != "" && subject == audit.SubjectEvents+"."+ev.Service
}
