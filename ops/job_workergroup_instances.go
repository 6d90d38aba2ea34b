package ops

// Stream job instances in the status topic. A stream job runs an instance
// on every worker of the group (its own consumer group splits the
// partitions); each worker writes the status of its own instance
// ("instance-NAME-WORKER") as it writes its tasks', and every worker shows
// a stream job as one task per live worker's instance
// (job_workergroup_state.go has the design).

import (
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kdeck/kdeck/ops/workergroup"
)

// publishInstances adds to out the status of this worker's stream job
// instances that changed (or were last written statusRefresh ago), and
// UNASSIGNED for the instances that stopped here (all of them once the
// worker is leaving). It returns the keys of the instances running here
// and what was last written of the stopped ones, for unpublished to undo.
func (st *groupState) publishInstances(out map[string][]byte, now time.Time) (running map[string]bool, dropped map[string]workergroup.InstanceStatus) {
	s := st.s
	st.mu.Lock()
	leaving := st.leaving
	st.mu.Unlock()
	running = map[string]bool{}
	for _, n := range s.names() {
		h := s.get(n)
		if leaving || h == nil || h.kind != KindStream {
			continue
		}
		js := s.localStatus(h)
		if !instanceRuns(js.State) {
			continue
		}
		rec := instanceRecord(n, st.me, js, now)
		key := workergroup.InstanceKey(n, st.me)
		running[key] = true
		stage(st, st.instances, out, key, rec, now, func(last workergroup.InstanceStatus) bool {
			return last.State == rec.State && last.Trace == rec.Trace && slices.Equal(last.Partitions, rec.Partitions) && now.Sub(last.At) < statusRefresh
		})
	}
	dropped = map[string]workergroup.InstanceStatus{}
	st.mu.Lock()
	defer st.mu.Unlock()
	for key, last := range st.instances {
		if running[key] {
			continue
		}
		rec := workergroup.InstanceStatus{Job: last.Job, State: string(StateUnassigned), Worker: st.me, Partitions: []int{}, At: now}
		if b, err := json.Marshal(rec); err == nil {
			out[key] = b
		}
		dropped[key] = last
		delete(st.instances, key)
	}
	return running, dropped
}

// unpublished undoes publishInstances after its records were not written:
// they are written again next time.
func (st *groupState) unpublished(running map[string]bool, dropped map[string]workergroup.InstanceStatus) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for k := range running {
		delete(st.instances, k)
	}
	maps.Copy(st.instances, dropped)
}

// instanceRuns reports whether a stream job in local state s has an
// instance here.
func instanceRuns(s State) bool { return s != StateStopped && s != StateUnassigned && s != "" }

// instanceRecord is the status record of job's instance on worker, from
// its local status (whose tasks are the partitions it processes).
func instanceRecord(job, worker string, js JobStatus, now time.Time) workergroup.InstanceStatus {
	rec := workergroup.InstanceStatus{Job: job, State: string(js.State), Worker: worker, Partitions: instancePartitions(js),
		RecordsInPerSec: js.Metrics.RecordsInPerSec, RecordsOutPerSec: js.Metrics.RecordsOutPerSec,
		RecordsIn: js.Metrics.RecordsIn, RecordsOut: js.Metrics.RecordsOut, Lag: js.Metrics.Lag, At: now}
	if js.State == StateFailed {
		rec.Trace = js.LastError
	}
	return rec
}

// instancePartitions lists the partitions of a stream job's local status,
// sorted.
func instancePartitions(js JobStatus) []int {
	ps := []int{}
	for _, t := range js.Tasks {
		if p, err := strconv.Atoi(t.Detail["partition"]); err == nil {
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}

// joinInts is "0,1,2".
func joinInts(ps []int) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ",")
}

