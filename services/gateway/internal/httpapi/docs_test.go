package httpapi

import (
	"bufio"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// securityModel is the operators' page whose roles table this test holds
// against the route table.
var securityModel = filepath.Join("..", "..", "..", "..", "docs", "security-model.md")

// rolesTableHeader starts the table of every route and its least role.
const rolesTableHeader = "| method | path | least role |"

// docRoute is one row of the roles table: "GET /api/v1/users/{id}" and its access.
type docRoute struct {
	key, access string
	line        int
}

// readRolesTable returns the rows of the roles table in docs/security-model.md.
func readRolesTable(t *testing.T) []docRoute {
	t.Helper()
	f, err := os.Open(securityModel)
	if err != nil {
		t.Fatalf("the roles table lives in docs/security-model.md: %v", err)
	}
	defer f.Close()
	var rows []docRoute
	inTable, n := false, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if !inTable {
			if strings.HasPrefix(line, rolesTableHeader) {
				if rows != nil {
					t.Fatalf("%s:%d: a second roles table", securityModel, n)
				}
				inTable, rows = true, []docRoute{}
			}
			continue
		}
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 3 {
			t.Errorf("%s:%d: a row of the roles table needs method, path and least role: %q", securityModel, n, line)
			continue
		}
		method, path, access := cell(cells[0]), cell(cells[1]), cell(cells[2])
		if strings.Trim(method, "-: ") == "" { // the |---|---| line
			continue
		}
		rows = append(rows, docRoute{key: method + " " + path, access: access, line: n})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if rows == nil {
		t.Fatalf("%s has no table starting %q", securityModel, rolesTableHeader)
	}
	return rows
}

// pathParam is a gin path parameter (:id), written {id} in the docs.
var pathParam = regexp.MustCompile(`:([A-Za-z_]+)`)

// cell is a table cell without its spaces and code quotes.
func cell(s string) string { return strings.Trim(strings.TrimSpace(s), "`") }

// servedRoutes is every API route the gateway serves with the least role
// its policy enforces, paths written as OpenAPI writes them ({id}).
func servedRoutes() map[string]string {
	routes := (&Server{}).Routes()
	// Engine serves the OpenAPI document beside the table's routes.
	if !slices.ContainsFunc(routes, func(r Route) bool { return r.Path == "/api/v1/openapi.json" }) {
		routes = append(routes, Route{Method: http.MethodGet, Path: "/api/v1/openapi.json", Access: Anyone})
	}
	out := map[string]string{}
	for _, r := range routes {
		out[r.Method+" "+pathParam.ReplaceAllString(r.Path, "{$1}")] = r.Access
	}
	return out
}

// TestSecurityModelRolesTable holds the roles table of docs/security-model.md
// against the route table, both ways: every route served is in the table
// with the least role its policy enforces, and every row is a served route.
func TestSecurityModelRolesTable(t *testing.T) {
	served := servedRoutes()
	documented := map[string]bool{}
	for _, row := range readRolesTable(t) {
		if documented[row.key] {
			t.Errorf("%s:%d: %s is in the roles table twice", securityModel, row.line, row.key)
		}
		documented[row.key] = true
		access, ok := served[row.key]
		switch {
		case !ok:
			t.Errorf("%s:%d: %s is in the roles table but the gateway serves no such route", securityModel, row.line, row.key)
		case access != row.access:
			t.Errorf("%s:%d: %s: the table says %q, the route table enforces %q", securityModel, row.line, row.key, row.access, access)
		}
	}
	var missing []string
	for key, access := range served {
		if !documented[key] {
			missing = append(missing, "| `"+strings.Replace(key, " ", "` | `", 1)+"` | "+access+" |")
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("routes missing from the roles table of %s:\n%s", securityModel, strings.Join(missing, "\n"))
	}
}
