package ops

// Worker groups: when [worker] group (or 'kdeck run --worker-group') is set,
// the connectors and mirrors of this worker are not started by StartJobs;
// the worker joins its group (package workergroup) and runs the connector
// tasks and mirror flows the group assigns it, restarting a connector with
// its new share of tasks when the share changes. Stream jobs run on every
// worker: their own consumer group splits their partitions.
//
// Goroutines: the member's Run goroutine is owned by the Local; it calls
// applyAssignment, which stops and starts hosted jobs through the
// supervisor. closeJobs stops it (which stops its jobs and leaves the group)
// before stopping the other jobs.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/connect"
	"github.com/kdeck/kdeck/mirror"
	"github.com/kdeck/kdeck/ops/workergroup"
)

// workerGroup is this worker's membership and the share it runs.
type workerGroup struct {
	m      *workergroup.Member
	cancel context.CancelFunc
	done   chan struct{}

	mu         sync.Mutex
	jobs       map[string]bool  // jobs run through the group
	shares     map[string][]int // job -> task ids running here
	conflicted map[string]bool  // jobs refused here: their table differs from the group's

	state *groupState // the group's configs and status topics (job_workergroup_state.go)
}

// groupManaged reports whether h runs through the worker group.
func (l *Local) groupManaged(h *hostedJob) bool {
	return l.cfg.Worker.Group != "" && (h.kind == KindConnector || h.kind == KindMirror)
}

// jobHash identifies a job's configuration: equal tables hash equal
// (encoding/json sorts map keys).
func jobHash(j config.Job) string {
	b, _ := json.Marshal(j.Table)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// startWorkerGroup joins the worker group with the group-managed jobs of s;
// a job that cannot split its tasks is FAILED and left out.
func (l *Local) startWorkerGroup(s *supervisor) error {
	if l.cfg.Worker.Group == "" {
		return nil
	}
	id, err := l.WorkerID()
	if err != nil {
		return err
	}
	opts, _, err := l.ClientFor(l.def)
	if err != nil {
		return err
	}
	g := &workerGroup{jobs: map[string]bool{}, shares: map[string][]int{}, conflicted: map[string]bool{}}
	if _, err := l.startGroupState(s, g, id); err != nil {
		return err
	}
	decl := l.groupDecl(s, g)
	m, err := workergroup.New(workergroup.Config{
		Group: l.cfg.Worker.Group, WorkerID: id, SessionTimeout: l.workerSessionTimeout(), StatusTopic: l.groupStatusTopic(),
		ClientOpts: opts, Logger: l.log, Jobs: decl,
		Apply: func(ctx context.Context, a workergroup.Assignment) {
			g.state.setGeneration(a.Generation)
			l.applyAssignment(s, g, a)
			g.state.publish(ctx) // before the group hands stopped tasks over
		},
	})
	if err != nil {
		g.state.stop()
		return err
	}
	g.m = m
	ctx, cancel := context.WithCancel(s.ctx)
	g.cancel, g.done = cancel, make(chan struct{})
	l.group = g
	g.state.start()
	go func() {
		defer close(g.done)
		if err := m.Run(ctx); err != nil {
			l.log.Error("worker group membership failed; this worker runs no connector or mirror", "err", err)
		}
	}()
	return nil
}

// stopWorkerGroup stops the group's jobs on this worker and leaves the
// group; it waits for the member to return.
func (l *Local) stopWorkerGroup() {
	if g := l.group; g != nil {
		g.cancel()
		<-g.done
		g.state.stop()
	}
}

// applyAssignment makes this worker run exactly a's share: jobs whose share
// changed stop (in parallel, saving their offsets) and start again with the
// new share; a job whose configuration conflicts with the group's is
// FAILED with the reason and not run.
func (l *Local) applyAssignment(s *supervisor, g *workerGroup, a workergroup.Assignment) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var wg sync.WaitGroup
	var changed []*hostedJob
	for name := range g.jobs {
		h := s.get(name)
		if h == nil {
			continue
		}
		want := a.Tasks[name]
		_, conflict := a.Conflicts[name]
		if !conflict && !g.conflicted[name] && slices.Equal(want, g.shares[name]) {
			continue
		}
		changed = append(changed, h)
		wg.Go(func() { s.stop(h, l.stopTimeout()) })
	}
	wg.Wait()
	for _, h := range changed {
		want := a.Tasks[h.name]
		if msg, bad := a.Conflicts[h.name]; bad {
			delete(g.shares, h.name)
			g.conflicted[h.name] = true
			h.fail(errors.New("not run on this worker: "+msg), l.now())
			continue
		}
		if g.conflicted[h.name] {
			delete(g.conflicted, h.name) // the group agrees again
			h.mu.Lock()
			h.lastErr, h.lastAt = "", time.Time{}
			h.mu.Unlock()
		}
		g.shares[h.name] = want
		if len(want) == 0 {
			h.setState(StateUnassigned)
			continue
		}
		tasks := slices.Clone(want)
		h.mu.Lock()
		if h.kind == KindConnector {
			h.build = func(l *Local, j config.Job) (jobRunner, error) {
				return newConnectorJobWith(l, j, connect.OnlyTasks(tasks...))
			}
		} else {
			h.build = func(l *Local, j config.Job) (jobRunner, error) {
				return newMirrorJobWith(l, j, mirror.Shards(tasks...))
			}
		}
		h.mu.Unlock()
		s.start(h)
	}
}

// groupShare returns the task ids of job name running on this worker and
// whether the job runs through a worker group.
func (l *Local) groupShare(name string) ([]int, bool) {
	g := l.group
	if g == nil {
		return nil, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.jobs[name] {
		return nil, false
	}
	return slices.Clone(g.shares[name]), true
}

// groupDetail adds the worker group and this worker's share to a status.
func (l *Local) groupDetail(h *hostedJob, js *JobStatus) {
	if st := l.gstate(); st != nil && l.groupManaged(h) {
		st.view(h, js)
		return
	}
	if st := l.gstate(); st != nil && h.kind == KindStream {
		st.streamView(h, js)
		return
	}
	share, ok := l.groupShare(js.Name)
	if !ok {
		return
	}
	id, _ := l.WorkerID()
	for i := range js.Tasks {
		if js.Tasks[i].Detail == nil {
			js.Tasks[i].Detail = map[string]string{}
		}
		js.Tasks[i].Detail["worker"] = id
		js.Tasks[i].Detail["worker_group"] = l.cfg.Worker.Group
	}
	if len(share) == 0 && len(js.Tasks) == 0 {
		js.Tasks = append(js.Tasks, TaskStatus{ID: 0, State: StateUnassigned, Detail: map[string]string{
			"worker_group": l.cfg.Worker.Group, "note": "no task of it runs on this worker; the group runs it on others"}})
	}
}

// groupRefuses refuses to start or restart a group-managed job on a worker
// the group gave none of its tasks: it would run them twice.
func (l *Local) groupRefuses(h *hostedJob, action JobAction) error {
	if action != ActionStart && action != ActionRestart {
		return nil
	}
	share, ok := l.groupShare(h.name)
	if !ok || len(share) > 0 {
		return nil
	}
	return refusedf("cannot %s job %q here: worker group %q runs its tasks on other workers; act on the worker that runs them", action, h.name, l.cfg.Worker.Group)
}
