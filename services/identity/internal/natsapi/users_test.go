package natsapi_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
	"github.com/google/uuid"
)

func TestUsersCreate(t *testing.T) {
	h := newHarness(t, fastParams)
	admin := h.bootstrap(t)
	create := func(req identity.CreateUserRequest) (identity.User, error) {
		return call[identity.User](actorOf(admin), h, identity.SubjectUsersCreate, req)
	}
	t.Run("the role defaults to OPERATOR", func(t *testing.T) {
		u, err := create(identity.CreateUserRequest{Email: "Olga@Example.test", Password: password, Name: "Olga"})
		if err != nil || u.Role != identity.RoleOperator || u.Email != "Olga@Example.test" || u.CreatedAt.IsZero() {
			t.Fatalf("create = %+v, %v", u, err)
		}
	})
	tests := []struct {
		name string
		req  identity.CreateUserRequest
		kind errs.Kind
		msg  string
	}{
		{"a taken email in another case is a conflict", identity.CreateUserRequest{Email: "OLGA@example.TEST", Password: password, Name: "O"}, errs.Conflict, "already exists"},
		{"a malformed email is refused", identity.CreateUserRequest{Email: "olga@", Password: password, Name: "O"}, errs.InvalidArgument, "email"},
		{"an email over 254 characters is refused", identity.CreateUserRequest{Email: strings.Repeat("o", 250) + "@x.test", Password: password, Name: "O"}, errs.InvalidArgument, "254"},
		{"a name over 200 characters is refused", identity.CreateUserRequest{Email: "n@x.test", Password: password, Name: strings.Repeat("n", 201)}, errs.InvalidArgument, "200"},
		{"an unknown role is refused", identity.CreateUserRequest{Email: "r@x.test", Password: password, Name: "R", Role: "ROOT"}, errs.InvalidArgument, "role must be one of"},
		{"a short password is refused", identity.CreateUserRequest{Email: "p@x.test", Password: "1234567", Name: "P"}, errs.InvalidArgument, "at least 8"},
		{"a common password is refused", identity.CreateUserRequest{Email: "p@x.test", Password: "qwerty123", Name: "P"}, errs.InvalidArgument, "commonly used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := create(tt.req)
			wantKind(t, err, tt.kind)
			if _, msg := errs.Public(err); !strings.Contains(msg, tt.msg) {
				t.Fatalf("message %q, want it to mention %q", msg, tt.msg)
			}
		})
	}
}

