package ops

import (
	"context"
	"time"
)

// WorkerService is the part of Service that lists the workers of this
// worker's group. It is embedded in Service.
type WorkerService interface {
	// Workers lists the workers of the worker group ([worker] group) with
	// the tasks each runs and its load, from the group's status topic and
	// the group's membership; without a worker group it lists this
	// process alone.
	Workers(ctx context.Context) (WorkersReport, error)
}

// WorkersReport is the answer of Workers.
type WorkersReport struct {
	// Group is the worker group, "" when this process is in none.
	Group   string         `json:"group"`
	Workers []WorkerStatus `json:"workers"`
	// Unassigned counts the group's tasks no live worker runs now.
	Unassigned int `json:"unassigned"`
}

// WorkerStatus is one worker of a group.
type WorkerStatus struct {
	ID   string `json:"id"`
	Host string `json:"host"`
	// Live is true while the worker is a member of the group; a worker
	// that stopped or died (after its session timeout) is not.
	Live bool `json:"live"`
	// Self is true for the worker that answered.
	Self bool `json:"self"`
	// Started is when the worker started, nil when unknown (null).
	Started *time.Time `json:"started"`
	// Tasks maps each job to the task ids the worker runs, sorted.
	Tasks map[string][]int `json:"tasks"`
	// TaskCount is the number of tasks in Tasks.
	TaskCount int `json:"task_count"`
	// Instances names the stream jobs the worker runs an instance of,
	// sorted; each instance is one task in Tasks (numbered as the job's
	// status numbers its instances) and in TaskCount.
	Instances        []string `json:"instances,omitempty"`
	RecordsInPerSec  float64  `json:"records_in_per_sec"`
	RecordsOutPerSec float64  `json:"records_out_per_sec"`
}
