package natsapi_test

import (
	"strings"
	"testing"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/services/runners/internal/runner"
)

func TestAuthFailures(t *testing.T) {
	h := newHarness(t)
	reg := h.register(t, "r1", runners.EnvProduction)
	const attacker = "192.0.2.66"
	wrong := "exk_ms_" + strings.Repeat("A", 43)
	unknown := "00000000-0000-4000-8000-0000000000ff"
	t.Run("a wrong secret, an unknown runner and a malformed id are all invalid_credentials", func(t *testing.T) {
		_, err := h.beat(gateway(attacker), reg.Runner.ID, wrong, heartbeat())
		wantKind(t, err, errs.InvalidCredentials)
		_, err = h.beat(gateway(attacker), unknown, reg.MachineSecret, heartbeat())
		wantKind(t, err, errs.InvalidCredentials)
		_, err = h.beat(gateway(attacker), reg.MachineSecret, reg.MachineSecret, heartbeat()) // secret pasted as the id
		wantKind(t, err, errs.InvalidCredentials)
	})
	t.Run("each failure is audited without the secret or its hash", func(t *testing.T) {
		evs := h.events(t)[1:] // after runner.register
		reasons := []string{runner.ReasonWrong, runner.ReasonUnknown, runner.ReasonMalformed}
		if len(evs) != 3 {
			t.Fatalf("%d events", len(evs))
		}
		for i, ev := range evs {
			if ev.Action != "runner.auth_failure" || ev.Outcome != audit.Failure || ev.Reason != reasons[i] ||
				ev.SourceIP != attacker || ev.Actor.Type != audit.ActorRunner || ev.Details["user_agent"] != "exekra-runner/test" {
				t.Errorf("event %s", ev.Raw)
			}
			for _, secret := range []string{wrong, reg.MachineSecret, runners.SecretSHA256(wrong), runners.SecretSHA256(reg.MachineSecret),
				strings.TrimPrefix(reg.MachineSecret, "exk_ms_")} {
				if strings.Contains(ev.Raw, secret) {
					t.Errorf("event %s holds a secret or hash", ev.Raw)
				}
			}
		}
		if evs[0].Target.ID != reg.Runner.ID || evs[1].Target.ID != unknown || evs[2].Target.ID != "" {
			t.Fatalf("targets %q %q %q", evs[0].Target.ID, evs[1].Target.ID, evs[2].Target.ID)
		}
	})
	t.Run("failures are counted by reason", func(t *testing.T) {
		for reason, want := range map[string]float64{runner.ReasonWrong: 1, runner.ReasonUnknown: 1, runner.ReasonMalformed: 1, runner.ReasonThrottled: 0} {
			if got := h.failures(t, reason); got != want {
				t.Errorf("%s: %v, want %v", reason, got, want)
			}
		}
	})
	var throttledErr error
	t.Run("after a burst of failures an address is rate_limited with a retry delay", func(t *testing.T) {
		for range runner.FailureBurst - 3 {
			_, err := h.beat(gateway(attacker), reg.Runner.ID, wrong, heartbeat())
			wantKind(t, err, errs.InvalidCredentials)
		}
		_, throttledErr = h.beat(gateway(attacker), reg.Runner.ID, wrong, heartbeat())
		wantKind(t, throttledErr, errs.RateLimited)
		if after := errs.RetryAfter(throttledErr); after <= 0 || after > runner.FailureRefill {
			t.Fatalf("retry after %v", after)
		}
		if h.failures(t, runner.ReasonThrottled) != 1 {
			t.Fatal("the throttled attempt was not counted")
		}
	})
	t.Run("throttled attempts are not audited and do not reach PostgreSQL", func(t *testing.T) {
		events, reads := len(h.events(t)), h.store.credential.Load()
		for range 5 {
			_, err := h.beat(gateway(attacker), unknown, wrong, heartbeat())
			wantKind(t, err, errs.RateLimited)
		}
		if len(h.events(t)) != events || h.store.credential.Load() != reads {
			t.Fatal("throttled attempts were audited or read PostgreSQL")
		}
	})
	t.Run("the right secret is rate_limited too from that address", func(t *testing.T) {
		_, err := h.beat(gateway(attacker), reg.Runner.ID, reg.MachineSecret, heartbeat())
		wantKind(t, err, errs.RateLimited)
	})
	t.Run("other addresses are not throttled", func(t *testing.T) {
		_, err := h.beat(gateway("192.0.2.67"), reg.Runner.ID, wrong, heartbeat())
		wantKind(t, err, errs.InvalidCredentials)
	})
	t.Run("the bucket refills with time", func(t *testing.T) {
		h.clock.Advance(runner.FailureRefill)
		_, err := h.beat(gateway(attacker), reg.Runner.ID, wrong, heartbeat())
		wantKind(t, err, errs.InvalidCredentials)
		_, err = h.beat(gateway(attacker), reg.Runner.ID, wrong, heartbeat())
		wantKind(t, err, errs.RateLimited)
	})
}

