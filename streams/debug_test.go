package streams

import (
	"log/slog"
	"os"
)

// testLog logs to stderr when KDECK_STREAMS_DEBUG is set.
var testLog = func() *slog.Logger {
	if os.Getenv("KDECK_STREAMS_DEBUG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}()
