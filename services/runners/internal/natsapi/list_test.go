package natsapi_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
)

func TestList(t *testing.T) {
	h := newHarness(t)
	var names []string
	regs := map[string]runners.Registered{}
	for i := range 9 {
		env := runners.Environments[i%3]
		name := fmt.Sprintf("runner-%d", 8-i) // registered out of name order
		regs[name] = h.register(t, name, env)
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range []string{"runner-1", "runner-4", "runner-7"} {
		if _, err := h.beat(gateway(sourceIP), regs[name].Runner.ID, regs[name].MachineSecret, heartbeat()); err != nil {
			t.Fatal(err)
		}
	}
	list := func(req runners.ListRequest) (runners.ListResponse, error) {
		return call[runners.ListResponse](as(operator), h, runners.SubjectList, req)
	}
	pageNames := func(req runners.ListRequest) ([]string, []int) {
		var got []string
		var sizes []int
		for range 10 {
			page := must[runners.ListResponse](t)(list(req))
			sizes = append(sizes, len(page.Items))
			for _, r := range page.Items {
				got = append(got, r.Name)
			}
			if req.Cursor = page.NextCursor; req.Cursor == "" {
				break
			}
		}
		return got, sizes
	}
	t.Run("pages of 4 hold every runner once, by name", func(t *testing.T) {
		got, sizes := pageNames(runners.ListRequest{Limit: 4})
		if !slices.Equal(got, names) || !slices.Equal(sizes, []int{4, 4, 1}) {
			t.Fatalf("names %v sizes %v", got, sizes)
		}
	})
	t.Run("no limit means 50", func(t *testing.T) {
		if page := must[runners.ListResponse](t)(list(runners.ListRequest{})); len(page.Items) != 9 || page.NextCursor != "" {
			t.Fatalf("%d items, cursor %q", len(page.Items), page.NextCursor)
		}
	})
	t.Run("the environment filter", func(t *testing.T) {
		got, _ := pageNames(runners.ListRequest{Limit: 2, Environment: runners.EnvStaging})
		if !slices.Equal(got, []string{"runner-1", "runner-4", "runner-7"}) {
			t.Fatalf("names %v", got)
		}
	})
	t.Run("the status filter, across pages", func(t *testing.T) {
		got, sizes := pageNames(runners.ListRequest{Limit: 2, Status: runners.StatusOnline})
		if !slices.Equal(got, []string{"runner-1", "runner-4", "runner-7"}) || !slices.Equal(sizes, []int{2, 1}) {
			t.Fatalf("names %v sizes %v", got, sizes)
		}
		never, _ := pageNames(runners.ListRequest{Limit: 500, Status: runners.StatusNeverConnected})
		if len(never) != 6 {
			t.Fatalf("never connected %v", never)
		}
	})
	for _, tt := range []struct {
		name string
		req  runners.ListRequest
	}{
		{"a limit over 500 is refused", runners.ListRequest{Limit: 501}},
		{"a negative limit is refused", runners.ListRequest{Limit: -1}},
		{"a cursor not made here is refused", runners.ListRequest{Cursor: "bm90LWEtY3Vyc29y"}},
		{"an unknown environment is refused", runners.ListRequest{Environment: "QA"}},
		{"an unknown status is refused", runners.ListRequest{Status: "sleeping"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := list(tt.req)
			wantKind(t, err, errs.InvalidArgument)
		})
	}
}
