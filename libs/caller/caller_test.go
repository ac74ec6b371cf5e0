package caller

import (
	"context"
	"testing"
)

func TestActorSurvivesItsHeaderForm(t *testing.T) {
	tests := []struct {
		name  string
		actor Actor
		want  Actor
	}{
		{"a user keeps every field", Actor{Type: "user", ID: "u1", Role: "admin", Email: "a@example.com"}, Actor{Type: "user", ID: "u1", Role: "admin", Email: "a@example.com"}},
		{"a runner without role or email", Actor{Type: "runner", ID: "r1"}, Actor{Type: "runner", ID: "r1"}},
		{"an email with a colon stays whole", Actor{Type: "user", ID: "u2", Role: "viewer", Email: "odd:name@example.com"}, Actor{Type: "user", ID: "u2", Role: "viewer", Email: "odd:name@example.com"}},
		{"no actor reads back as anonymous", Actor{}, Actor{Type: "anonymous"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseActor(tt.actor.String())
			if err != nil || got != tt.want {
				t.Fatalf("ParseActor(%q) = %+v, %v; want %+v", tt.actor.String(), got, err, tt.want)
			}
		})
	}
	t.Run("a malformed header is refused", func(t *testing.T) {
		if _, err := ParseActor("user:u1"); err == nil {
			t.Fatal("ParseActor accepted a header with two fields")
		}
	})
}

func TestInfoTravelsInTheContext(t *testing.T) {
	if got := From(context.Background()); got != (Info{}) {
		t.Fatalf("empty context carries %+v", got)
	}
	info := Info{RequestID: "req-1", SourceIP: "192.0.2.1", Actor: Actor{Type: "system"}}
	ctx := With(context.Background(), info)
	if From(ctx) != info || ActorFromContext(ctx).Type != "system" {
		t.Fatalf("From() = %+v", From(ctx))
	}
}
