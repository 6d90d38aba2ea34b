package ops

// A worker group's shared state, in two compacted topics of the group, as
// Kafka Connect's distributed mode keeps its config and status topics:
//
//   - _kdeck-GROUP-configs holds the jobs created through the API
//     ("job-NAME"), every job's target state ("target-state-NAME":
//     STARTED, PAUSED or STOPPED) and the latest restart request of a job
//     ("restart-NAME"). A worker that receives PutJob, DeleteJob or a
//     lifecycle verb (start, pause, resume, stop, restart) for a job of the
//     group writes it there and returns once it has read it back; every
//     worker (the receiving one included) applies what it reads: it adds,
//     replaces or removes the job in its supervisor, declares the group's
//     jobs to the group (a STOPPED job declares no task) so the leader
//     assigns them, pauses or resumes its share, and restarts the tasks it
//     runs. Requests that must happen where a task runs (restart a task)
//     thus go through the topic, not through a forwarded call; an offset
//     reset needs no owner: the job is STOPPED everywhere (no worker runs a
//     task, as the status topic shows) and its offsets live in Kafka, so any
//     worker alters them.
//   - _kdeck-GROUP-status holds each task's status ("task-NAME-ID": state,
//     worker id, trace, rates), written by the worker running it when it
//     changes and every 10 s, and each worker's identity ("worker-ID").
//     Every worker reads it, so Job, Jobs and Workers on any worker answer
//     for the whole group: a task is shown on the worker that wrote its
//     status while that worker is a member of the group (the coordinator's
//     view, described every second), and UNASSIGNED once it is not, until
//     its new owner writes. Stream jobs run an instance on every worker
//     (their own consumer group splits the partitions): each worker writes
//     its instance's status the same way ("instance-NAME-WORKER": state,
//     worker id, trace, rates, lag, the partitions it processes), and
//     UNASSIGNED when the instance stops there or the worker stops; a
//     stream job's status on any worker is one task per live worker's
//     instance, numbered in the order of the workers' ids
//     (job_workergroup_instances.go), and Workers counts each instance as
//     one task of its worker's load.
//
// Jobs declared in TOML keep their rule (they run when every worker's file
// declares them identically) and take their target state from the topic.
//
// Goroutines: startGroupState starts the two table readers, the configs
// applier and the status writer, owned by the groupState and stopped by
// stop (after the member stopped, so the last statuses are written by
// tasks already stopped). Lock order: applyMu, then workerGroup.mu, then
// groupState.mu; none is held while waiting for Kafka except applyMu.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/ops/workergroup"
)

// statusRefresh is how often a worker rewrites the status of the tasks it
// runs even when their state did not change (their rates did).
const statusRefresh = 10 * time.Second

// groupState is one worker's view of its group's configs and status
// topics.
type groupState struct {
	l     *Local
	s     *supervisor
	g     *workerGroup
	group string
	me    string
	host  string
	began time.Time

	configs, status *workergroup.Table
	adm             *kgo.Client
	ctx             context.Context // of the goroutines below; cancel ends it
	cancel          context.CancelFunc
	wg              sync.WaitGroup

	applyMu sync.Mutex // serialises applyConfigs
	pubMu   sync.Mutex // serialises publish

	mu       sync.Mutex
	live     map[string]workergroup.LiveMember // members now, by worker id; nil until first described
	gen      int32                             // generation of the assignment applied here
	applied  map[string]string                 // API job -> hash of the configuration applied here
	targets  map[string]string                 // job -> target state applied here
	restarts map[string]string                 // job -> id of the last restart request seen
	tasks    map[string]int                    // group-managed job -> task count
	written  map[string]workergroup.TaskStatus // status last written, by key

	instances map[string]workergroup.InstanceStatus // stream job instances' status last written, by key
	leaving   bool                                  // stop began: no instance runs here any more
}

// gstate returns the group state of this worker, nil outside a group or
// before StartJobs joined it.
func (l *Local) gstate() *groupState { return l.gstateP.Load() }

// groupFor returns the group state for a change made through this worker:
// nil outside a group or in a process that hosts no jobs (the CLI), and
// for a worker still joining its group (its API serves before StartJobs
// joined), the state once joined, waiting up to 30s. A change must not be
// kept by this worker alone while the group's topics exist.
func (l *Local) groupFor(ctx context.Context) (*groupState, error) {
	if l.cfg.Worker.Group == "" {
		return nil, nil
	}
	wait := time.NewTimer(30 * time.Second)
	defer wait.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if st := l.gstate(); st != nil {
			return st, nil
		}
		s := l.sup()
		s.mu.Lock()
		started, closed := s.started, s.closed
		s.mu.Unlock()
		if !started || closed {
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-wait.C:
			return nil, refusedf("this worker has not joined worker group %q yet: retry in a moment", l.cfg.Worker.Group)
		case <-tick.C:
		}
	}
}

