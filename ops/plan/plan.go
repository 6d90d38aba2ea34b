// Package plan holds kdeck's offset plans: the previewed change of a
// group's committed offsets (before, after, delta per partition) that ops
// computes, shows and executes only on request, and the CSV plan format of
// kafka-consumer-groups.sh --reset-offsets --export / --from-file.
//
//	p := &plan.Plan{Kind: plan.Reset, Group: "billing", Rows: []plan.Row{
//		{Topic: "orders", Partition: 0, Current: 40, New: 0},
//	}}
//	p.Finish() // deltas and totals: 40 records re-read
//	_ = plan.WriteCSV(os.Stdout, p, false) // orders,0,0
//	rows, err := plan.ParseCSV(f, "plan.csv")
//
// Computing and executing plans against a cluster is ops' work
// (ops.Service's Reset and ExecutePlan); this package has no I/O but
// the CSV reader and writer.
package plan

import "time"

// Mode is how a reset chooses each partition's new offset, one per
// kafka-consumer-groups.sh --to-* / --shift-by / --by-duration option.
type Mode string

// Reset modes.
const (
	ToEarliest Mode = "to-earliest"
	ToLatest   Mode = "to-latest"
	ToCurrent  Mode = "to-current"
	ToOffset   Mode = "to-offset"
	ShiftBy    Mode = "shift-by"
	ToDatetime Mode = "to-datetime"
	ByDuration Mode = "by-duration"
	ToGroup    Mode = "to-group"
	FromFile   Mode = "from-file"
)

// FileOffset is one row of a kafka-consumer-groups CSV plan.
type FileOffset struct {
	Group     string
	Topic     string
	Partition int32
	Offset    int64
	Line      int
}

// Kind says what a plan does when executed.
type Kind string

// Plan kinds.
const (
	Reset         Kind = "reset"
	DeleteOffsets Kind = "delete-offsets"
	DeleteGroup   Kind = "delete-group"
	Undo          Kind = "undo"
)

// Plan is a previewed offset change: what each partition's committed offset
// is now and what it will be. ExecutePlan applies it only if the group's
// committed offsets still equal the ones the plan saw.
type Plan struct {
	Kind    Kind   `json:"kind"`
	Cluster string `json:"cluster"`
	// Group is the group whose offsets change (the target group for a
	// replay with --as).
	Group string `json:"group"`
	// SourceGroup is the group the offsets were computed from, when it
	// differs from Group (replay --as, to-group).
	SourceGroup string `json:"source_group,omitempty"`
	Mode        Mode   `json:"mode,omitempty"`
	// Instant is the time a datetime or duration reset resolved to.
	Instant *time.Time `json:"instant,omitempty"`
	Rows    []Row      `json:"rows"`
	Totals  Totals     `json:"totals"`
	Created time.Time  `json:"created"`
	// UndoOf is the audit id an undo plan reverts.
	UndoOf  string `json:"undo_of,omitempty"`
	Command string `json:"command,omitempty"`
}

// Row is one partition of a plan.
type Row struct {
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

// Totals sums a plan.
type Totals struct {
	Partitions int   `json:"partitions"`
	Changed    int   `json:"changed"`
	Reread     int64 `json:"reread"`
	Skipped    int64 `json:"skipped"`
}

// Modes lists every Mode, for validation and messages.
var Modes = []Mode{ToEarliest, ToLatest, ToCurrent, ToOffset, ShiftBy, ToDatetime, ByDuration, ToGroup, FromFile}

// Finish computes each row's delta, re-read and skipped counts and the
// plan's totals from the rows' Current and New.
func (p *Plan) Finish() {
	p.Totals = Totals{Partitions: len(p.Rows)}
	for i := range p.Rows {
		r := &p.Rows[i]
		r.Delta, r.Reread, r.Skipped = 0, 0, 0
		if r.Current >= 0 && r.New >= 0 {
			r.Delta = r.New - r.Current
			if r.Delta < 0 {
				r.Reread = -r.Delta
			} else {
				r.Skipped = r.Delta
			}
		}
		if r.New != r.Current {
			p.Totals.Changed++
		}
		p.Totals.Reread += r.Reread
		p.Totals.Skipped += r.Skipped
	}
}
