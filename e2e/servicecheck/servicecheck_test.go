// Package servicecheck holds only tests: they check the service definitions
// in deploy/ (systemd units, the NSSM scripts for Windows) against the code
// they run — the supervisor's defaults, its redis-server arguments, the
// settings keys — without running systemd, Windows or PowerShell.
package servicecheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// repo is the checkout's root, from this package's directory.
const repo = "../.."

// readRepoFile returns a file of the checkout as text.
func readRepoFile(t testing.TB, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repo, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	return string(data)
}

// funcDecl parses a Go file of the checkout and returns one function of it.
func funcDecl(t testing.TB, rel, name string) *ast.FuncDecl {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(repo, filepath.FromSlash(rel)), nil, 0)
	if err != nil {
		t.Fatalf("parse %s: %v", rel, err)
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == name {
			return fd
		}
	}
	t.Fatalf("%s: no function %s (the check must follow the code it mirrors)", rel, name)
	return nil
}

// stringLits lists the string literals under n, unquoted, in source order.
func stringLits(n ast.Node) []string {
	var out []string
	ast.Inspect(n, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if s, err := strconv.Unquote(lit.Value); err == nil {
				out = append(out, s)
			}
		}
		return true
	})
	return out
}

// redisArgs reads the supervisor's redis-server arguments (startRedis in
// children.go) as flag -> value; a value computed at run time (an
// identifier such as bind, port or dir) is given as "<name>".
func redisArgs(t testing.TB) map[string]string {
	t.Helper()
	fd := funcDecl(t, "pilot/supervisor/children.go", "startRedis")
	var args *ast.CompositeLit
	ast.Inspect(fd, func(n ast.Node) bool {
		if kv, ok := n.(*ast.KeyValueExpr); ok {
			if id, ok := kv.Key.(*ast.Ident); ok && id.Name == "Args" {
				args, _ = kv.Value.(*ast.CompositeLit)
			}
		}
		return args == nil
	})
	if args == nil || len(args.Elts)%2 != 0 {
		t.Fatalf("children.go startRedis: no Args: []string{flag, value, ...} literal")
	}
	out := map[string]string{}
	for i := 0; i < len(args.Elts); i += 2 {
		flag, ok := args.Elts[i].(*ast.BasicLit)
		if !ok {
			t.Fatalf("children.go startRedis: argument %d is not a literal flag", i)
		}
		name, _ := strconv.Unquote(flag.Value)
		switch v := args.Elts[i+1].(type) {
		case *ast.BasicLit:
			out[name], _ = strconv.Unquote(v.Value)
		case *ast.Ident:
			out[name] = "<" + v.Name + ">"
		default:
			t.Fatalf("children.go startRedis: value of %s is neither a literal nor a variable", name)
		}
	}
	return out
}

// hostPort splits a default listen address such as 127.0.0.1:16379.
func hostPort(t testing.TB, addr string) (string, string) {
	t.Helper()
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		t.Fatalf("%q is not host:port", addr)
	}
	return addr[:i], addr[i+1:]
}

func TestSupervisorLogFileName(t *testing.T) {
	// The NSSM log of the Hub (service-hub.log) follows the pattern
	// README and DESIGN promise for child output, logs/service-<name>.log,
	// which the supervisor builds in logFile.
	lits := stringLits(funcDecl(t, "pilot/supervisor/supervisor.go", "logFile"))
	if strings.Join(lits, "|") != "service-|.log" {
		t.Fatalf("supervisor logFile builds %q, want service-<name>.log: update deploy/ and this test", lits)
	}
}

// supervisorRedisDir is the bundled Redis's directory the supervisor uses
// (the constant redisDir in children.go), relative to the install dir.
func supervisorRedisDir(t testing.TB) string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(repo, "pilot", "supervisor", "children.go"), nil, 0)
	if err != nil {
		t.Fatalf("parse children.go: %v", err)
	}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if name.Name == "redisDir" && i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						return v
					}
				}
			}
		}
	}
	t.Fatal("pilot/supervisor/children.go: no const redisDir = \"...\" (the check must follow the code it mirrors)")
	return ""
}
