package ops

// The status topic: publishing the status of the tasks this worker runs and
// viewing a job's tasks group-wide (job_workergroup_state.go has the design).

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kdeck/kdeck/ops/workergroup"
)

// publish writes the status of the tasks and stream job instances running
// here that changed (or were last written statusRefresh ago), and this
// worker's identity.
func (st *groupState) publish(ctx context.Context) {
	st.pubMu.Lock()
	defer st.pubMu.Unlock()
	l, s := st.l, st.s
	now := l.now()
	st.mu.Lock()
	gen := st.gen
	st.mu.Unlock()
	out := map[string][]byte{}
	running := map[string]bool{}
	for _, n := range s.names() {
		h := s.get(n)
		if h == nil || !l.groupManaged(h) {
			continue
		}
		share, _ := l.groupShare(n)
		if len(share) == 0 {
			continue
		}
		js := s.localStatus(h)
		for _, id := range share {
			ts := localTask(h.kind, js, id, len(share))
			rec := workergroup.TaskStatus{Job: n, Task: id, State: string(ts.State), Worker: st.me, Trace: ts.Trace,
				Generation: gen, RecordsInPerSec: ts.Metrics.RecordsInPerSec, RecordsOutPerSec: ts.Metrics.RecordsOutPerSec, At: now}
			key := workergroup.TaskKey(n, id)
			running[key] = true
			stage(st, st.written, out, key, rec, now, func(last workergroup.TaskStatus) bool {
				return last.State == rec.State && last.Trace == rec.Trace && last.Generation == rec.Generation && now.Sub(last.At) < statusRefresh
			})
		}
	}
	// Tasks that stopped here: UNASSIGNED, written before the group can
	// give them to another worker (publish runs in Apply, before the
	// rebalance that hands them over), so the new owner's status comes
	// after it.
	dropped := map[string]workergroup.TaskStatus{}
	st.mu.Lock()
	for key, last := range st.written {
		if last.Job == "" || running[key] {
			continue
		}
		rec := workergroup.TaskStatus{Job: last.Job, Task: last.Task, State: string(StateUnassigned), Worker: st.me, Generation: gen, At: now}
		if b, err := json.Marshal(rec); err == nil {
			out[key] = b
		}
		dropped[key] = last
		delete(st.written, key)
	}
	st.mu.Unlock()
	instRunning, instDropped := st.publishInstances(out, now)
	wkey := workergroup.WorkerKeyPrefix + st.me
	st.mu.Lock()
	last, ok := st.written[wkey]
	st.mu.Unlock()
	if !ok || now.Sub(last.At) >= statusRefresh {
		b, _ := json.Marshal(workergroup.WorkerInfo{ID: st.me, Host: st.host, Started: st.began, At: now})
		out[wkey] = b
		st.mu.Lock()
		st.written[wkey] = workergroup.TaskStatus{At: now}
		st.mu.Unlock()
	}
	if err := st.status.Write(ctx, out); err != nil && ctx.Err() == nil {
		l.log.Warn("cannot write the worker group status", "err", err)
		st.mu.Lock()
		for k, v := range st.written {
			if running[k] || v.Job == "" {
				delete(st.written, k) // write it again next time
			}
		}
		maps.Copy(st.written, dropped) // say again next time that they stopped
		st.mu.Unlock()
		st.unpublished(instRunning, instDropped)
	}
}

// stage adds rec to out under key and remembers it in written (guarded by
// st.mu) unless the record last written there is current: same reports
// whether it says the same and was written less than statusRefresh ago.
func stage[T any](st *groupState, written map[string]T, out map[string][]byte, key string, rec T, now time.Time, same func(last T) bool) {
	st.mu.Lock()
	last, ok := written[key]
	st.mu.Unlock()
	if ok && same(last) {
		return
	}
	if b, err := json.Marshal(rec); err == nil {
		out[key] = b
	}
	st.mu.Lock()
	written[key] = rec
	st.mu.Unlock()
}

// localTask is task id of a job running here, from its local status: a
// connector's own task, or one shard of a mirror flow (the flow's state,
// its rates split evenly over the shards running here).
func localTask(kind JobKind, js JobStatus, id, shares int) TaskStatus {
	if kind == KindConnector {
		for _, t := range js.Tasks {
			if t.ID == id {
				return t
			}
		}
		return TaskStatus{ID: id, State: js.State}
	}
	// The partitions this worker mirrors, over all its shards of the flow.
	var parts []string
	for _, t := range js.Tasks {
		if t.Detail["topic"] != "" {
			parts = append(parts, t.Detail["topic"]+"-"+t.Detail["partition"])
		}
	}
	ts := TaskStatus{ID: id, State: js.State, Detail: map[string]string{"worker_partitions": strings.Join(parts, ",")}}
	if js.State == StateFailed {
		ts.Trace = js.LastError
	}
	if shares > 0 {
		ts.Metrics.RecordsInPerSec = js.Metrics.RecordsInPerSec / float64(shares)
		ts.Metrics.RecordsOutPerSec = js.Metrics.RecordsOutPerSec / float64(shares)
	}
	ts.Metrics.Lag = js.Metrics.Lag
	return ts
}

