package mirror

import (
	"log/slog"
	"time"
)

// Opt configures New, in franz-go's form.
type Opt interface{ apply(*options) }

type opt func(*options)

func (f opt) apply(o *options) { f(o) }

type options struct {
	logger       *slog.Logger
	adminTimeout time.Duration
}

// WithLogger sets the logger the flow and its franz-go clients log to;
// default (or nil): discard.
func WithLogger(l *slog.Logger) Opt {
	return opt(func(o *options) {
		if l != nil {
			o.logger = l
		}
	})
}

// AdminTimeout bounds each admin request (topic discovery, creation, config
// sync, offset commits, checkpoints); default 10s.
func AdminTimeout(d time.Duration) Opt { return opt(func(o *options) { o.adminTimeout = d }) }
