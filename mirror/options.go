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
	shards       map[int]bool // nil: every shard
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

// Shards makes the flow mirror only the partitions of these shards, out of
// Config.TasksMax: partition p of topic t belongs to shard (fnv32a(t) + p)
// mod TasksMax. Each shard commits the progress of its own partitions, so
// the shards of one flow run on different workers (a worker group) without
// sharing anything but the flow's group and internal topics. The default
// mirrors every partition; an empty list mirrors none.
func Shards(ids ...int) Opt {
	return opt(func(o *options) {
		o.shards = map[int]bool{}
		for _, id := range ids {
			o.shards[id] = true
		}
	})
}
