package workergroup

// The records of a worker group's configs and status topics. Keys name what
// a record is about, as Kafka Connect's keys do ("connector-NAME",
// "target-state-NAME", "status-task-NAME-ID"); values are JSON and a nil
// value (tombstone) deletes the key.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Key prefixes of the configs topic.
const (
	// JobKeyPrefix + NAME holds a JobConfig: a job created through the
	// API.
	JobKeyPrefix = "job-"
	// TargetStateKeyPrefix + NAME holds a TargetState.
	TargetStateKeyPrefix = "target-state-"
	// RestartKeyPrefix + NAME holds the latest RestartRequest of a job.
	RestartKeyPrefix = "restart-"
)

// Key prefixes of the status topic.
const (
	// TaskKeyPrefix + NAME-ID holds a TaskStatus.
	TaskKeyPrefix = "task-"
	// WorkerKeyPrefix + ID holds a WorkerInfo.
	WorkerKeyPrefix = "worker-"
	// InstanceKeyPrefix + NAME-WORKER holds the InstanceStatus of a
	// stream job's instance on one worker (stream jobs run on every
	// worker; their own consumer group splits the partitions).
	InstanceKeyPrefix = "instance-"
)

// InstanceKey is the status topic's key of stream job job's instance on
// worker. Job names and worker ids may hold '-': readers take both from
// the value, not from the key.
func InstanceKey(job, worker string) string { return InstanceKeyPrefix + job + "-" + worker }

// TaskKey is the status topic's key of task id of job.
func TaskKey(job string, id int) string { return TaskKeyPrefix + job + "-" + strconv.Itoa(id) }

// ParseTaskKey splits a TaskKey; ok is false for another key.
func ParseTaskKey(key string) (job string, id int, ok bool) {
	rest, found := strings.CutPrefix(key, TaskKeyPrefix)
	i := strings.LastIndexByte(rest, '-')
	if !found || i <= 0 {
		return "", 0, false
	}
	id, err := strconv.Atoi(rest[i+1:])
	return rest[:i], id, err == nil
}

// JobConfig is a job created through a worker's API, as the configs topic
// holds it.
type JobConfig struct {
	Kind  string         `json:"kind"`
	Table map[string]any `json:"table"`
	// By and At say who created or last changed it, and when.
	By string    `json:"by,omitempty"`
	At time.Time `json:"at"`
}

// Target states of a job (Kafka Connect's TargetState).
const (
	TargetStarted = "STARTED"
	TargetPaused  = "PAUSED"
	TargetStopped = "STOPPED"
)

// TargetState is the state every worker of the group brings a job to. A
// job without one is STARTED.
type TargetState struct {
	State string    `json:"state"`
	By    string    `json:"by,omitempty"`
	At    time.Time `json:"at"`
}

// RestartRequest asks the workers running a job's tasks to restart them:
// Task names one task, OnlyFailed only the FAILED ones, neither the whole
// job. ID tells one request from the next; workers act only on requests
// written while they run.
type RestartRequest struct {
	ID         string    `json:"id"`
	Task       *int      `json:"task,omitempty"`
	OnlyFailed bool      `json:"only_failed,omitempty"`
	By         string    `json:"by,omitempty"`
	At         time.Time `json:"at"`
}

// TaskStatus is a task's status as the worker running it last wrote it.
type TaskStatus struct {
	Job    string `json:"job"`
	Task   int    `json:"task"`
	State  string `json:"state"`
	Worker string `json:"worker_id"`
	Trace  string `json:"trace,omitempty"`
	// Generation is the worker group generation the worker's assignment
	// came from: a record of an older generation never hides a newer one.
	Generation       int32     `json:"generation"`
	RecordsInPerSec  float64   `json:"records_in_per_sec"`
	RecordsOutPerSec float64   `json:"records_out_per_sec"`
	At               time.Time `json:"at"`
}

// InstanceStatus is a stream job instance's status as the worker running
// it last wrote it: UNASSIGNED once the instance stopped there.
type InstanceStatus struct {
	Job    string `json:"job"`
	State  string `json:"state"`
	Worker string `json:"worker_id"`
	Trace  string `json:"trace,omitempty"`
	// Partitions are the input partitions the instance processes, sorted.
	Partitions       []int     `json:"partitions"`
	RecordsInPerSec  float64   `json:"records_in_per_sec"`
	RecordsOutPerSec float64   `json:"records_out_per_sec"`
	RecordsIn        int64     `json:"records_in"`
	RecordsOut       int64     `json:"records_out"`
	Lag              int64     `json:"lag"`
	At               time.Time `json:"at"`
}

// WorkerInfo is what a worker says of itself in the status topic.
type WorkerInfo struct {
	ID      string    `json:"id"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
	At      time.Time `json:"at"`
}

// LiveMember is a worker that is a member of the group now.
type LiveMember struct {
	Worker     string
	ClientHost string
}

// LiveMembers returns the workers that are members of worker group name
// now, by worker id (their static member ids), as the group coordinator
// describes the group. A worker killed without leaving stays a member
// until its session timeout expires.
func LiveMembers(ctx context.Context, cl *kgo.Client, name string) (map[string]LiveMember, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	gs, err := kadm.NewClient(cl).DescribeGroups(dctx, GroupID(name))
	if err != nil {
		return nil, fmt.Errorf("cannot describe worker group %s: %w", name, err)
	}
	out := map[string]LiveMember{}
	for _, g := range gs {
		if g.Err != nil {
			return nil, fmt.Errorf("cannot describe worker group %s: %w", name, g.Err)
		}
		for _, m := range g.Members {
			if m.InstanceID == nil {
				continue
			}
			out[*m.InstanceID] = LiveMember{Worker: *m.InstanceID, ClientHost: m.ClientHost}
		}
	}
	return out, nil
}
