package ops

import (
	"time"

	"github.com/kdeck/kdeck/jobstate"
)

// JobKind is the kind of a job.
type JobKind string

// Job kinds.
const (
	KindConnector JobKind = "connector"
	KindMirror    JobKind = "mirror"
	KindStream    JobKind = "stream"
)

// State is a job's or task's state, named as Kafka Connect names them: the
// runtimes' own vocabulary (package jobstate), re-exported so that the TUI
// and the CLI know only ops.
type State = jobstate.State

// States.
const (
	StateRunning    = jobstate.Running
	StatePaused     = jobstate.Paused
	StateStopped    = jobstate.Stopped
	StateFailed     = jobstate.Failed
	StateUnassigned = jobstate.Unassigned
	StateRestarting = jobstate.Restarting
)

// JobStatus is a job's state, tasks and metrics.
type JobStatus struct {
	Name    string       `json:"name"`
	Kind    JobKind      `json:"kind"`
	Class   string       `json:"class,omitempty"`
	Cluster string       `json:"cluster"`
	State   State        `json:"state"`
	Tasks   []TaskStatus `json:"tasks"`
	Metrics JobMetrics   `json:"metrics"`
	// LastError is the most recent error, with its time.
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
}

// TaskStatus is one task of a job (a connector task, a mirror partition
// set, a stream task/partition).
type TaskStatus struct {
	ID     int    `json:"id"`
	State  State  `json:"state"`
	Worker string `json:"worker,omitempty"`
	// Trace is the error of a FAILED task.
	Trace   string     `json:"trace,omitempty"`
	Metrics JobMetrics `json:"metrics"`
	// Detail holds kind-specific fields (partitions, store size, restore
	// progress).
	Detail map[string]string `json:"detail,omitempty"`
}

// JobMetrics are a job's or task's rates and counters.
type JobMetrics struct {
	RecordsInPerSec  float64    `json:"records_in_per_sec"`
	RecordsOutPerSec float64    `json:"records_out_per_sec"`
	BytesInPerSec    float64    `json:"bytes_in_per_sec"`
	BytesOutPerSec   float64    `json:"bytes_out_per_sec"`
	RecordsIn        int64      `json:"records_in"`
	RecordsOut       int64      `json:"records_out"`
	Lag              int64      `json:"lag"`
	Errors           int64      `json:"errors"`
	DLQ              int64      `json:"dlq"`
	LateRecords      int64      `json:"late_records,omitempty"`
	LatencyMillis    float64    `json:"latency_ms,omitempty"`
	LastActivity     *time.Time `json:"last_activity,omitempty"`
}

// JobAction is a lifecycle verb.
type JobAction string

// Job actions.
const (
	ActionStart   JobAction = "start"
	ActionPause   JobAction = "pause"
	ActionResume  JobAction = "resume"
	ActionStop    JobAction = "stop"
	ActionRestart JobAction = "restart"
	ActionReset   JobAction = "reset"
	ActionDelete  JobAction = "delete"
)

// JobActionOptions refine a JobAction.
type JobActionOptions struct {
	// Task restricts restart to one task; -1 (or nil) means the job.
	Task *int
	// OnlyFailed restarts only FAILED tasks.
	OnlyFailed bool
	Command    string
}
