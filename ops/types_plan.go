package ops

import "time"

// ResetMode is how a reset chooses each partition's new offset, one per
// kafka-consumer-groups.sh --to-* / --shift-by / --by-duration option.
type ResetMode string

// Reset modes.
const (
	ResetToEarliest ResetMode = "to-earliest"
	ResetToLatest   ResetMode = "to-latest"
	ResetToCurrent  ResetMode = "to-current"
	ResetToOffset   ResetMode = "to-offset"
	ResetShiftBy    ResetMode = "shift-by"
	ResetToDatetime ResetMode = "to-datetime"
	ResetByDuration ResetMode = "by-duration"
	ResetToGroup    ResetMode = "to-group"
	ResetFromFile   ResetMode = "from-file"
)

// ResetRequest asks PlanReset for a plan.
type ResetRequest struct {
	Cluster string
	Group   string
	// Scope is the topics (and partitions) to reset; AllTopics instead
	// takes every topic the group has committed offsets for.
	Scope     []TopicScope
	AllTopics bool
	Mode      ResetMode
	// Offset is the target for ResetToOffset and the delta for ResetShiftBy.
	Offset int64
	// Time is the instant for ResetToDatetime (and the computed one for
	// ResetByDuration, relative to now).
	Time time.Time
	// Duration is how far back ResetByDuration goes.
	Duration time.Duration
	// FromGroup is the source group for ResetToGroup.
	FromGroup string
	// FileOffsets are the rows of a CSV plan for ResetFromFile.
	FileOffsets []FileOffset
	// TargetGroup, when set, writes the offsets to this group instead of
	// Group (replay "as a new application group"); Group is left untouched.
	TargetGroup string
	// TargetGiven says a target group was given (replay --as), so an
	// empty TargetGroup is refused rather than read as "the group itself".
	TargetGiven bool
	// Command is the command line that asked, for the audit log.
	Command string
}

// FileOffset is one row of a kafka-consumer-groups CSV plan.
type FileOffset struct {
	Group     string
	Topic     string
	Partition int32
	Offset    int64
	Line      int
}

// PlanKind says what a plan does when executed.
type PlanKind string

// Plan kinds.
const (
	PlanReset         PlanKind = "reset"
	PlanDeleteOffsets PlanKind = "delete-offsets"
	PlanDeleteGroup   PlanKind = "delete-group"
	PlanUndo          PlanKind = "undo"
)

// Plan is a previewed offset change: what each partition's committed offset
// is now and what it will be. ExecutePlan applies it only if the group's
// committed offsets still equal the ones the plan saw.
type Plan struct {
	Kind    PlanKind `json:"kind"`
	Cluster string   `json:"cluster"`
	// Group is the group whose offsets change (the target group for a
	// replay with --as).
	Group string `json:"group"`
	// SourceGroup is the group the offsets were computed from, when it
	// differs from Group (replay --as, to-group).
	SourceGroup string    `json:"source_group,omitempty"`
	Mode        ResetMode `json:"mode,omitempty"`
	// Instant is the time a datetime or duration reset resolved to.
	Instant *time.Time `json:"instant,omitempty"`
	Rows    []PlanRow  `json:"rows"`
	Totals  PlanTotals `json:"totals"`
	Created time.Time  `json:"created"`
	// UndoOf is the audit id an undo plan reverts.
	UndoOf  string `json:"undo_of,omitempty"`
	Command string `json:"command,omitempty"`
}

// PlanRow is one partition of a plan.
type PlanRow struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Current is the committed offset the plan saw, -1 when none.
	Current int64 `json:"current"`
	// New is the offset to commit, -1 to delete the commit.
	New            int64 `json:"new"`
	LogStartOffset int64 `json:"log_start_offset"`
	LogEndOffset   int64 `json:"log_end_offset"`
	// Delta is New-Current (0 when either is -1).
	Delta int64 `json:"delta"`
	// Reread is how many records will be read again (rewind), Skipped how
	// many will never be read (forward).
	Reread  int64 `json:"reread"`
	Skipped int64 `json:"skipped"`
	// Note flags a clamp ("clamped to log start"), a time with no record
	// at or after it ("no record at or after time: log end"), and so on.
	Note string `json:"note,omitempty"`
	// LeaderEpoch and Metadata, when set, are committed with New (an undo
	// restores them as they were); otherwise the epoch is -1 and the
	// metadata empty, as kafka-consumer-groups commits.
	LeaderEpoch *int32 `json:"leader_epoch,omitempty"`
	Metadata    string `json:"metadata,omitempty"`
}

// PlanTotals sums a plan.
type PlanTotals struct {
	Partitions int   `json:"partitions"`
	Changed    int   `json:"changed"`
	Reread     int64 `json:"reread"`
	Skipped    int64 `json:"skipped"`
}

// HealthReport is the outcome of Health.
type HealthReport struct {
	OK       bool     `json:"ok"`
	Problems []string `json:"problems"`
}
