package ingest_test

import (
	"testing"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/services/audit/internal/ingest"
)

func TestFromItsService(t *testing.T) {
	for _, c := range []struct {
		subject, service string
		want             bool
	}{
		{"exekra.audit.events.identity", "identity", true},
		{"exekra.audit.events.gateway", "gateway", true},
		{"exekra.audit.events.runners", "identity", false}, // runners forging identity's event
		{"exekra.audit.events.identity", "", false},
		{"exekra.audit.events.identity.x", "identity", false},
	} {
		if got := ingest.FromItsService(c.subject, audit.Event{Service: c.service}); got != c.want {
			t.Errorf("FromItsService(%q, service %q) = %v, want %v", c.subject, c.service, got, c.want)
		}
	}
}
