package main

import (
	"context"
	"log/slog"
	"runtime"
	"strings"
)

// quietClients is a slog.Handler that passes the records franz-go's client
// logs (through kslog) only at warn and above, unless debug is on: kdeck's
// own lifecycle events stay at info, the client's connection and group
// chatter does not drown them ('kdeck run' wrote 1,393 lines in 35 s).
type quietClients struct {
	slog.Handler
	debug bool
}

// newQuietClients wraps h; debug passes every client record h enables.
func newQuietClients(h slog.Handler, debug bool) slog.Handler {
	return quietClients{Handler: h, debug: debug}
}

// Handle implements slog.Handler.
func (q quietClients) Handle(ctx context.Context, r slog.Record) error {
	if !q.debug && r.Level < slog.LevelWarn && fromClient(r.PC) {
		return nil
	}
	return q.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (q quietClients) WithAttrs(as []slog.Attr) slog.Handler {
	return quietClients{Handler: q.Handler.WithAttrs(as), debug: q.debug}
}

// WithGroup implements slog.Handler.
func (q quietClients) WithGroup(name string) slog.Handler {
	return quietClients{Handler: q.Handler.WithGroup(name), debug: q.debug}
}

// fromClient reports whether the record at pc was logged by franz-go.
func fromClient(pc uintptr) bool {
	if pc == 0 {
		return false
	}
	f := runtime.FuncForPC(pc)
	return f != nil && strings.HasPrefix(f.Name(), "github.com/twmb/franz-go/")
}
