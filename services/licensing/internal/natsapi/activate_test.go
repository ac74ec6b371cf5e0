package natsapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	contract "github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/errs"
	licfile "github.com/exekra/hub/libs/license"
)

func TestActivation(t *testing.T) {
	h := newHarness(t)
	first := h.issue(nil)
	sig, _ := licfile.SignatureOf(first)

	t.Run("anyone may activate the first license", func(t *testing.T) {
		st := h.mustActivate(anonymous, first)
		if st.Status != contract.StatusActive || st.MaxRunners != 5 || st.InstallationID == "" || st.Validation.Mode != "online" {
			t.Fatalf("status = %+v", st)
		}
		setup, err := call[contract.SetupState](h, anonymous, contract.SubjectSetupState, contract.SetupStateRequest{})
		if err != nil || !setup.Licensed {
			t.Fatalf("setup state = %+v, %v", setup, err)
		}
		evs := h.events("license.activate")
		if len(evs) != 1 || evs[0].Outcome != audit.Success || evs[0].Actor.Type != audit.ActorSystem || evs[0].SourceIP != "192.0.2.7" {
			t.Fatalf("audit = %+v", evs)
		}
	})
	cases := []struct {
		name    string
		as      caller.Actor
		license func() string
		runners int
		up      bool
		want    errs.Kind
		message string
	}{
		{"an anonymous caller cannot replace the active license", anonymous, func() string { return h.issue(nil) }, 0, true, errs.PermissionDenied, "administrator"},
		{"a non-admin cannot replace the active license", operator, func() string { return h.issue(nil) }, 0, true, errs.PermissionDenied, "administrator"},
		{"a license allowing fewer runners than are registered is refused",
			admin, func() string { return h.issue(func(d *licfile.Document) { d.MaxRunners = 3 }) }, 4, true, errs.InvalidLicense, "4 are registered"},
		{"a downgrade is refused while the runner count is unknown",
			admin, func() string { return h.issue(func(d *licfile.Document) { d.MaxRunners = 4 }) }, 0, false, errs.Unavailable, "cannot be checked"},
		{"an expired license is refused",
			admin, func() string {
				return h.issue(func(d *licfile.Document) { d.NotBefore, d.ExpiresAt = start.Add(-9*day), start.Add(-day) })
			}, 0, true, errs.InvalidLicense, "expired"},
		{"a tampered license is refused",
			admin, func() string { return strings.Replace(h.issue(nil), "alg: ed25519", "alg: ed448", 1) }, 0, true, errs.InvalidLicense, "ed448"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.runners.set(t, c.runners, c.up)
			defer h.runners.set(t, 0, true)
			_, err := h.activate(c.as, c.license())
			if errs.KindOf(err) != c.want || !strings.Contains(err.Error(), c.message) {
				t.Fatalf("activate = %v, want %s naming %q", err, c.want, c.message)
			}
			st, _ := h.status()
			if st.MaxRunners != 5 {
				t.Fatalf("the first license should still be active: %+v", st)
			}
		})
	}
	t.Run("an admin may renew, with a license allowing more runners even without a count", func(t *testing.T) {
		h.clock.Advance(time.Second)
		h.runners.set(t, 0, false)
		defer h.runners.set(t, 0, true)
		renewal := h.issue(func(d *licfile.Document) { d.MaxRunners = 10 })
		st := h.mustActivate(admin, renewal)
		if st.MaxRunners != 10 || st.Usage.Note == "" {
			t.Fatalf("status = %+v", st)
		}
		evs := h.events("license.activate")
		last := evs[len(evs)-1]
		if last.Outcome != audit.Success || last.Actor.ID != "u-admin" || last.Details["replaced_license_id"] == nil {
			t.Fatalf("audit = %+v", last)
		}
	})
	t.Run("each refusal is audited as a failure with its reason, without key material", func(t *testing.T) {
		var failures []audit.Event
		for _, ev := range h.events("license.activate") {
			if ev.Outcome == audit.Failure {
				failures = append(failures, ev)
			}
		}
		if len(failures) != len(cases) || failures[0].Reason == "" || failures[4].Details["reason"] != "expired" {
			t.Fatalf("failures = %+v", failures)
		}
		if text := h.outboxText(); strings.Contains(text, "BEGIN") || strings.Contains(text, sig) {
			t.Fatal("an audit event holds license or key material")
		}
	})
}

func TestConcurrentFirstActivations(t *testing.T) {
	h := newHarness(t)
	texts := []string{h.issue(func(d *licfile.Document) { d.LicenseID = "L-a" }), h.issue(func(d *licfile.Document) { d.LicenseID = "L-b" })}
	errc := make(chan error, len(texts))
	for _, text := range texts {
		go func() { _, err := h.activate(anonymous, text); errc <- err }()
	}
	var won, refused int
	for range texts {
		switch err := <-errc; {
		case err == nil:
			won++
		case errs.Is(err, errs.PermissionDenied):
			refused++
		default:
			t.Fatalf("activate = %v", err)
		}
	}
	if won != 1 || refused != 1 {
		t.Fatalf("won %d, refused %d; want exactly one anonymous activation", won, refused)
	}
}
