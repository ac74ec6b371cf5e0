package supervisor

import (
	"slices"
	"testing"

	"github.com/exekra/hub/libs/config"
)

func TestServiceEnv(t *testing.T) {
	environ := []string{"PATH=/usr/bin", "EXEKRA_NATS_URL=nats://elsewhere:4222", "EXEKRA_LOG_LEVEL=debug", "HOME=/root"}
	got := serviceEnv(environ, map[string]string{
		"EXEKRA_NATS_URL":     "nats://127.0.0.1:14222",
		"EXEKRA_REDIS_URL":    "redis://127.0.0.1:16379/0",
		"EXEKRA_DATABASE_URL": "postgres://exekra:pw@127.0.0.1:15432/exekra?sslmode=disable",
	})
	want := []string{"PATH=/usr/bin", "EXEKRA_LOG_LEVEL=debug", "HOME=/root",
		"EXEKRA_DATABASE_URL=postgres://exekra:pw@127.0.0.1:15432/exekra?sslmode=disable",
		"EXEKRA_NATS_URL=nats://127.0.0.1:14222", "EXEKRA_REDIS_URL=redis://127.0.0.1:16379/0"}
	if !slices.Equal(got, want) {
		t.Fatalf("serviceEnv =\n%q\nwant (overrides replace, the rest is kept)\n%q", got, want)
	}
}

func TestServerEnv(t *testing.T) {
	got := config.WithoutSettings([]string{"PATH=/usr/bin", "EXEKRA_DATABASE_URL=postgres://secret", "LANG=C.UTF-8"})
	if want := []string{"PATH=/usr/bin", "LANG=C.UTF-8"}; !slices.Equal(got, want) {
		t.Fatalf("serverEnv = %q, want the Hub's settings dropped: %q", got, want)
	}
}