// startGroupState opens the group's topics, reads them to their end, adds
// the API jobs they hold to s and applies their target states; it then
// starts the readers. Declaring the jobs (groupDecl), creating the member
// and then start (the applier and the status writer) are the caller's.
func (l *Local) startGroupState(s *supervisor, g *workerGroup, id string) (*groupState, error) {
	opts, _, err := l.ClientFor(l.def)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	st := &groupState{l: l, s: s, g: g, group: l.cfg.Worker.Group, me: id, host: host, began: time.Now(),
		applied: map[string]string{}, targets: map[string]string{}, restarts: map[string]string{},
		tasks: map[string]int{}, written: map[string]workergroup.TaskStatus{}, instances: map[string]workergroup.InstanceStatus{}}
	octx, ocancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer ocancel()
	if st.configs, err = workergroup.OpenTable(octx, opts, l.groupConfigsTopic(), l.log); err != nil {
		return nil, fmt.Errorf("worker group %s: %w", st.group, err)
	}
	if st.status, err = workergroup.OpenTable(octx, opts, l.groupStatusTopic(), l.log); err != nil {
		st.configs.Close()
		return nil, fmt.Errorf("worker group %s: %w", st.group, err)
	}
	if st.adm, err = kgo.NewClient(opts...); err != nil {
		st.configs.Close()
		st.status.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(s.ctx)
	st.cancel = cancel
	for _, t := range []*workergroup.Table{st.configs, st.status} {
		st.wg.Go(func() { _ = t.Run(ctx) })
	}
	for _, t := range []*workergroup.Table{st.configs, st.status} {
		select {
		case <-t.Ready():
		case <-octx.Done():
			l.log.Warn("the worker group topic was not read to its end in time; going on with what was read", "topic", t.Topic())
		}
	}
	// What this worker's previous incarnation said it ran (a SIGKILL writes
	// nothing) is not true any more: nothing runs here yet.
	stale := map[string][]byte{}
	for k, v := range st.status.Snapshot() {
		var r workergroup.TaskStatus
		if _, _, ok := workergroup.ParseTaskKey(k); ok && json.Unmarshal(v, &r) == nil && r.Worker == id && r.State != string(StateUnassigned) {
			r.State, r.Trace, r.RecordsInPerSec, r.RecordsOutPerSec, r.At = string(StateUnassigned), "", 0, 0, l.now()
			stale[k], _ = json.Marshal(r)
		}
	}
	maps.Copy(stale, staleInstances(st.status.Snapshot(), id, l.now()))
	if err := st.status.Write(octx, stale); err != nil {
		l.log.Warn("cannot clear this worker's old task statuses", "err", err)
	}
	// Restart requests written before this worker started are history.
	for k, v := range st.configs.Snapshot() {
		if name, ok := strings.CutPrefix(k, workergroup.RestartKeyPrefix); ok {
			var r workergroup.RestartRequest
			if json.Unmarshal(v, &r) == nil {
				st.restarts[name] = r.ID
			}
		}
	}
	g.state = st
	st.applyConfigsLocked(false)
	st.ctx = ctx
	st.refreshLive(ctx)
	return st, nil
}

// start publishes the state to the API side and starts the configs applier
// and the status writer; the member must exist (they declare jobs to it).
func (st *groupState) start() {
	st.l.gstateP.Store(st)
	st.wg.Go(func() { st.applyLoop(st.ctx) })
	st.wg.Go(func() { st.statusLoop(st.ctx) })
}

// groupConfigsTopic is [worker] configs_topic or _kdeck-GROUP-configs.
func (l *Local) groupConfigsTopic() string {
	if t := l.cfg.Worker.ConfigsTopic; t != "" {
		return t
	}
	return workergroup.ConfigsTopic(l.cfg.Worker.Group)
}

// groupStatusTopic is [worker] status_topic or _kdeck-GROUP-status.
func (l *Local) groupStatusTopic() string {
	if t := l.cfg.Worker.StatusTopic; t != "" {
		return t
	}
	return workergroup.StatusTopic(l.cfg.Worker.Group)
}

// stop stops the goroutines and closes the clients.
func (st *groupState) stop() {
	st.l.gstateP.Store(nil)
	// The last statuses: this worker's tasks are stopped now, and its
	// stream job instances are about to stop (closeJobs stops them next).
	st.mu.Lock()
	st.leaving = true
	st.mu.Unlock()
	wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	st.publish(wctx)
	cancel()
	st.cancel()
	st.wg.Wait()
	st.adm.Close()
}

// applyLoop applies the configs topic at each change.
func (st *groupState) applyLoop(ctx context.Context) {
	for {
		ch := st.configs.Changed()
		st.applyConfigs()
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
	}
}

// statusLoop describes the group's members and writes the status of the
// tasks running here, every second.
func (st *groupState) statusLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		st.refreshLive(ctx)
		st.publish(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (st *groupState) refreshLive(ctx context.Context) {
	live, err := workergroup.LiveMembers(ctx, st.adm, st.group)
	if err != nil {
		if ctx.Err() == nil {
			st.l.log.Debug("describing the worker group", "err", err)
		}
		return
	}
	st.mu.Lock()
	st.live = live
	st.mu.Unlock()
}

// isLive reports whether worker id is a member of the group now (true for
// every worker until the group was first described).
func (st *groupState) isLive(id string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.live == nil {
		return true
	}
	_, ok := st.live[id]
	return ok
}

// setGeneration records the generation of the assignment being applied.
func (st *groupState) setGeneration(gen int32) {
	if gen < 0 {
		return
	}
	st.mu.Lock()
	st.gen = gen
	st.mu.Unlock()
}
