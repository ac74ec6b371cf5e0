// Package caller carries who is asking through a context: the request id,
// the acting principal and the source address. The gateway fills it from
// HTTP; natsrpc carries it across NATS in Exekra-* headers.
package caller

import (
	"context"
	"fmt"
	"strings"
)

// Actor is the principal of a request.
type Actor struct {
	Type  string `json:"type"` // user | runner | system | anonymous
	ID    string `json:"id,omitempty"`
	Role  string `json:"role,omitempty"`
	Email string `json:"email,omitempty"`
	// TokenID names the API token the user acts with ("" for a session);
	// it travels in its own header (natsrpc.HeaderActorToken).
	TokenID string `json:"token_id,omitempty"`
}

// String renders the actor for the Exekra-Actor header: type:id:role:email.
func (a Actor) String() string {
	if a.Type == "" {
		return "anonymous"
	}
	return strings.Join([]string{a.Type, a.ID, a.Role, a.Email}, ":")
}

// ParseActor reads what String wrote.
func ParseActor(s string) (Actor, error) {
	if s == "" || s == "anonymous" {
		return Actor{Type: "anonymous"}, nil
	}
	parts := strings.SplitN(s, ":", 4)
	if len(parts) != 4 {
		return Actor{}, fmt.Errorf("malformed actor %q", s)
	}
	return Actor{Type: parts[0], ID: parts[1], Role: parts[2], Email: parts[3]}, nil
}

// Info is everything known about the caller of one request.
type Info struct {
	RequestID string
	Actor     Actor
	SourceIP  string
}

type key struct{}

// With returns ctx carrying info.
func With(ctx context.Context, info Info) context.Context {
	return context.WithValue(ctx, key{}, info)
}

// From returns the caller info in ctx (zero when none).
func From(ctx context.Context) Info {
	info, _ := ctx.Value(key{}).(Info)
	return info
}

// ActorFromContext returns the acting principal in ctx.
func ActorFromContext(ctx context.Context) Actor { return From(ctx).Actor }
