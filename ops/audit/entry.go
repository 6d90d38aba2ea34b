package audit

import (
	"strings"
	"time"
)

// Filter selects audit entries; zero fields match everything.
type Filter struct {
	Cluster string
	Group   string
	Job     string
	Since   time.Time
	Until   time.Time
	Limit   int
	// Action matches entries whose Action equals it, or starts with it
	// followed by a dot ("offsets" matches "offsets.reset").
	Action string
}

// Entry is one record of the audit log.
type Entry struct {
	ID        string    `json:"id"`
	Time      time.Time `json:"time"`
	User      string    `json:"user"`
	SSHClient string    `json:"ssh_client,omitempty"`
	Host      string    `json:"host"`
	Command   string    `json:"command"`
	// Action names what was done: "offsets.reset", "offsets.undo",
	// "offsets.delete", "groups.delete", "topics.create", "jobs.pause", ...
	Action  string `json:"action"`
	Cluster string `json:"cluster,omitempty"`
	Group   string `json:"group,omitempty"`
	Topic   string `json:"topic,omitempty"`
	Job     string `json:"job,omitempty"`
	// Before and After are the committed offsets the action replaced and
	// wrote (offset -1: no commit).
	Before []OffsetValue `json:"before,omitempty"`
	After  []OffsetValue `json:"after,omitempty"`
	// Outcome is "ok" or "failed" (Error says why); "pending" while the
	// process that wrote the intent still runs, "unknown" when it ended
	// before writing the outcome (the change may or may not have been
	// made).
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
	// UndoOf is the id of the entry an undo reverted.
	UndoOf string `json:"undo_of,omitempty"`
	// Details holds action-specific fields.
	Details map[string]string `json:"details,omitempty"`
	// Process is the host and pid of the process that made the change
	// ("host:pid"), so a reader can tell an intent in flight from one
	// whose process ended.
	Process string `json:"process,omitempty"`
}

// OffsetValue is a committed offset of a group on one partition.
type OffsetValue struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	// LeaderEpoch is the committed leader epoch, -1 when unknown.
	LeaderEpoch int32  `json:"leader_epoch"`
	Metadata    string `json:"metadata,omitempty"`
}

// Match reports whether an entry passes the filter's cluster, group, job,
// action and time bounds (Limit is the caller's to apply).
func (f Filter) Match(e Entry) bool {
	switch {
	case f.Cluster != "" && e.Cluster != f.Cluster,
		f.Group != "" && e.Group != f.Group,
		f.Job != "" && e.Job != f.Job,
		!matchAction(f.Action, e.Action),
		!f.Since.IsZero() && e.Time.Before(f.Since),
		!f.Until.IsZero() && e.Time.After(f.Until):
		return false
	}
	return true
}

// matchAction reports whether an entry's action matches a filter's.
func matchAction(filter, action string) bool {
	return filter == "" || action == filter || strings.HasPrefix(action, filter+".")
}
