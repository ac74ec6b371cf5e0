package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/exekra/hub/services/gateway/internal/httpapi"
)

func TestWritesTheServedDocument(t *testing.T) {
	out := filepath.Join(t.TempDir(), "openapi.json")
	if err := run(out); err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := httpapi.Document((&httpapi.Server{}).Routes())
	if err != nil {
		t.Fatal(err)
	}
	built, _ := doc.MarshalJSON()
	var a, b any
	if json.Unmarshal(written, &a) != nil || json.Unmarshal(built, &b) != nil {
		t.Fatal("not JSON")
	}
	wa, _ := json.Marshal(a)
	wb, _ := json.Marshal(b)
	if string(wa) != string(wb) {
		t.Fatal("the file is not the document the gateway builds")
	}
}
