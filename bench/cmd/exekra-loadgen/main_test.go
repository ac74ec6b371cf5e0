package main

import (
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/bench/internal/loadgen"
)

func TestParseFlagsSchedules(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"the defaults: 10,000 schedules for 3 minutes in Staging", []string{"--scenario", "schedules"}, ""},
		{"no schedules is refused", []string{"--scenario", "schedules", "--schedules", "0"}, "--schedules must be at least 1"},
		{"bench without schedules leaves the part out", []string{"--scenario", "bench", "--database-url", "postgres://x", "--schedules", "0"}, ""},
		{"negative schedules are refused in bench too", []string{"--scenario", "bench", "--database-url", "postgres://x", "--schedules", "-1"}, "must not be negative"},
		{"a window under a second is refused", []string{"--scenario", "schedules", "--schedules-measure", "500ms"}, "--schedules-measure"},
		{"an unknown environment is refused", []string{"--scenario", "schedules", "--schedules-environment", "Nowhere"}, "--schedules-environment"},
		{"bench checks the schedules part", []string{"--scenario", "bench", "--database-url", "postgres://x", "--schedules-measure", "0s"}, "--schedules-measure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFlags(tc.args)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("parseFlags: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("parseFlags = %v, want an error about %q", err, tc.wantErr)
			}
		})
	}
	o, err := parseFlags([]string{"--scenario", "schedules"})
	if err != nil || o.schedules != 10000 || o.schedulesMeasure != 3*time.Minute || o.scheduleEnv != "Staging" {
		t.Fatalf("defaults %d, %s, %q (%v); want 10000, 3m, Staging", o.schedules, o.schedulesMeasure, o.scheduleEnv, err)
	}
}

func TestParseFlagsCreateBatch(t *testing.T) {
	o, err := parseFlags([]string{"--scenario", "jobs"})
	if err != nil || o.createBatch != 1 {
		t.Fatalf("default --create-batch = %d (%v), want 1: one POST /api/v1/jobs per job", o.createBatch, err)
	}
	if o, err := parseFlags([]string{"--scenario", "jobs", "--create-batch", "100"}); err != nil || o.createBatch != 100 {
		t.Fatalf("--create-batch 100 = %d (%v)", o.createBatch, err)
	}
	for _, n := range []string{"0", "101"} {
		if _, err := parseFlags([]string{"--scenario", "jobs", "--create-batch", n}); err == nil || !strings.Contains(err.Error(), "--create-batch") {
			t.Fatalf("--create-batch %s: %v, want it refused", n, err)
		}
	}
}

func TestHeartbeatAndSaturationFlags(t *testing.T) {
	o, err := parseFlags([]string{"--scenario", "heartbeat"})
	if err != nil || o.runners != 25000 || o.saturated != 0 {
		t.Fatalf("defaults --runners %d, --saturated %d (%v); want 25000 (the target's fleet), 0", o.runners, o.saturated, err)
	}
	if o, err := parseFlags([]string{"--scenario", "heartbeat", "--saturated", "4"}); err != nil || o.saturated != 4 {
		t.Fatalf("--saturated 4 = %d (%v)", o.saturated, err)
	}
	if _, err := parseFlags([]string{"--saturated", "-1"}); err == nil || !strings.Contains(err.Error(), "--saturated") {
		t.Fatalf("--saturated -1: %v, want it refused", err)
	}
	// The heartbeat row carries its runner count: the verdict needs it.
	o.runners = 10000
	if row := heartbeatRow(loadgen.Result{Operation: "heartbeat", ClaimErrors: 2}, o); row.Runners != 10000 || row.Errors != 2 {
		t.Fatalf("heartbeat row = %+v; want 10000 runners and the failed claims as errors", row)
	}
}
