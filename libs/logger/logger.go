// Package logger builds the Hub's structured loggers: JSON lines through
// log/slog, to standard output and to a rotated file logs/hub-<service>.log,
// each line tagged with the service and, when the context has one, the request id.
package logger

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/config"
	"gopkg.in/natefinch/lumberjack.v2"
)

// New returns a logger for service writing to stdout and the rotated file.
// Close the returned closer at exit.
func New(cfg *config.Config, service string) (*slog.Logger, io.Closer, error) {
	dir := cfg.Path(cfg.Log.Dir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, nil, fmt.Errorf("create log dir: %w", err)
	}
	file := &lumberjack.Logger{
		Filename:   filepath.Join(dir, "hub-"+service+".log"),
		MaxSize:    cfg.Log.MaxSizeMB,
		MaxBackups: cfg.Log.MaxFiles,
		Compress:   true,
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Log.Level)); err != nil {
		return nil, nil, fmt.Errorf("log.level: %w", err)
	}
	var w io.Writer = file
	if cfg.Log.Stdout {
		w = io.MultiWriter(os.Stdout, file)
	}
	return NewWriter(w, service, level), file, nil
}

// NewWriter returns a JSON logger for service on w.
func NewWriter(w io.Writer, service string, level slog.Level) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	return slog.New(contextHandler{h}).With("service", service)
}

// contextHandler adds the request id of the context to each record.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := caller.From(ctx).RequestID; id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}
