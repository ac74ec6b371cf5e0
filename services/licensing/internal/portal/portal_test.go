package portal_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	licfile "github.com/exekra/hub/libs/license"
	"github.com/exekra/hub/services/licensing/internal/portal"
	"github.com/exekra/hub/services/licensing/internal/portalsim"
)

func reports(n int) []licfile.UsageReport {
	out := make([]licfile.UsageReport, n)
	for i := range out {
		out[i] = licfile.UsageReport{ReportID: fmt.Sprintf("r%d", i), LicenseID: "L", InstallationID: "I", At: time.Now()}
	}
	return out
}

func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/usage"
}

func TestSend(t *testing.T) {
	ctx := context.Background()
	vendor, _, _ := licfile.Keygen()
	sim := portalsim.New(t, vendor)
	c := portal.New(2*time.Second, "test")
	t.Run("a queue larger than one batch goes in batches of MaxBatch", func(t *testing.T) {
		if err := c.Send(ctx, sim.URL(), reports(portal.MaxBatch+2)); err != nil {
			t.Fatal(err)
		}
		if b := sim.Batches(); len(b) != 2 || b[0] != portal.MaxBatch || b[1] != 2 {
			t.Fatalf("batches = %v", b)
		}
	})
	t.Run("the portal drops a report it already has", func(t *testing.T) {
		if err := c.Send(ctx, sim.URL(), reports(1)); err != nil {
			t.Fatal(err)
		}
		if sim.Deliveries("r0") != 2 || len(sim.Reports()) != portal.MaxBatch+2 {
			t.Fatalf("deliveries %d, unique %d", sim.Deliveries("r0"), len(sim.Reports()))
		}
	})
	failures := []struct{ name, url, want string }{
		{"a portal that is down is an error", sim.URL(), "post usage reports"},
		{"nothing listening is an error", closedURL(t), "post usage reports"},
		{"a non-2xx answer is an error", strings.Replace(sim.URL(), "/api/v1/usage", "/elsewhere", 1), "404"},
	}
	for i, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			sim.SetDown(i == 0)
			defer sim.SetDown(false)
			if err := c.Send(ctx, f.url, reports(1)); err == nil || !strings.Contains(err.Error(), f.want) {
				t.Fatalf("err = %v, want one naming %q", err, f.want)
			}
		})
	}
}
