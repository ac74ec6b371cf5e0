//go:build linux

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBackupAndRestoreFlags(t *testing.T) {
	home := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		wantErr string
		wantOut string
	}{
		{"restore needs an archive", []string{"restore", "--home", home}, "--from FILE is required", ""},
		{"a stray argument is refused", []string{"backup", "--home", home, "extra"}, `unexpected argument "extra"`, ""},
		{"an unknown flag names the usage", []string{"restore", "--form", "x"}, "usage: exekractl restore", ""},
		{"help prints the flags", []string{"backup", "-h"}, "", "--out"},
		{"a home without settings is explained", []string{"backup", "--home", home}, "hub-config.json not found", ""},
		{"a missing archive is named", []string{"restore", "--home", filepath.Join(home, "new"), "--from", filepath.Join(home, "none.tar.gz")}, "none.tar.gz", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tt.args, &out)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("run %v = %v, want %q", tt.args, err, tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("output %q lacks %q", out.String(), tt.wantOut)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(home, "config", "hub-config.json")); err == nil {
		t.Fatal("a failed command wrote settings")
	}
}
