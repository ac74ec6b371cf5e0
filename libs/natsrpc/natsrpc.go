// Package natsrpc carries typed JSON requests between Hub processes over NATS
// request/reply, served with nats.go/micro so every instance of a service
// joins its queue group. Errors cross the wire as micro service-error headers
// holding an errs.Kind and a caller-safe message; caller info travels in
// Exekra-* headers.
package natsrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/metrics"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// Header names of caller info.
const (
	HeaderRequestID = "Exekra-Request-Id"
	HeaderActor     = "Exekra-Actor"
	HeaderSourceIP  = "Exekra-Source-Ip"
	// HeaderActorToken names the API token the actor uses (caller.Actor.TokenID);
	// believed like Exekra-Actor, which only the gateway sends for people.
	HeaderActorToken = "Exekra-Actor-Token"
	// HeaderRetryAfter carries errs.Error.RetryAfter (milliseconds) on an error reply.
	HeaderRetryAfter = "Exekra-Retry-After-Ms"
	// HeaderDeadline is when the caller stops waiting for the reply (Unix
	// milliseconds): a handler reads it with CallerDeadline. A header, not a
	// body field, so that services of the previous release (which refuse
	// unknown body fields) take it during a rolling upgrade.
	HeaderDeadline = "Exekra-Deadline"
)

// DefaultTimeout bounds a request whose context has no deadline.
const DefaultTimeout = 10 * time.Second

// Client sends typed requests.
type Client struct {
	nc      *nats.Conn
	metrics *metrics.Registry
}

// NewClient wraps a connection; reg may be nil.
func NewClient(nc *nats.Conn, reg *metrics.Registry) *Client { return &Client{nc: nc, metrics: reg} }

// Conn is the underlying connection.
func (c *Client) Conn() *nats.Conn { return c.nc }

// Call sends req to subject and decodes the reply into Resp.
func Call[Resp any](ctx context.Context, c *Client, subject string, req any) (Resp, error) {
	var out Resp
	err := c.call(ctx, subject, subject, req, &out)
	return out, err
}

// CallVia is Call sent to one instance's own subject for the operation
// subject (runners.InstanceClaimSubject for runners.SubjectClaim); metrics
// count it under subject, so instance names never become label values.
func CallVia[Resp any](ctx context.Context, c *Client, subject, via string, req any) (Resp, error) {
	var out Resp
	err := c.call(ctx, subject, via, req, &out)
	return out, err
}

func (c *Client) call(ctx context.Context, label, subject string, req, out any) (err error) {
	defer func() { c.count(label, err) }()
	body, err := encode(req)
	if err != nil {
		return fmt.Errorf("encode %s request: %w", subject, err)
	}
	msg := nats.NewMsg(subject)
	msg.Data = body
	info := caller.From(ctx)
	msg.Header.Set(HeaderRequestID, info.RequestID)
	msg.Header.Set(HeaderActor, info.Actor.String())
	msg.Header.Set(HeaderSourceIP, info.SourceIP)
	if info.Actor.TokenID != "" {
		msg.Header.Set(HeaderActorToken, info.Actor.TokenID)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()
	msg.Header.Set(HeaderDeadline, strconv.FormatInt(deadline.UnixMilli(), 10))
	reply, err := c.nc.RequestMsgWithContext(ctx, msg)
	if err != nil {
		if errors.Is(err, nats.ErrMaxPayload) {
			// The caller sent too much, the bus is fine: a 413, with the
			// sizes kept for whoever reads the cause.
			return errs.Wrap(errs.PayloadTooLarge, "the request is too large for the Hub to pass on",
				fmt.Errorf("%s: %d bytes, the bus carries at most %d: %w", subject, len(body), c.nc.MaxPayload(), err))
		}
		if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
			return errs.Wrap(errs.Unavailable, "a Hub service is unavailable; try again shortly", fmt.Errorf("%s: %w", subject, err))
		}
		return errs.Wrap(errs.Unavailable, "the Hub's message bus is unavailable", fmt.Errorf("%s: %w", subject, err))
	}
	if code := reply.Header.Get(micro.ErrorCodeHeader); code != "" {
		kind := errs.Kind(code)
		if !kind.Known() {
			kind = errs.Internal
		}
		e := &errs.Error{Kind: kind, Message: reply.Header.Get(micro.ErrorHeader)}
		if ms, err := strconv.ParseInt(reply.Header.Get(HeaderRetryAfter), 10, 64); err == nil && ms > 0 {
			e.RetryAfter = time.Duration(ms) * time.Millisecond
		}
		return e
	}
	switch out := out.(type) {
	case nil:
		return nil
	case *json.RawMessage: // passed on as it came (the gateway's forwarding)
		*out = reply.Data
		return nil
	}
	if err := json.Unmarshal(reply.Data, out); err != nil {
		return fmt.Errorf("decode %s reply: %w", subject, err)
	}
	return nil
}

func (c *Client) count(subject string, err error) {
	if c.metrics == nil {
		return
	}
	outcome := "ok"
	switch {
	case errors.Is(err, context.Canceled):
		outcome = "canceled" // the caller gave up (its client went away): nothing failed
	case err != nil:
		outcome = string(errs.KindOf(err))
	}
	c.metrics.NATSRequests.WithLabelValues(subject, outcome).Inc()
}

