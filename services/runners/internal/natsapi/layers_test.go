package natsapi_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDomainsDoNotKnowEachOther: the runner and job domains import neither
// each other nor this adapter layer; natsapi composes them (a heartbeat
// calls the registry, then the jobs).
func TestDomainsDoNotKnowEachOther(t *testing.T) {
	const internal = "github.com/exekra/hub/services/runners/internal/"
	for dir, banned := range map[string][]string{
		"runner": {"job", "natsapi", "packages"},
		"job":    {"runner", "natsapi", "packages"},
	} {
		files, err := filepath.Glob(filepath.Join("..", dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in ../%s: %v", dir, err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parser.ParseFile(token.NewFileSet(), file, data, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				for _, b := range banned {
					if path == internal+b || strings.HasPrefix(path, internal+b+"/") {
						t.Errorf("%s imports %s", file, path)
					}
				}
			}
		}
	}
}
