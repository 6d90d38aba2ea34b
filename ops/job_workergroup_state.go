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
//     its new owner writes.
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
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/connect"
	"github.com/kdeck/kdeck/mirror"
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
		tasks: map[string]int{}, written: map[string]workergroup.TaskStatus{}}
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
	// The last statuses: this worker's tasks are stopped now.
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

// apiHash identifies an API job's configuration.
func apiHash(jc workergroup.JobConfig) string {
	return jc.Kind + "/" + jobHash(config.Job{Table: jc.Table})
}

// target returns the target state of job name in the configs topic.
func (st *groupState) target(name string) string {
	if v, ok := st.configs.Get(workergroup.TargetStateKeyPrefix + name); ok {
		var t workergroup.TargetState
		if json.Unmarshal(v, &t) == nil && t.State != "" {
			return t.State
		}
	}
	return workergroup.TargetStarted
}

// appliedTarget returns the target state applied here to job name.
func (st *groupState) appliedTarget(name string) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	if t := st.targets[name]; t != "" {
		return t
	}
	return workergroup.TargetStarted
}

// applyConfigs brings this worker to the configs topic.
func (st *groupState) applyConfigs() { st.applyConfigsLocked(true) }

// applyConfigsLocked does applyConfigs; declare says whether to declare a
// changed job set to the group (false before the member exists).
func (st *groupState) applyConfigsLocked(declare bool) {
	st.applyMu.Lock()
	defer st.applyMu.Unlock()
	l, s := st.l, st.s
	snap := st.configs.Snapshot()
	want := map[string]workergroup.JobConfig{}
	for k, v := range snap {
		name, ok := strings.CutPrefix(k, workergroup.JobKeyPrefix)
		if !ok {
			continue
		}
		var jc workergroup.JobConfig
		if err := json.Unmarshal(v, &jc); err != nil {
			l.log.Warn("ignoring a job in the worker group's configs topic: not valid JSON", "job", name, "err", err)
			continue
		}
		want[name] = jc
	}
	changed := false
	// Removed or changed API jobs.
	for _, name := range slices.Sorted(maps.Keys(st.applied)) {
		jc, ok := want[name]
		if ok && apiHash(jc) == st.applied[name] {
			continue
		}
		st.removeJob(name)
		delete(st.applied, name)
		changed = true
	}
	// Added (or replaced) API jobs.
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if _, ok := st.applied[name]; ok {
			continue
		}
		jc := want[name]
		if h := s.get(name); h != nil {
			st.applied[name] = apiHash(jc) // the configured job runs; say it once
			l.log.Warn("a job created through the API has the name of a configured job; the configured one runs", "job", name)
			continue
		}
		h := s.add(JobKind(jc.Kind), config.Job{Table: jc.Table})
		if h == nil {
			continue
		}
		st.applied[name] = apiHash(jc)
		changed = true
		if !l.groupManaged(h) && st.target(name) != workergroup.TargetStopped {
			if st.target(name) == workergroup.TargetPaused {
				h.setPaused(true)
			}
			s.start(h) // stream jobs run an instance on every worker
		}
	}
	// Target states.
	for _, name := range s.names() {
		h := s.get(name)
		if h == nil {
			continue
		}
		t := st.target(name)
		old := st.appliedTarget(name)
		if t == old {
			continue
		}
		st.mu.Lock()
		st.targets[name] = t
		st.mu.Unlock()
		h.setPaused(t == workergroup.TargetPaused)
		h.mu.Lock()
		r, running := h.runner, h.done != nil
		h.mu.Unlock()
		if running && r != nil {
			h.applyPause(r)
		}
		if (t == workergroup.TargetStopped) != (old == workergroup.TargetStopped) {
			switch {
			case l.groupManaged(h):
				changed = true // a STOPPED job declares no task
			case t == workergroup.TargetStopped:
				s.stop(h, l.stopTimeout())
				h.setState(StateStopped)
			default:
				s.start(h)
			}
		}
	}
	// Restart requests.
	for k, v := range snap {
		name, ok := strings.CutPrefix(k, workergroup.RestartKeyPrefix)
		if !ok {
			continue
		}
		var r workergroup.RestartRequest
		if json.Unmarshal(v, &r) != nil || r.ID == st.restarts[name] {
			continue
		}
		st.restarts[name] = r.ID
		st.restart(name, r)
	}
	if changed && declare {
		st.g.m.SetJobs(l.groupDecl(s, st.g))
	}
}