// Endpoint is one operation a service answers.
type Endpoint struct {
	Subject string
	Handle  func(ctx context.Context, data []byte) (any, error)
	// Timeout bounds the handler's context; DefaultTimeout when zero. Long
	// polls set it above their longest wait (their callers must, too).
	Timeout time.Duration
}

// Handle makes an Endpoint from a typed function. JSON fields the request
// type lacks are ignored: during a rolling upgrade a newer caller's added
// fields reach an older service (docs/operations.md, "Upgrades"). Callers on
// the bus are Hub processes; the gateway refuses unknown fields of people's
// requests before anything reaches the bus.
func Handle[Req, Resp any](subject string, fn func(ctx context.Context, req Req) (Resp, error)) Endpoint {
	return Endpoint{Subject: subject, Handle: func(ctx context.Context, data []byte) (any, error) {
		var req Req
		if len(data) > 0 {
			if err := json.Unmarshal(data, &req); err != nil {
				return nil, errs.Wrap(errs.InvalidArgument, "malformed request", err)
			}
		}
		return fn(ctx, req)
	}}
}

// handler adapts an Endpoint to micro, running each request on its own
// goroutine (bounded by f) so a slow request never blocks the next. Replies
// are published on nc directly: micro's own Respond/Error must not be called
// after its handler returned (it reads the request's state for its stats).
func handler(ctx context.Context, nc *nats.Conn, log *slog.Logger, reg *metrics.Registry, f *flight, ep Endpoint) micro.Handler {
	return micro.HandlerFunc(func(req micro.Request) {
		if !f.enter() {
			req.Error(string(errs.Unavailable), "the service is stopping; try again", nil)
			count(reg, ep.Subject, string(errs.Unavailable))
			return
		}
		reply, headers, data := req.Reply(), req.Headers(), req.Data()
		go func() {
			defer f.leave()
			serve(ctx, nc, log, reg, ep, reply, nats.Header(headers), data)
		}()
	})
}

// errorReply is micro's error reply format, with the retry delay when there is one.
func errorReply(subject string, err error) *nats.Msg {
	kind, msg := errs.Public(err)
	m := nats.NewMsg(subject)
	m.Header.Set(micro.ErrorCodeHeader, string(kind))
	m.Header.Set(micro.ErrorHeader, msg)
	if after := errs.RetryAfter(err); after > 0 {
		m.Header.Set(HeaderRetryAfter, strconv.FormatInt(after.Milliseconds(), 10))
	}
	return m
}

func count(reg *metrics.Registry, subject, outcome string) {
	if reg != nil {
		reg.NATSRequests.WithLabelValues(subject, outcome).Inc()
	}
}

func serve(ctx context.Context, nc *nats.Conn, log *slog.Logger, reg *metrics.Registry, ep Endpoint, reply string, h nats.Header, data []byte) {
	actor, err := caller.ParseActor(h.Get(HeaderActor))
	if err != nil {
		actor = caller.Actor{Type: "anonymous"}
	}
	if actor.Type == "user" {
		actor.TokenID = h.Get(HeaderActorToken)
	}
	ctx = caller.With(ctx, caller.Info{RequestID: h.Get(HeaderRequestID), Actor: actor, SourceIP: h.Get(HeaderSourceIP)})
	if ms, err := strconv.ParseInt(h.Get(HeaderDeadline), 10, 64); err == nil && ms > 0 {
		ctx = context.WithValue(ctx, deadlineKey{}, time.UnixMilli(ms))
	}
	// A request accepted before Serve's ctx ended is still answered (see Serve).
	timeout := ep.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	resp, err := safeHandle(ctx, ep, data)
	outcome := "ok"
	var m *nats.Msg
	if err != nil {
		kind, _ := errs.Public(err)
		outcome = string(kind)
		if kind == errs.Internal || kind == errs.Unavailable {
			log.ErrorContext(ctx, "request failed", "subject", ep.Subject, "err", err)
		}
		m = errorReply(reply, err)
	} else if m, err = jsonReply(reply, resp); err != nil {
		log.ErrorContext(ctx, "encode reply", "subject", ep.Subject, "err", err)
		m, outcome = errorReply(reply, err), string(errs.Internal)
	}
	if reply != "" {
		if err := nc.PublishMsg(m); err != nil {
			log.ErrorContext(ctx, "respond", "subject", ep.Subject, "err", err)
		}
	}
	count(reg, ep.Subject, outcome)
}

type deadlineKey struct{}

// CallerDeadline is when the caller of the request being handled stops
// waiting for its reply (HeaderDeadline); false when it did not say. A
// handler that waits (a long poll) answers before it, so that its answer
// still finds the caller.
func CallerDeadline(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(deadlineKey{}).(time.Time)
	return t, ok
}

// encode is a bus body: JSON without HTML escaping. Escaped, each '<', '>'
// and '&' takes six bytes, so a body well within the bus's maximum payload
// as sent could outgrow it; nothing on the bus is read as HTML. (A gateway
// reply forwarded as is goes out as application/json with nosniff.)
func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func jsonReply(subject string, resp any) (*nats.Msg, error) {
	data, err := encode(resp)
	if err != nil {
		return nil, err
	}
	m := nats.NewMsg(subject)
	m.Data = data
	return m, nil
}

// safeHandle turns a panic in a handler into an internal error, not a dead process.
func safeHandle(ctx context.Context, ep Endpoint, data []byte) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in %s: %v", ep.Subject, r)
		}
	}()
	return ep.Handle(ctx, data)
}
