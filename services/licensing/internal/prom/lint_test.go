package prom_test

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/services/licensing/internal/prom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
)

// deprecated is the metric kept for one release under its old name, which
// promtool flags (days are not a base unit).
const deprecated = "exekra_license_days_remaining"

func gather(t *testing.T) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	prom.New(reg)
	return reg
}

// TestMetricsPassTheLinter runs promtool check metrics' own linter.
func TestMetricsPassTheLinter(t *testing.T) {
	mfs, err := gather(t).Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	if !names["exekra_license_expiry_timestamp_seconds"] {
		t.Errorf("exekra_license_expiry_timestamp_seconds is not served (served: %v)", names)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if p.Metric != deprecated {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
}

// TestPromtoolCheckMetrics feeds the text exposition to promtool when it is
// installed (Debian package prometheus).
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed; TestMetricsPassTheLinter ran its linter")
	}
	mfs, err := gather(t).Gather()
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	enc := expfmt.NewEncoder(&text, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = &text
	out, err := cmd.CombinedOutput()
	t.Logf("promtool check metrics: %v\n%s", err, out)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" && !strings.HasPrefix(line, deprecated+" ") {
			t.Errorf("promtool check metrics: %s\non:\n%s", line, text.String())
		}
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
}
