package daemon_test

import (
	"context"
	"errors"
	"testing"

	"github.com/exekra/hub/libs/daemon"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/exekra/hub/libs/testkit/redistest"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestALostDatabaseIsUnavailable: a service's endpoint that fails because
// PostgreSQL went away (a restart, a failover) answers unavailable, which
// the gateway turns into 503 and clients retry, not internal (500, a bug).
func TestALostDatabaseIsUnavailable(t *testing.T) {
	spec := identitySpec(t)
	setup := spec.Setup
	spec.Setup = func(ctx context.Context, d *daemon.Deps) ([]natsrpc.Endpoint, error) {
		eps, err := setup(ctx, d)
		return append(eps,
			natsrpc.Handle("exekra.identity.v1.test.restarted", func(context.Context, struct{}) (string, error) {
				return "", &pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"}
			}),
			natsrpc.Handle("exekra.identity.v1.test.bug", func(context.Context, struct{}) (string, error) {
				return "", errors.New("a bug")
			})), err
	}
	natsURL := natstest.URL(t)
	r := run(t, spec, []string{
		"EXEKRA_DATABASE_URL=" + pgtest.New(t), "EXEKRA_NATS_URL=" + natsURL, "EXEKRA_REDIS_URL=" + redistest.New(t),
		"EXEKRA_IDENTITY_METRICS_LISTEN=127.0.0.1:0", "EXEKRA_DATABASE_CONNECT_TIMEOUT=5s",
	})
	c := natsrpc.NewClient(natstest.Connect(t, natsURL), nil)
	waitForStatus(t, c, r)
	for subject, want := range map[string]errs.Kind{
		"exekra.identity.v1.test.restarted": errs.Unavailable,
		"exekra.identity.v1.test.bug":       errs.Internal,
	} {
		if _, err := natsrpc.Call[string](context.Background(), c, subject, struct{}{}); errs.KindOf(err) != want {
			t.Errorf("%s: %v, want %s", subject, err, want)
		}
	}
}
