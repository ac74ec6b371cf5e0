// Command exekra-openapi prints the OpenAPI document the gateway serves at
// /api/v1/openapi.json, built from its route table, for tools that read it
// without a running Hub: make lint-openapi (Redocly) and the generated API
// client of the end-to-end tests.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/exekra/hub/services/gateway/internal/httpapi"
)

func main() {
	out := flag.String("o", "", "write the document to this file instead of standard output")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "exekra-openapi:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	doc, err := httpapi.Document((&httpapi.Server{}).Routes())
	if err != nil {
		return err
	}
	raw, err := doc.MarshalJSON()
	if err != nil {
		return err
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, raw, "", "  "); err != nil {
		return err
	}
	pretty.WriteByte('\n')
	if out == "" {
		_, err = os.Stdout.Write(pretty.Bytes())
		return err
	}
	return os.WriteFile(out, pretty.Bytes(), 0o644)
}
