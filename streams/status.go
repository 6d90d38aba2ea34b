package streams

import (
	"sort"
	"time"

	"github.com/kdeck/kdeck/jobstate"
)

// Status is a snapshot of a job: its state, tasks (one per assigned
// partition), stores, rates and counters.
type Status struct {
	AppID string `json:"app_id"`
	// State is STARTING, RESTORING, RUNNING, PAUSED, STOPPED or FAILED.
	State jobstate.State `json:"state"`
	// Error is the error that failed the job.
	Error            string        `json:"error,omitempty"`
	Guarantee        Guarantee     `json:"guarantee"`
	Tasks            []TaskStatus  `json:"tasks"`
	Tables           []TableStatus `json:"tables,omitempty"`
	RecordsIn        int64         `json:"records_in"`
	RecordsOut       int64         `json:"records_out"`
	RecordsInPerSec  float64       `json:"records_in_per_sec"`
	RecordsOutPerSec float64       `json:"records_out_per_sec"`
	// Lag is the records behind the log end offsets of the inputs, summed
	// over tasks, as of the last fetch.
	Lag int64 `json:"lag"`
	// LateRecords counts records dropped because all their windows had
	// closed (stream time past window end plus grace).
	LateRecords int64 `json:"late_records"`
	// Errors counts the records whose processing failed and that were
	// skipped or dead-lettered (OnErrorSkip, OnErrorDLQ).
	Errors int64 `json:"errors"`
	// DLQ counts the records written to the dead-letter topic.
	DLQ int64 `json:"dlq"`
	// OnError is the job's error mode: fail, skip or dlq.
	OnError ErrorMode `json:"on_error"`
}

// TaskStatus is one task: one partition of the inputs.
type TaskStatus struct {
	Partition   int32          `json:"partition"`
	State       jobstate.State `json:"state"`
	RecordsIn   int64          `json:"records_in"`
	Lag         int64          `json:"lag"`
	LateRecords int64          `json:"late_records"`
	Stores      []StoreStatus  `json:"stores"`
}

// StoreStatus is one store partition. While restoring, Restored of
// RestoreTotal changelog records are done.
type StoreStatus struct {
	Name         string `json:"name"`
	Changelog    string `json:"changelog"`
	SizeBytes    int64  `json:"size_bytes"`
	Restoring    bool   `json:"restoring"`
	Restored     int64  `json:"restored"`
	RestoreTotal int64  `json:"restore_total"`
}

// TableStatus is one table materialised from a topic.
type TableStatus struct {
	Name      string `json:"name"`
	Topic     string `json:"topic"`
	CaughtUp  bool   `json:"caught_up"`
	SizeBytes int64  `json:"size_bytes"`
}

// Status returns a snapshot. It never blocks on processing for longer than
// it takes to copy the task list.
func (j *Job) Status() Status {
	s := Status{AppID: j.top.appID, State: j.state.Load().(jobstate.State), Guarantee: j.cfg.guarantee,
		RecordsIn: j.recordsIn.Total(), RecordsOut: j.recordsOut.Total(), Errors: j.errCount.Load(), DLQ: j.dlqCount.Load(), OnError: j.cfg.onError}
	if f := j.failure.Load(); f != nil && *f != nil {
		s.Error = (*f).Error()
	}
	now := time.Now()
	s.RecordsInPerSec, s.RecordsOutPerSec = j.recordsIn.Rate(now), j.recordsOut.Rate(now)
	j.tasksMu.RLock()
	for p, t := range j.tasks {
		ts := TaskStatus{Partition: p, State: jobstate.Running, RecordsIn: t.recordsIn.Load(), Lag: t.lag.Load(), LateRecords: t.late.Load()}
		for _, st := range t.stores {
			ss := StoreStatus{Name: st.def.name, Changelog: st.def.changelog, SizeBytes: st.sizeBytes(),
				Restoring: st.restoring.Load(), Restored: st.restored.Load(), RestoreTotal: st.restoreTotal.Load()}
			if ss.Restoring {
				ts.State = jobstate.Restoring
			}
			ts.Stores = append(ts.Stores, ss)
		}
		if s.State == jobstate.Paused {
			ts.State = jobstate.Paused
		}
		s.Lag += ts.Lag
		s.Tasks = append(s.Tasks, ts)
	}
	for _, tr := range j.tables {
		s.Tables = append(s.Tables, TableStatus{Name: tr.def.name, Topic: tr.def.topic, CaughtUp: tr.caught.Load(), SizeBytes: int64(tr.db.Metrics().DiskSpaceUsage())})
	}
	j.tasksMu.RUnlock()
	s.LateRecords = j.lateClosed.Load()
	for _, t := range s.Tasks {
		s.LateRecords += t.LateRecords
	}
	sort.Slice(s.Tasks, func(a, b int) bool { return s.Tasks[a].Partition < s.Tasks[b].Partition })
	return s
}
