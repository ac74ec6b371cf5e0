//go:build !linux

package main

import (
	"context"
	"errors"
	"io"
)

// Backup and restore run on the Hub's machine: the pilot supervisor, its
// private PostgreSQL and embedded NATS are Linux programs.
var errLinuxOnly = errors.New("backup and restore run on the Hub's own (Linux) machine")

func runBackup(context.Context, []string, []string, io.Writer) error  { return errLinuxOnly }
func runRestore(context.Context, []string, []string, io.Writer) error { return errLinuxOnly }
