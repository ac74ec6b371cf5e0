// Package repocheck holds checks of the repository itself, not of a running Hub.
package repocheck

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// root is the checkout's root, from this package's directory.
const root = "../.."

// cited finds repository paths in prose: dir/file.ext, and bare Markdown
// names (architecture.md), which must name a document the repository holds.
var (
	citedPath = regexp.MustCompile(`(?:^|[\s(\x60"'\[])((?:[\w.-]+/)+[\w.-]+\.(?:go|md|yml|yaml|json|sql|sh|conf|cfg|ps1|html|js|css|service))\b`)
	citedDoc  = regexp.MustCompile(`(?:^|[\s(\x60"'\[])([A-Za-z][\w-]*\.md)\b`)
)

// placeholders are install-dir or test-made paths that prose names on
// purpose: they are not files of the repository.
var placeholders = []string{"config/hub-config.json", "config/asset-keys.json", "dir/", "nats-N.conf", "./nats-authorization.conf", "var/", "logs/"}

// TestCommentsCiteFilesThatExist: every file a Go comment or a Markdown
// document names (relative to its own folder or one above it) is in the
// repository, and every Markdown document named bare exists somewhere in it.
func TestCommentsCiteFilesThatExist(t *testing.T) {
	docs := map[string]bool{}
	var texts []struct{ file, text string }
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "bin" || d.Name() == "var") {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case strings.HasSuffix(p, ".md"):
			docs[d.Name()] = true
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			texts = append(texts, struct{ file, text string }{p, string(b)})
		case strings.HasSuffix(p, ".go"):
			f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ParseComments|parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			for _, cg := range f.Comments {
				texts = append(texts, struct{ file, text string }{p, cg.Text()})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, tx := range texts {
		for _, m := range citedPath.FindAllStringSubmatch(tx.text, -1) {
			if c := m[1]; !placeholder(c) {
				checked++
				if !existsNear(tx.file, c) {
					t.Errorf("%s cites %s, which is not in the repository", rel(tx.file), c)
				}
			}
		}
		for _, m := range citedDoc.FindAllStringSubmatch(tx.text, -1) {
			checked++
			if !docs[m[1]] {
				t.Errorf("%s cites %s, which is not in the repository", rel(tx.file), m[1])
			}
		}
	}
	if checked < 50 {
		t.Fatalf("only %d citations found: the patterns no longer match the repository's prose", checked)
	}
}

func placeholder(c string) bool {
	for _, p := range placeholders {
		if strings.HasPrefix(c, p) || strings.HasSuffix(c, p) {
			return true
		}
	}
	return false
}

// existsNear looks for c from the citing file's folder up to the root.
func existsNear(file, c string) bool {
	for dir := filepath.Dir(file); ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(c))); err == nil {
			return true
		}
		if dir == root || dir == "." || dir == "/" {
			return false
		}
	}
}

func rel(p string) string {
	r, err := filepath.Rel(root, p)
	if err != nil {
		return p
	}
	return r
}
