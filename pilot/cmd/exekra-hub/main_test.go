package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/buildinfo"
)

func TestRunFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantOut string
		wantErr string
	}{
		{"--version prints the version", []string{"--version"}, buildinfo.String() + "\n", ""},
		{"--help prints the usage", []string{"--help"}, "usage: exekra-hub", ""},
		{"an unknown flag is one line with the usage", []string{"--hom", "/x"}, "", "flag provided but not defined: -hom (usage:"},
		{"a stray argument is refused", []string{"start"}, "", `unexpected argument "start"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tt.args, nil, &out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("run = %v, want one line containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("run = %v, output %q; want %q", err, out.String(), tt.wantOut)
			}
		})
	}
}