// remoteTask returns the status of task id of job as the status topic
// holds it, when a live worker other than this one wrote it.
func (st *groupState) remoteTask(job string, id int) (workergroup.TaskStatus, bool) {
	v, ok := st.status.Get(workergroup.TaskKey(job, id))
	if !ok {
		return workergroup.TaskStatus{}, false
	}
	var r workergroup.TaskStatus
	if json.Unmarshal(v, &r) != nil || r.Worker == st.me || !st.isLive(r.Worker) {
		return workergroup.TaskStatus{}, false
	}
	return r, true
}

// view turns a group-managed job's local status into the group's: one
// task per task of the job, on the worker that runs it (UNASSIGNED when no
// live worker does), and the job's state from its target state and tasks.
func (st *groupState) view(h *hostedJob, js *JobStatus) {
	st.mu.Lock()
	n, known := st.tasks[h.name]
	st.mu.Unlock()
	target := st.appliedTarget(h.name)
	st.g.mu.Lock()
	conflicted := st.g.conflicted[h.name]
	share := slices.Clone(st.g.shares[h.name])
	st.g.mu.Unlock()
	if target == workergroup.TargetStopped {
		js.State, js.Tasks = StateStopped, []TaskStatus{}
		js.Metrics = JobMetrics{}
		return
	}
	if conflicted || !known {
		return // FAILED here with the reason, or not a group job yet
	}
	tasks := make([]TaskStatus, 0, n)
	var in, out float64
	for id := range n {
		var ts TaskStatus
		if slices.Contains(share, id) {
			ts = localTask(h.kind, *js, id, len(share))
			ts.Worker = st.me
			ts.Detail = maps.Clone(ts.Detail)
			if ts.Detail == nil {
				ts.Detail = map[string]string{}
			}
			ts.Detail["worker"] = st.me
			ts.Detail["worker_group"] = st.group
		} else if r, ok := st.remoteTask(h.name, id); ok {
			ts = TaskStatus{ID: id, State: State(r.State), Worker: r.Worker, Trace: r.Trace,
				Metrics: JobMetrics{RecordsInPerSec: r.RecordsInPerSec, RecordsOutPerSec: r.RecordsOutPerSec},
				Detail:  map[string]string{"worker_group": st.group}}
		} else {
			ts = TaskStatus{ID: id, State: StateUnassigned, Detail: map[string]string{"worker_group": st.group}}
		}
		in += ts.Metrics.RecordsInPerSec
		out += ts.Metrics.RecordsOutPerSec
		tasks = append(tasks, ts)
	}
	if len(share) == 0 {
		js.Metrics = JobMetrics{}
	}
	js.Metrics.RecordsInPerSec, js.Metrics.RecordsOutPerSec = in, out
	setGroupTasks(js, tasks)
}

// setGroupTasks gives js the group's tasks, the state they make, and the
// first FAILED task's error when js has none.
func setGroupTasks(js *JobStatus, tasks []TaskStatus) {
	js.Tasks = tasks
	js.State = groupJobState(tasks, js.State)
	if js.LastError == "" {
		for _, t := range tasks {
			if t.State == StateFailed && t.Trace != "" {
				js.LastError = firstLine(t.Trace)
				break
			}
		}
	}
}

// groupJobState is a group job's state from its tasks': RUNNING while any
// task runs (as Connect keeps a connector RUNNING beside a FAILED task),
// else PAUSED, FAILED, RESTARTING, or UNASSIGNED when no worker runs any.
func groupJobState(tasks []TaskStatus, local State) State {
	if len(tasks) == 0 {
		return local
	}
	has := map[State]bool{}
	for _, t := range tasks {
		has[t.State] = true
	}
	for _, s := range []State{StateRunning, StatePaused, StateFailed, StateRestarting} {
		if has[s] {
			return s
		}
	}
	return StateUnassigned
}

// groupOffsetsRefusal refuses altering a group job's offsets while a
// worker of the group still runs one of its tasks.
func (l *Local) groupOffsetsRefusal(name string) error {
	st := l.gstate()
	if st == nil {
		return nil
	}
	if st.appliedTarget(name) != workergroup.TargetStopped {
		return refusedf("job %q is not STOPPED in worker group %q: stop it first ('kdeck connect stop %s'); its offsets can change only while no worker runs it", name, st.group, name)
	}
	if share, _ := l.groupShare(name); len(share) > 0 {
		return refusedf("job %q is stopping on this worker: retry in a moment", name)
	}
	for k, v := range st.status.Snapshot() {
		job, _, ok := workergroup.ParseTaskKey(k)
		if !ok || job != name {
			continue
		}
		var r workergroup.TaskStatus
		if json.Unmarshal(v, &r) == nil && r.Worker != st.me && st.isLive(r.Worker) && (r.State == string(StateRunning) || r.State == string(StatePaused)) {
			return refusedf("job %q is stopping: worker %s still runs its task %d; retry in a moment", name, r.Worker, r.Task)
		}
	}
	return nil
}