func TestUsersListPaging(t *testing.T) {
	h := newHarness(t, fastParams)
	admin := h.bootstrap(t)
	want := []string{admin.ID}
	for i := range 7 {
		h.clock.Advance(-1e9) // creation times out of insertion order: the order is by created_at, id
		want = append(want, h.createUser(t, admin, fmt.Sprintf("u%d@x.test", i), "").ID)
	}
	list := func(limit int, cursor string) (identity.ListUsersResponse, error) {
		return call[identity.ListUsersResponse](actorOf(admin), h, identity.SubjectUsersList, identity.ListUsersRequest{Limit: limit, Cursor: cursor})
	}
	t.Run("pages of 3 hold every user once, oldest first, and end without a cursor", func(t *testing.T) {
		var got []string
		var sizes []int
		cursor := ""
		for range 5 {
			page := must[identity.ListUsersResponse](t)(list(3, cursor))
			sizes = append(sizes, len(page.Items))
			for i, u := range page.Items {
				got = append(got, u.ID)
				if i > 0 && page.Items[i-1].CreatedAt.After(u.CreatedAt) {
					t.Fatalf("page out of order: %+v", page.Items)
				}
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		slices.Sort(want)
		sorted := slices.Sorted(slices.Values(got))
		if !slices.Equal(sizes, []int{3, 3, 2}) || !slices.Equal(sorted, want) {
			t.Fatalf("sizes %v, users %v; want [3 3 2], %v", sizes, sorted, want)
		}
	})
	t.Run("no limit means the default page size", func(t *testing.T) {
		if page := must[identity.ListUsersResponse](t)(list(0, "")); len(page.Items) != 8 || page.NextCursor != "" {
			t.Fatalf("page = %d items, cursor %q", len(page.Items), page.NextCursor)
		}
	})
	for _, tt := range []struct {
		name   string
		limit  int
		cursor string
	}{
		{"a limit over 500 is refused", 501, ""},
		{"a negative limit is refused", -1, ""},
		{"a cursor not made here is refused", 10, "not-a-cursor"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := list(tt.limit, tt.cursor)
			wantKind(t, err, errs.InvalidArgument)
		})
	}
}

func TestUsersGetUpdateDelete(t *testing.T) {
	h := newHarness(t, fastParams)
	admin := h.bootstrap(t)
	ctx := actorOf(admin)
	dev := h.createUser(t, admin, "dev@x.test", identity.RoleDeveloper)
	t.Run("get returns the user", func(t *testing.T) {
		u, err := call[identity.User](ctx, h, identity.SubjectUsersGet, identity.GetUserRequest{ID: dev.ID})
		if err != nil || u.ID != dev.ID || u.Email != "dev@x.test" || u.Role != identity.RoleDeveloper {
			t.Fatalf("get = %+v, %v", u, err)
		}
	})
	t.Run("an unknown user is not_found", func(t *testing.T) {
		_, err := call[identity.User](ctx, h, identity.SubjectUsersGet, identity.GetUserRequest{ID: uuid.NewString()})
		wantKind(t, err, errs.NotFound)
	})
	t.Run("an id that is no UUID is invalid_argument", func(t *testing.T) {
		_, err := call[identity.User](ctx, h, identity.SubjectUsersGet, identity.GetUserRequest{ID: "42"})
		wantKind(t, err, errs.InvalidArgument)
	})
	t.Run("update changes only the fields sent", func(t *testing.T) {
		name := "  Devi  "
		u, err := call[identity.User](ctx, h, identity.SubjectUsersUpdate, identity.UpdateUserRequest{ID: dev.ID, Name: &name})
		if err != nil || u.Name != "Devi" || u.Role != identity.RoleDeveloper || u.Disabled {
			t.Fatalf("update = %+v, %v", u, err)
		}
	})
	t.Run("update validates what it is sent", func(t *testing.T) {
		role, short := "SUPERUSER", "short"
		_, err := call[identity.User](ctx, h, identity.SubjectUsersUpdate, identity.UpdateUserRequest{ID: dev.ID, Role: &role})
		wantKind(t, err, errs.InvalidArgument)
		_, err = call[identity.User](ctx, h, identity.SubjectUsersUpdate, identity.UpdateUserRequest{ID: dev.ID, Password: &short})
		wantKind(t, err, errs.InvalidArgument)
	})
	t.Run("updating an unknown user is not_found", func(t *testing.T) {
		name := "Nobody"
		_, err := call[identity.User](ctx, h, identity.SubjectUsersUpdate, identity.UpdateUserRequest{ID: uuid.NewString(), Name: &name})
		wantKind(t, err, errs.NotFound)
	})
	t.Run("delete removes the user", func(t *testing.T) {
		if _, err := call[identity.DeleteUserResponse](ctx, h, identity.SubjectUsersDelete, identity.DeleteUserRequest{ID: dev.ID}); err != nil {
			t.Fatal(err)
		}
		_, err := call[identity.User](ctx, h, identity.SubjectUsersGet, identity.GetUserRequest{ID: dev.ID})
		wantKind(t, err, errs.NotFound)
	})
	t.Run("deleting an unknown user is not_found", func(t *testing.T) {
		_, err := call[identity.DeleteUserResponse](ctx, h, identity.SubjectUsersDelete, identity.DeleteUserRequest{ID: dev.ID})
		wantKind(t, err, errs.NotFound)
	})
}

func TestUsersNeedAnAdmin(t *testing.T) {
	h := newHarness(t, fastParams)
	admin := h.bootstrap(t)
	dev := h.createUser(t, admin, "dev@x.test", identity.RoleDeveloper)
	name := "Mallory"
	requests := map[string]any{
		identity.SubjectUsersList:   identity.ListUsersRequest{Limit: 10},
		identity.SubjectUsersGet:    identity.GetUserRequest{ID: admin.ID},
		identity.SubjectUsersCreate: identity.CreateUserRequest{Email: "m@x.test", Password: password, Name: name, Role: identity.RoleAdmin},
		identity.SubjectUsersUpdate: identity.UpdateUserRequest{ID: dev.ID, Role: new(identity.RoleAdmin)},
		identity.SubjectUsersDelete: identity.DeleteUserRequest{ID: admin.ID},
	}
	actors := []struct {
		name  string
		actor caller.Actor
	}{
		{"a developer", caller.Actor{Type: "user", ID: dev.ID, Role: identity.RoleDeveloper, Email: dev.Email}},
		{"an anonymous caller", caller.Actor{Type: "anonymous"}},
		{"a runner claiming ADMIN", caller.Actor{Type: "runner", ID: uuid.NewString(), Role: identity.RoleAdmin}},
	}
	for _, a := range actors {
		for subject, req := range requests {
			t.Run(a.name+" gets permission_denied from "+subject, func(t *testing.T) {
				_, err := call[struct{}](as(a.actor), h, subject, req)
				wantKind(t, err, errs.PermissionDenied)
			})
		}
	}
	t.Run("nothing changed", func(t *testing.T) {
		if evs := h.events(t); len(evs) != 2 {
			t.Fatalf("%d events, want bootstrap and one create", len(evs))
		}
	})
}
