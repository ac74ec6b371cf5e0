package supervisor

import (
	"testing"

	"github.com/exekra/hub/libs/config"
)

func TestNeedsPrivateDatabase(t *testing.T) {
	tests := []struct {
		name string
		set  func(*config.Database)
		want bool
	}{
		{"no connection string at all", func(*config.Database) {}, true},
		{"a shared connection string", func(d *config.Database) { d.URL = "postgres://db/hub" }, false},
		{"some services with their own", func(d *config.Database) { d.IdentityURL, d.AuditURL = "postgres://a", "postgres://b" }, true},
		{"every service with its own", func(d *config.Database) {
			d.IdentityURL, d.LicensingURL, d.RunnersURL, d.AuditURL = "postgres://a", "postgres://b", "postgres://c", "postgres://d"
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default("/opt/exekra/hub")
			tt.set(&cfg.Database)
			if got := needsPrivateDatabase(cfg); got != tt.want {
				t.Fatalf("needsPrivateDatabase = %v, want %v", got, tt.want)
			}
		})
	}
}