// TestAuthThrottleIsNoOracle is the guesser's view: once an address is over
// its failure limit, the right secret is answered exactly as a wrong one (429
// with a retry delay), does not unlock the address, and the lock ends one
// refill period after the last counted failure however often it is retried.
func TestAuthThrottleIsNoOracle(t *testing.T) {
	h := newHarness(t)
	reg := h.register(t, "r1", runners.EnvProduction)
	const guesser = "192.0.2.80"
	wrong := "exk_ms_" + strings.Repeat("B", 43)
	for range runner.FailureBurst {
		_, err := h.beat(gateway(guesser), reg.Runner.ID, wrong, heartbeat())
		wantKind(t, err, errs.InvalidCredentials)
	}
	_, wrongErr := h.beat(gateway(guesser), reg.Runner.ID, wrong, heartbeat())
	wantKind(t, wrongErr, errs.RateLimited)
	t.Run("N wrong then right: 429 with Retry-After, not 200", func(t *testing.T) {
		_, err := h.beat(gateway(guesser), reg.Runner.ID, reg.MachineSecret, heartbeat())
		wantKind(t, err, errs.RateLimited)
		if got, want := errs.RetryAfter(err), errs.RetryAfter(wrongErr); got != want || got <= 0 {
			t.Fatalf("retry after %v for the right secret, %v for a wrong one", got, want)
		}
		if err.Error() != wrongErr.Error() {
			t.Fatalf("the right secret is answered %q, a wrong one %q", err, wrongErr)
		}
	})
	t.Run("the right secret does not unlock the address", func(t *testing.T) {
		for range 3 {
			_, err := h.beat(gateway(guesser), reg.Runner.ID, reg.MachineSecret, heartbeat())
			wantKind(t, err, errs.RateLimited)
		}
		_, err := h.beat(gateway(guesser), reg.Runner.ID, wrong, heartbeat())
		wantKind(t, err, errs.RateLimited)
	})
	t.Run("refused attempts do not prolong the lock: the agent is back after one refill", func(t *testing.T) {
		h.clock.Advance(runner.FailureRefill)
		if _, err := h.beat(gateway(guesser), reg.Runner.ID, reg.MachineSecret, heartbeat()); err != nil {
			t.Fatal(err)
		}
	})
}

func (h *harness) failures(t testing.TB, reason string) float64 {
	t.Helper()
	families, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "exekra_runner_auth_failures_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestRegistryAudit(t *testing.T) {
	h := newHarness(t)
	reg := h.register(t, "r1", runners.EnvProduction, "gpu")
	secret := must[runners.MachineSecret](t)(call[runners.MachineSecret](as(admin), h, runners.SubjectRegenerateSecret,
		runners.RegenerateSecretRequest{ID: reg.Runner.ID})).MachineSecret
	if _, err := call[runners.DeleteResponse](as(admin), h, runners.SubjectDelete, runners.DeleteRequest{ID: reg.Runner.ID}); err != nil {
		t.Fatal(err)
	}
	evs := h.events(t)
	want := []string{"runner.register", "runner.secret_regenerate", "runner.delete"}
	if len(evs) != len(want) {
		t.Fatalf("%d events", len(evs))
	}
	for i, ev := range evs {
		t.Run(want[i]+" is recorded with its actor and target, never a secret", func(t *testing.T) {
			if ev.Action != want[i] || ev.Outcome != audit.Success || ev.Actor.ID != admin.ID || ev.Actor.Email != admin.Email ||
				ev.Target.Type != "runner" || ev.Target.ID != reg.Runner.ID || ev.Details["name"] != "r1" ||
				ev.Details["environment"] != runners.EnvProduction || ev.RequestID != "req-test" || ev.SourceIP != sourceIP {
				t.Fatalf("event %s", ev.Raw)
			}
			for _, s := range []string{reg.MachineSecret, secret, runners.SecretSHA256(secret), runners.SecretSHA256(reg.MachineSecret), "secret_sha256"} {
				if strings.Contains(ev.Raw, s) {
					t.Fatalf("event %s holds %q", ev.Raw, s)
				}
			}
		})
	}
}