// removeJob stops and forgets an API job here.
func (st *groupState) removeJob(name string) {
	s := st.s
	h := s.get(name)
	if h == nil {
		return
	}
	st.g.mu.Lock()
	delete(st.g.jobs, name)
	delete(st.g.shares, name)
	delete(st.g.conflicted, name)
	st.g.mu.Unlock()
	s.stop(h, st.l.stopTimeout())
	s.remove(name)
	st.mu.Lock()
	delete(st.tasks, name)
	delete(st.targets, name)
	st.mu.Unlock()
}

// restart restarts what a restart request asks of the tasks running here.
func (st *groupState) restart(name string, r workergroup.RestartRequest) {
	h := st.s.get(name)
	if h == nil {
		return
	}
	if st.l.groupManaged(h) {
		share, _ := st.l.groupShare(name)
		if len(share) == 0 || r.Task != nil && !slices.Contains(share, *r.Task) {
			return
		}
	} else if r.Task != nil && *r.Task > 0 {
		return
	}
	h.mu.Lock()
	running := h.done != nil
	h.mu.Unlock()
	if !running {
		return
	}
	details := map[string]string{}
	if err := st.l.restartTasks(h, JobActionOptions{Task: r.Task, OnlyFailed: r.OnlyFailed}, details); err != nil {
		st.l.log.Warn("restart requested through the worker group failed here", "job", name, "err", err)
		return
	}
	st.l.log.Info("restarted as requested through the worker group", "job", name, "request", r.ID)
}

// groupDecl returns the jobs this worker declares to the group (a STOPPED
// one declares no task) and records them in g.jobs; a job that cannot split
// its work is FAILED and left out.
func (l *Local) groupDecl(s *supervisor, g *workerGroup) []workergroup.Job {
	var decl []workergroup.Job
	tasksOf := map[string]int{}
	jobs := map[string]bool{}
	for _, n := range s.names() {
		h := s.get(n)
		if h == nil || !l.groupManaged(h) || h.spec.Table["disabled"] == true {
			continue
		}
		var tasks int
		switch h.kind {
		case KindConnector:
			confs, err := connect.SplitTasks(l.registry(), h.spec.Table)
			if err != nil {
				h.fail(fmt.Errorf("connector %q cannot split its work: %w", h.name, err), l.now())
				continue
			}
			tasks = len(confs)
		case KindMirror:
			cfg, err := mirror.ParseConfig(h.spec.Table)
			if err != nil {
				h.fail(err, l.now())
				continue
			}
			tasks = max(cfg.TasksMax, 1) // each task is a shard of the flow's partitions
		}
		jobs[n] = true
		tasksOf[n] = tasks
		if st := g.state; st != nil && st.appliedTarget(n) == workergroup.TargetStopped {
			tasks = 0
		}
		decl = append(decl, workergroup.Job{Name: n, Kind: string(h.kind), Hash: jobHash(h.spec), Tasks: tasks})
	}
	g.mu.Lock()
	maps.Copy(g.jobs, jobs)
	g.mu.Unlock()
	if st := g.state; st != nil {
		st.mu.Lock()
		st.tasks = tasksOf
		st.mu.Unlock()
	}
	return decl
}

// actorName is the caller recorded in the topics' records.
func actorName(ctx context.Context) string {
	if a, ok := ActorFrom(ctx); ok && a.User != "" {
		return a.User
	}
	return "local"
}

// putConfig writes a configs record and applies the topic here before
// returning, so the caller sees its change at once.
func (st *groupState) putConfig(ctx context.Context, key string, v any) error {
	var b []byte
	if v != nil {
		var err error
		if b, err = json.Marshal(v); err != nil {
			return err
		}
	}
	if err := st.configs.Put(ctx, key, b); err != nil {
		return err
	}
	st.applyConfigs()
	return nil
}

