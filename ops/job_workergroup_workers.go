package ops

// The group's workers: 'kdeck workers', GET /kdeck/v1/workers and the
// console's :workers, from the status topic and the group's live members.

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/ops/workergroup"
)

// groupWorkers lists the group's live workers from the status topic.
func (st *groupState) groupWorkers() WorkersReport {
	st.mu.Lock()
	live := maps.Clone(st.live)
	tasksOf := maps.Clone(st.tasks)
	st.mu.Unlock()
	if live == nil {
		live = map[string]workergroup.LiveMember{st.me: {Worker: st.me}}
	}
	live[st.me] = workergroup.LiveMember{Worker: st.me, ClientHost: st.host}
	// This worker's own instances are fresher than what it last wrote.
	snap := st.status.Snapshot()
	for _, n := range st.s.names() {
		if h := st.s.get(n); h != nil && h.kind == KindStream {
			b, _ := json.Marshal(instanceRecord(n, st.me, st.s.localStatus(h), st.l.now()))
			snap[workergroup.InstanceKey(n, st.me)] = b
		}
	}
	rep := workersFrom(st.group, snap, live, st.me)
	for i := range rep.Workers {
		w := &rep.Workers[i]
		if !w.Self {
			// Only the group's jobs as this worker knows them: a deleted
			// or stopped job's last statuses are history.
			for j, ts := range w.Tasks {
				if slices.Contains(w.Instances, j) {
					continue
				}
				if _, ok := tasksOf[j]; !ok || st.appliedTarget(j) == workergroup.TargetStopped {
					delete(w.Tasks, j)
					w.TaskCount -= len(ts)
				}
			}
			continue
		}
		// This worker's own share is fresher than what it last wrote (its
		// instances are fresh already).
		tasks := map[string][]int{}
		for _, j := range w.Instances {
			tasks[j] = w.Tasks[j]
		}
		w.Tasks, w.TaskCount = tasks, len(tasks)
		w.RecordsInPerSec, w.RecordsOutPerSec = 0, 0
		for _, n := range st.s.names() {
			h := st.s.get(n)
			if h == nil {
				continue
			}
			if share, ok := st.l.groupShare(n); ok && len(share) > 0 {
				w.Tasks[n], w.TaskCount = share, w.TaskCount+len(share)
			} else if _, inst := tasks[n]; !inst {
				continue
			}
			js := st.s.localStatus(h)
			w.RecordsInPerSec += js.Metrics.RecordsInPerSec
			w.RecordsOutPerSec += js.Metrics.RecordsOutPerSec
		}
	}
	// Unassigned: declared tasks of started jobs no live worker runs.
	running := 0
	for _, w := range rep.Workers {
		for j, ts := range w.Tasks {
			if n, ok := tasksOf[j]; ok && st.appliedTarget(j) != workergroup.TargetStopped {
				for _, t := range ts {
					if t < n {
						running++
					}
				}
			}
		}
	}
	total := 0
	for j, n := range tasksOf {
		if st.appliedTarget(j) != workergroup.TargetStopped {
			total += n
		}
	}
	rep.Unassigned = max(total-running, 0)
	return rep
}

