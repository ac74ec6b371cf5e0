package natsapi_test

import (
	"testing"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
)

func TestPermissions(t *testing.T) {
	h := newHarness(t)
	reg := h.register(t, "r1", runners.EnvProduction)
	id := reg.Runner.ID
	runnerActor := caller.Actor{Type: "runner", ID: id}
	anonymous := caller.Actor{Type: "anonymous"}
	forged := caller.Actor{Type: "runner", ID: id, Role: "ADMIN"}
	ops := map[string]func(caller.Actor) error{
		"register": func(a caller.Actor) error {
			_, err := call[runners.Registered](as(a), h, runners.SubjectRegister, runners.RegisterRequest{Name: "x-" + a.Role + a.Type, Environment: runners.EnvStaging})
			return err
		},
		"regenerate": func(a caller.Actor) error {
			_, err := call[runners.MachineSecret](as(a), h, runners.SubjectRegenerateSecret, runners.RegenerateSecretRequest{ID: id})
			return err
		},
		"delete": func(a caller.Actor) error {
			_, err := call[runners.DeleteResponse](as(a), h, runners.SubjectDelete, runners.DeleteRequest{ID: id})
			return err
		},
		"list": func(a caller.Actor) error {
			_, err := call[runners.ListResponse](as(a), h, runners.SubjectList, runners.ListRequest{})
			return err
		},
		"census": func(a caller.Actor) error {
			c, err := call[runners.Census](as(a), h, runners.SubjectCensus, runners.CensusRequest{})
			if err == nil && len(c.Rows) != len(runners.Environments)*len(runners.Statuses) {
				t.Errorf("census rows %+v", c.Rows)
			}
			for _, r := range c.Rows {
				if want := map[bool]int{true: 1, false: 0}[r.Environment == runners.EnvProduction && r.Status == runners.StatusNeverConnected]; r.Runners != want {
					t.Errorf("census row %+v, want %d", r, want)
				}
			}
			return err
		},
		"get": func(a caller.Actor) error {
			_, err := call[runners.Runner](as(a), h, runners.SubjectGet, runners.GetRequest{ID: id})
			return err
		},
	}
	tests := []struct {
		actor   caller.Actor
		allowed []string
	}{
		{operator, []string{"list", "get", "census"}},
		{developer, []string{"list", "get", "census"}},
		{runnerActor, nil},
		{anonymous, nil},
		{forged, nil},
	}
	for _, tt := range tests {
		for _, op := range []string{"register", "regenerate", "delete", "list", "get", "census"} {
			want := errs.PermissionDenied
			for _, ok := range tt.allowed {
				if ok == op {
					want = ""
				}
			}
			t.Run(tt.actor.Type+" "+tt.actor.Role+" "+op, func(t *testing.T) {
				err := ops[op](tt.actor)
				if want == "" && err != nil {
					t.Fatalf("%s: %v", op, err)
				}
				if want != "" {
					wantKind(t, err, want)
				}
			})
		}
	}
	t.Run("the refused calls changed nothing", func(t *testing.T) {
		if _, err := h.beat(gateway(sourceIP), id, reg.MachineSecret, heartbeat()); err != nil {
			t.Fatal(err)
		}
		if n := h.count(t); n != 1 {
			t.Fatalf("count %d", n)
		}
	})
	t.Run("an administrator may do all of it", func(t *testing.T) {
		for _, op := range []string{"list", "get", "register", "regenerate", "delete"} {
			if err := ops[op](admin); err != nil {
				t.Fatalf("%s: %v", op, err)
			}
		}
	})
}
