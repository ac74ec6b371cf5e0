package console

import (
	"net/url"
	"strings"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/gin-gonic/gin"
)

// names resolves the ids a page shows into what people call them: runner
// names (any signed-in role may list runners) and user emails (identity lists
// users to ADMIN only; other roles see their own email and others' ids).
type names struct {
	runners map[string]runners.Runner
	users   map[string]string
}

// lookupNames asks the runners and identity services once per page; a service
// that does not answer leaves its ids as they are.
func (con *Console) lookupNames(c *gin.Context) names {
	n := names{runners: map[string]runners.Runner{}, users: map[string]string{}}
	if p := con.principal(c); p != nil {
		n.users[p.User.ID] = p.User.Email
		n.users[p.User.Email] = p.User.Email
		if identity.RoleAtLeast(p.User.Role, identity.RoleAdmin) {
			if us, err := call[identity.ListUsersResponse](c, con, identity.SubjectUsersList, identity.ListUsersRequest{Limit: 500}); err == nil {
				for _, u := range us.Items {
					n.users[u.ID] = u.Email
				}
			}
		}
	}
	cursor := ""
	for range 4 { // at most 2,000 runners
		list, err := call[runners.ListResponse](c, con, runners.SubjectList, runners.ListRequest{Limit: 500, Cursor: cursor})
		if err != nil {
			break
		}
		for _, r := range list.Items {
			n.runners[r.ID] = r
		}
		if cursor = list.NextCursor; cursor == "" {
			break
		}
	}
	return n
}

// runner is the runner's name, or its id when unknown.
func (n names) runner(id string) string {
	if r, ok := n.runners[id]; ok && r.Name != "" {
		return r.Name
	}
	return id
}

// user is the user's email, or the id when unknown.
func (n names) user(id string) string {
	if e, ok := n.users[id]; ok && e != "" {
		return e
	}
	return id
}

// named applies the names to a job row.
func (n names) named(row jobRow) jobRow {
	if row.RunnerID != nil && *row.RunnerID != "" {
		row.RunnerName = n.runner(*row.RunnerID)
		if row.Job.RunnerName != nil && *row.Job.RunnerName != "" {
			row.RunnerName = *row.Job.RunnerName
		}
	}
	row.CreatedByName = n.user(row.CreatedBy)
	return row
}

// targetLink is the console page of an audit event's target, "" when it has none.
func targetLink(typ, id string) string {
	switch typ {
	case "job":
		return "/jobs/" + url.PathEscape(id)
	case "runner":
		return "/runners/" + url.PathEscape(id)
	case "user":
		return "/users#user-" + url.PathEscape(id)
	case "package":
		name, _, _ := strings.Cut(id, "@")
		return "/packages/" + url.PathEscape(name)
	}
	return ""
}