// workersFrom builds the report of group from a status topic's snapshot
// and the group's live members; self is this worker's id ("" for none).
func workersFrom(group string, snap map[string][]byte, live map[string]workergroup.LiveMember, self string) WorkersReport {
	ws := map[string]*WorkerStatus{}
	instances := map[string][]workergroup.InstanceStatus{} // stream job -> its live instances
	for id, m := range live {
		ws[id] = &WorkerStatus{ID: id, Host: m.ClientHost, Live: true, Self: id == self, Tasks: map[string][]int{}}
	}
	for k, v := range snap {
		if id, ok := strings.CutPrefix(k, workergroup.WorkerKeyPrefix); ok {
			var wi workergroup.WorkerInfo
			if w := ws[id]; w != nil && json.Unmarshal(v, &wi) == nil {
				if wi.Host != "" {
					w.Host = wi.Host
				}
				started := wi.Started
				w.Started = &started
			}
			continue
		}
		if _, _, ok := workergroup.ParseTaskKey(k); !ok && !strings.HasPrefix(k, workergroup.InstanceKeyPrefix) {
			continue
		}
		if strings.HasPrefix(k, workergroup.InstanceKeyPrefix) {
			var r workergroup.InstanceStatus
			if json.Unmarshal(v, &r) == nil && ws[r.Worker] != nil && instanceRuns(State(r.State)) {
				instances[r.Job] = append(instances[r.Job], r)
			}
			continue
		}
		var r workergroup.TaskStatus
		if json.Unmarshal(v, &r) != nil {
			continue
		}
		w := ws[r.Worker]
		if w == nil || r.State == string(StateUnassigned) || r.State == string(StateStopped) {
			continue
		}
		w.Tasks[r.Job] = append(w.Tasks[r.Job], r.Task)
		w.TaskCount++
		w.RecordsInPerSec += r.RecordsInPerSec
		w.RecordsOutPerSec += r.RecordsOutPerSec
	}
	// A stream job's instances are its tasks, numbered as its status
	// numbers them: in the order of their workers' ids.
	for job, is := range instances {
		sort.Slice(is, func(i, j int) bool { return is[i].Worker < is[j].Worker })
		for i, r := range is {
			w := ws[r.Worker]
			w.Tasks[job] = []int{i}
			w.TaskCount++
			w.Instances = append(w.Instances, job)
			w.RecordsInPerSec += r.RecordsInPerSec
			w.RecordsOutPerSec += r.RecordsOutPerSec
		}
	}
	rep := WorkersReport{Group: group, Workers: []WorkerStatus{}}
	for _, w := range ws {
		slices.Sort(w.Instances)
		for j := range w.Tasks {
			slices.Sort(w.Tasks[j])
		}
		rep.Workers = append(rep.Workers, *w)
	}
	sort.Slice(rep.Workers, func(i, j int) bool { return rep.Workers[i].ID < rep.Workers[j].ID })
	return rep
}

// Workers implements Service.
func (l *Local) Workers(ctx context.Context) (WorkersReport, error) {
	if st := l.gstate(); st != nil {
		return st.groupWorkers(), nil
	}
	id, err := l.WorkerID()
	if err != nil {
		return WorkersReport{}, err
	}
	if group := l.cfg.Worker.Group; group != "" {
		return l.readWorkers(ctx, group, id)
	}
	// No group: this process alone, with the tasks it runs.
	host, _ := os.Hostname()
	w := WorkerStatus{ID: id, Host: host, Live: true, Self: true, Tasks: map[string][]int{}}
	jobs, _ := l.Jobs(ctx)
	for _, j := range jobs {
		for _, t := range j.Tasks {
			if t.State == StateRunning || t.State == StatePaused {
				w.Tasks[j.Name] = append(w.Tasks[j.Name], t.ID)
				w.TaskCount++
			}
		}
		w.RecordsInPerSec += j.Metrics.RecordsInPerSec
		w.RecordsOutPerSec += j.Metrics.RecordsOutPerSec
	}
	return WorkersReport{Workers: []WorkerStatus{w}}, nil
}

// readWorkers reads a group's status topic and membership for a process
// that is not a member (the CLI on a configuration naming the group).
func (l *Local) readWorkers(ctx context.Context, group, self string) (WorkersReport, error) {
	opts, _, err := l.ClientFor(l.def)
	if err != nil {
		return WorkersReport{}, err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return WorkersReport{}, err
	}
	defer cl.Close()
	live, err := workergroup.LiveMembers(ctx, cl, group)
	if err != nil {
		return WorkersReport{}, err
	}
	t, err := workergroup.OpenTable(ctx, opts, l.groupStatusTopic(), l.log)
	if err != nil {
		return WorkersReport{}, err
	}
	rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); _ = t.Run(rctx) }()
	select {
	case <-t.Ready():
	case <-rctx.Done():
	}
	snap := t.Snapshot()
	cancel()
	<-done
	if err := ctx.Err(); err != nil {
		return WorkersReport{}, err
	}
	return workersFrom(group, snap, live, self), nil
}
