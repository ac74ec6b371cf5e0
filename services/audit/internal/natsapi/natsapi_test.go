package natsapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/services/audit/internal/natsapi"
	"github.com/exekra/hub/services/audit/internal/streamcheck"
)

// store answers every query with nothing and counts them.
type store struct{ queries int }

func (s *store) Present(context.Context, []string) ([]string, error)  { return nil, nil }
func (s *store) Walk(context.Context, func(audit.Record) error) error { return nil }
func (s *store) Checkpoints(context.Context, int) ([]audit.Checkpoint, error) {
	return nil, nil
}
func (s *store) StreamHead(context.Context) (streamcheck.Head, error) { return streamcheck.Head{}, nil }
func (s *store) Query(context.Context, audit.QueryRequest) (audit.QueryResponse, error) {
	s.queries++
	return audit.QueryResponse{}, nil
}

func query(t *testing.T, eps []natsrpc.Endpoint, data string) error {
	t.Helper()
	for _, ep := range eps {
		if ep.Subject == audit.SubjectQuery {
			ctx := caller.With(context.Background(), caller.Info{Actor: caller.Actor{Type: "user", ID: "u", Role: "ADMIN"}})
			_, err := ep.Handle(ctx, []byte(data))
			return err
		}
	}
	t.Fatal("no query endpoint")
	return nil
}

// TestQueryFiltersMustBeText pins that a filter PostgreSQL cannot compare
// (NUL: SQLSTATE 22P05/22021) is the caller's invalid argument, naming the
// filter, and never reaches the store.
func TestQueryFiltersMustBeText(t *testing.T) {
	s := &store{}
	eps := natsapi.Endpoints(s, nil)
	if err := query(t, eps, `{"actor":"ada@acme.test","action":"auth.login","target":"x","limit":10}`); err != nil || s.queries != 1 {
		t.Fatalf("a plain filter: %v (%d queries)", err, s.queries)
	}
	for _, field := range []string{"actor", "action", "target"} {
		err := query(t, eps, `{"`+field+`":"a\u0000b","limit":10}`)
		if _, msg := errs.Public(err); !errs.Is(err, errs.InvalidArgument) || !strings.HasPrefix(msg, field) {
			t.Errorf("%s with NUL: %v, want invalid_argument naming it", field, err)
		}
	}
	if s.queries != 1 {
		t.Fatalf("%d queries reached the store, want 1", s.queries)
	}
}
