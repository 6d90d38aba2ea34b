package ops

// The configs topic: applying what it holds (API jobs, target states,
// restart requests) and writing to it (PutJob, DeleteJob, lifecycle verbs).
// See job_workergroup_state.go for the whole design.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/connect"
	"github.com/kdeck/kdeck/mirror"
	"github.com/kdeck/kdeck/ops/workergroup"
)

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
	snap := st.configs.Snapshot()
	changed := st.applyAPIJobs(st.wantedJobs(snap))
	if st.applyTargets() {
		changed = true
	}
	st.applyRestarts(snap)
	if changed && declare {
		st.g.m.SetJobs(st.l.groupDecl(st.s, st.g))
	}
}

// wantedJobs returns the API jobs of a configs snapshot by name.
func (st *groupState) wantedJobs(snap map[string][]byte) map[string]workergroup.JobConfig {
	want := map[string]workergroup.JobConfig{}
	for k, v := range snap {
		name, ok := strings.CutPrefix(k, workergroup.JobKeyPrefix)
		if !ok {
			continue
		}
		var jc workergroup.JobConfig
		if err := json.Unmarshal(v, &jc); err != nil {
			st.l.log.Warn("ignoring a job in the worker group's configs topic: not valid JSON", "job", name, "err", err)
			continue
		}
		want[name] = jc
	}
	return want
}

// applyAPIJobs removes the API jobs no longer wanted (or changed) and adds
// the new ones; it reports whether the job set changed. Called with
// applyMu held.
func (st *groupState) applyAPIJobs(want map[string]workergroup.JobConfig) (changed bool) {
	l, s := st.l, st.s
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
	return changed
}

// applyTargets brings every job here to its target state (started,
// paused, stopped); it reports whether a group-managed job's task set
// changed (a STOPPED job declares no task). Called with applyMu held.
func (st *groupState) applyTargets() (changed bool) {
	l, s := st.l, st.s
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
	return changed
}

// applyRestarts acts on the restart requests of a configs snapshot not
// acted on yet. Called with applyMu held.
func (st *groupState) applyRestarts(snap map[string][]byte) {
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