// groupAction performs a lifecycle verb through the configs topic when this
// worker is in a group; handled is false when the verb is not the group's.
func (l *Local) groupAction(ctx context.Context, h *hostedJob, action JobAction, opts JobActionOptions, details map[string]string) (handled bool, err error) {
	st, err := l.groupFor(ctx)
	if st == nil || err != nil {
		return err != nil, err
	}
	details["worker_group"] = st.group
	by, now := actorName(ctx), l.now()
	switch action {
	case ActionStart, ActionResume, ActionPause, ActionStop:
		if (action == ActionStart || action == ActionResume) && st.appliedTarget(h.name) == workergroup.TargetStarted {
			// Already started in the group: start (again) what runs
			// here, as outside a group.
			return false, nil
		}
		t := workergroup.TargetStarted
		switch action {
		case ActionPause:
			t = workergroup.TargetPaused
		case ActionStop:
			t = workergroup.TargetStopped
		}
		details["target_state"] = t
		return true, st.putConfig(ctx, workergroup.TargetStateKeyPrefix+h.name, workergroup.TargetState{State: t, By: by, At: now})
	case ActionRestart:
		if st.appliedTarget(h.name) == workergroup.TargetStopped {
			return true, refusedf("job %q is STOPPED in worker group %q: start it ('kdeck connect resume %s') instead of restarting it", h.name, st.group, h.name)
		}
		if opts.Task != nil && *opts.Task >= 0 {
			st.mu.Lock()
			n, known := st.tasks[h.name]
			st.mu.Unlock()
			if known && *opts.Task >= n {
				return true, notFoundf(ErrNotFound, "job %q has no task %d (it has %d)", h.name, *opts.Task, n)
			}
		}
		r := workergroup.RestartRequest{ID: newRequestID(), OnlyFailed: opts.OnlyFailed, By: by, At: now}
		if opts.Task != nil && *opts.Task >= 0 {
			task := *opts.Task
			r.Task = &task
		}
		details["request"] = r.ID
		return true, st.putConfig(ctx, workergroup.RestartKeyPrefix+h.name, r)
	case ActionDelete:
		if l.owner(h.name) != JobSourceAPI {
			return false, nil
		}
		return true, st.deleteJob(ctx, h.name)
	}
	return false, nil
}

// deleteJob deletes an API job from the group: its configuration, target
// state and restart request.
func (st *groupState) deleteJob(ctx context.Context, name string) error {
	for _, k := range []string{workergroup.TargetStateKeyPrefix + name, workergroup.RestartKeyPrefix + name} {
		if _, ok := st.configs.Get(k); ok {
			if err := st.configs.Put(ctx, k, nil); err != nil {
				return err
			}
		}
	}
	return st.putConfig(ctx, workergroup.JobKeyPrefix+name, nil)
}

// hasAPIJob reports whether the configs topic holds job name.
func (st *groupState) hasAPIJob(name string) bool {
	_, ok := st.configs.Get(workergroup.JobKeyPrefix + name)
	return ok
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// publish writes the status of the tasks running here that changed (or
// were last written statusRefresh ago), and this worker's identity.
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
			st.mu.Lock()
			last, ok := st.written[key]
			st.mu.Unlock()
			if ok && last.State == rec.State && last.Trace == rec.Trace && last.Generation == rec.Generation && now.Sub(last.At) < statusRefresh {
				continue
			}
			if b, err := json.Marshal(rec); err == nil {
				out[key] = b
			}
			st.mu.Lock()
			st.written[key] = rec
			st.mu.Unlock()
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
	}
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
	js.Tasks = tasks
	if len(share) == 0 {
		js.Metrics = JobMetrics{}
	}
	js.Metrics.RecordsInPerSec, js.Metrics.RecordsOutPerSec = in, out
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
	rep := workersFrom(st.group, st.status.Snapshot(), live, st.me)
	for i := range rep.Workers {
		w := &rep.Workers[i]
		if !w.Self {
			// Only the group's jobs as this worker knows them: a deleted
			// or stopped job's last statuses are history.
			for j, ts := range w.Tasks {
				if _, ok := tasksOf[j]; !ok || st.appliedTarget(j) == workergroup.TargetStopped {
					delete(w.Tasks, j)
					w.TaskCount -= len(ts)
				}
			}
			continue
		}
		// This worker's own share is fresher than what it last wrote.
		w.Tasks, w.TaskCount = map[string][]int{}, 0
		w.RecordsInPerSec, w.RecordsOutPerSec = 0, 0
		for _, n := range st.s.names() {
			h := st.s.get(n)
			share, ok := st.l.groupShare(n)
			if h == nil || !ok || len(share) == 0 {
				continue
			}
			w.Tasks[n], w.TaskCount = share, w.TaskCount+len(share)
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
		if _, _, ok := workergroup.ParseTaskKey(k); !ok {
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
	rep := WorkersReport{Group: group, Workers: []WorkerStatus{}}
	for _, w := range ws {
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