// liveInstances returns the instances of the status topic's snapshot that
// run on a live worker other than self, by key.
func (st *groupState) liveInstances(snap map[string][]byte) map[string]workergroup.InstanceStatus {
	out := map[string]workergroup.InstanceStatus{}
	for k, v := range snap {
		if !strings.HasPrefix(k, workergroup.InstanceKeyPrefix) {
			continue
		}
		var r workergroup.InstanceStatus
		if json.Unmarshal(v, &r) != nil || r.Worker == st.me || !instanceRuns(State(r.State)) || !st.isLive(r.Worker) {
			continue
		}
		out[k] = r
	}
	return out
}

// streamView turns a stream job's local status into the group's: one task
// per live worker's instance, numbered in the order of the workers' ids,
// each on its worker with the partitions it processes, and the job's state
// and rates over all of them. As for connector tasks, only this worker's
// own instance has Detail["worker"] (the API's /metrics leaves the others
// out, so that summing over the group's workers counts each once).
func (st *groupState) streamView(h *hostedJob, js *JobStatus) {
	var tasks []TaskStatus
	if instanceRuns(js.State) {
		tasks = append(tasks, selfInstance(*js, st.me, st.group))
	}
	for _, r := range st.liveInstances(st.status.Snapshot()) {
		if r.Job != h.name {
			continue
		}
		tasks = append(tasks, TaskStatus{State: State(r.State), Worker: r.Worker, Trace: r.Trace,
			Metrics: JobMetrics{RecordsInPerSec: r.RecordsInPerSec, RecordsOutPerSec: r.RecordsOutPerSec, RecordsIn: r.RecordsIn, RecordsOut: r.RecordsOut, Lag: r.Lag},
			Detail:  map[string]string{"worker_group": st.group, "partitions": joinInts(r.Partitions)}})
	}
	if len(tasks) == 0 {
		return // no instance anywhere: the local state says why
	}
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].Worker < tasks[j].Worker })
	var m JobMetrics
	for i := range tasks {
		tasks[i].ID = i
		t := tasks[i].Metrics
		m.RecordsInPerSec += t.RecordsInPerSec
		m.RecordsOutPerSec += t.RecordsOutPerSec
		m.RecordsIn += t.RecordsIn
		m.RecordsOut += t.RecordsOut
		m.Lag += t.Lag
	}
	js.Metrics.RecordsInPerSec, js.Metrics.RecordsOutPerSec = m.RecordsInPerSec, m.RecordsOutPerSec
	js.Metrics.RecordsIn, js.Metrics.RecordsOut, js.Metrics.Lag = m.RecordsIn, m.RecordsOut, m.Lag
	setGroupTasks(js, tasks)
}

// selfInstance is this worker's instance of a stream job, from its local
// status: its partitions, and its stores' sizes summed over them.
func selfInstance(js JobStatus, me, group string) TaskStatus {
	ts := TaskStatus{State: js.State, Worker: me, Metrics: js.Metrics,
		Detail: map[string]string{"worker": me, "worker_group": group, "partitions": joinInts(instancePartitions(js))}}
	if js.State == StateFailed {
		ts.Trace = js.LastError
	}
	sizes := map[string]int64{}
	for _, t := range js.Tasks {
		for k, v := range t.Detail {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && strings.HasPrefix(k, "store.") && strings.HasSuffix(k, ".bytes") {
				sizes[k] += n
			}
			if k == "app_id" || (k == "restoring" && v == "true") {
				ts.Detail[k] = v
			}
		}
	}
	for k, n := range sizes {
		ts.Detail[k] = strconv.FormatInt(n, 10)
	}
	return ts
}

// staleInstances returns UNASSIGNED records for the instances the status
// topic's snapshot says worker id runs: written by its previous
// incarnation, killed without a last word.
func staleInstances(snap map[string][]byte, id string, now time.Time) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range snap {
		var r workergroup.InstanceStatus
		if strings.HasPrefix(k, workergroup.InstanceKeyPrefix) && json.Unmarshal(v, &r) == nil && r.Worker == id && r.State != string(StateUnassigned) {
			r.State, r.Trace, r.Partitions, r.RecordsInPerSec, r.RecordsOutPerSec, r.At = string(StateUnassigned), "", []int{}, 0, 0, now
			out[k], _ = json.Marshal(r)
		}
	}
	return out
}
