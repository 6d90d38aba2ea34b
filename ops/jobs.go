package ops

// The job supervisor: one lifecycle for connectors, mirrors and stream jobs.
//
// Why this file is long (~660 lines): it is the supervisor's state
// (supervisor, hostedJob) and everything that reads or changes it under
// its two locks (hosting, the restart loop, stopping, status and the
// lifecycle verbs), kept in one file so the lock order below reads in one
// place, as mirror/run.go does.
//
// What a job kind implements, and the registry of kinds, are in jobkinds.go.
//
// # Lifecycle
//
// Local.StartJobs starts every configured job (`kdeck run`, the TUI, `kdeck
// dev`); Local.Close stops them within the stop timeout and returns an error
// naming the jobs it had to abandon. Without
// StartJobs the jobs are listed as UNASSIGNED and lifecycle verbs are refused
// with a sentence saying they need a running worker. Every lifecycle verb is
// audited (action "jobs.VERB") and refused in read-only mode.
//
// Lock order: supervisor.mu before hostedJob.mu; neither is held while
// calling into a runner's Run or while waiting for a job to stop.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/jobstate"
)

// DefaultJobStopTimeout bounds how long stopping one job (and Close stopping
// all of them, which happens in parallel) waits for its runner to return,
// unless WithJobStopTimeout sets another bound ('kdeck run --stop-timeout').
const DefaultJobStopTimeout = 10 * time.Second

// DefaultMaxRestarts is how many times in a row the supervisor restarts a job
// that fails with the same error, each time within a minute of its start,
// before it gives up and leaves the job FAILED ([ops] max_restarts).
const DefaultMaxRestarts = 5

// ErrJobsAbandoned is matched by the error Close returns when jobs did not
// stop within the stop timeout: their offsets not yet saved will be read
// again on the next start.
var ErrJobsAbandoned = errors.New("jobs did not stop in time")

// jobBackoff is the restart backoff of failed jobs: 1s doubling to 30s,
// reset after a minute of healthy running.
var jobBackoff = jobstate.Backoff{Min: time.Second, Max: 30 * time.Second, HealthyAfter: time.Minute}

// supervisor hosts jobs. It is created with the Local and started by
// StartJobs.
type supervisor struct {
	l     *Local
	kinds jobKinds // builders by kind; read-only

	mu      sync.Mutex
	jobs    map[string]*hostedJob
	order   []string
	started bool
	closed  bool
	ctx     context.Context
	cancel  context.CancelFunc
}

// hostedJob is one job and the goroutine running it.
type hostedJob struct {
	name    string
	kind    JobKind
	class   string
	cluster string
	spec    config.Job
	build   jobBuilder
	offsets offsetsBuilder

	mu       sync.Mutex
	runner   jobRunner // current runner; nil before the first start
	state    State     // supervisor's view: RUNNING, PAUSED, STOPPED, FAILED, RESTARTING, UNASSIGNED
	paused   bool      // desired pause, re-applied after a restart
	pauseGen uint64    // bumped on each change of paused; see applyPause
	cancel   context.CancelFunc
	done     chan struct{} // closed when the run loop returns; nil when not running
	lastErr  string
	lastAt   time.Time
	restarts int
}

func (l *Local) sup() *supervisor {
	l.supOnce.Do(func() {
		s := &supervisor{l: l, kinds: builtinJobKinds(), jobs: map[string]*hostedJob{}}
		for _, js := range jobTables(l.cfg) {
			s.add(js.kind, js.job)
		}
		l.addAPIJobs(s)
		l.supervisor = s
	})
	return l.supervisor
}

// add registers a job without starting it. A job with a duplicate name
// replaces nothing: the first one wins (config validation reports
// duplicates).
func (s *supervisor) add(kind JobKind, j config.Job) *hostedJob {
	name := j.Name()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.jobs[name]; dup || name == "" {
		return nil
	}
	cl, _ := j.Table["cluster"].(string)
	class, _ := j.Table["class"].(string)
	if class == "" {
		class, _ = j.Table["type"].(string)
	}
	if kind == KindMirror {
		// A flow lives on two clusters: show it as source->target, on the
		// cluster it writes to (where it should run).
		src, _ := j.Table["source"].(string)
		dst, _ := j.Table["target"].(string)
		cl, class = dst, src+"->"+dst
	}
	if cl == "" {
		cl = s.l.def
	}
	h := &hostedJob{name: name, kind: kind, class: class, cluster: cl, spec: j, build: s.kinds[kind].build, offsets: s.kinds[kind].offsets, state: StateUnassigned}
	s.jobs[name] = h
	s.order = append(s.order, name)
	return h
}

// StartJobs starts every configured job (and the demo channel's jobs of the
// embedded default) under a supervisor owned by l, and returns at once. Jobs
// run until Close or a lifecycle verb stops them; a job that cannot be built
// is FAILED with the reason, and the others run. Calling it twice is a
// no-op. In read-only mode it starts nothing. ctx is used only for the start; the jobs' lifetime is the Local's.
func (l *Local) StartJobs(ctx context.Context) error {
	if l.lc.readOnly {
		// Read-only: a read-only process starts no job, because every job
		// writes (records, offsets, topics). Jobs stay UNASSIGNED.
		l.log.Info("read-only mode: no job started")
		return nil
	}
	s := l.sup()
	s.mu.Lock()
	if s.started || s.closed {
		s.mu.Unlock()
		return nil
	}
	s.started = true
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mu.Unlock()
	l.addDemoJobs(s)
	l.addDemoStreamJobs(s)
	l.addDemoMirror(s)
	s.mu.Lock()
	names := append([]string(nil), s.order...)
	s.mu.Unlock()
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		h := s.get(n)
		if l.groupManaged(h) {
			continue // the worker group assigns it (job_workergroup.go)
		}
		if h.spec.Table["disabled"] == true {
			h.mu.Lock()
			h.state = StateStopped
			h.mu.Unlock()
			continue
		}
		s.start(h)
	}
	return l.startWorkerGroup(s)
}

// stopTimeout is how long stopping a job may take.
func (l *Local) stopTimeout() time.Duration {
	if l.lc.stopTimeout > 0 {
		return l.lc.stopTimeout
	}
	return DefaultJobStopTimeout
}

// maxRestarts is the restart bound for one repeated error; negative means
// never give up.
func (l *Local) maxRestarts() int {
	switch {
	case l.lc.maxRestarts != 0:
		return l.lc.maxRestarts
	case l.cfg.Ops.MaxRestarts != 0:
		return l.cfg.Ops.MaxRestarts
	}
	return DefaultMaxRestarts
}

// closeJobs stops every job in parallel, each within the stop timeout, and
// returns an error naming the jobs that did not stop.
func (l *Local) closeJobs() error {
	if l.supervisor == nil {
		return nil
	}
	l.stopWorkerGroup() // first: it stops its jobs, then leaves the group
	s := l.supervisor
	s.mu.Lock()
	s.closed = true
	jobs := make([]*hostedJob, 0, len(s.jobs))
	for _, n := range s.order {
		jobs = append(jobs, s.jobs[n])
	}
	s.mu.Unlock()
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		abandoned []string
		timeout   = l.stopTimeout()
	)
	for _, h := range jobs {
		wg.Go(func() {
			if !s.stop(h, timeout) {
				mu.Lock()
				abandoned = append(abandoned, h.name)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if s.cancel != nil {
		s.cancel()
	}
	if len(abandoned) > 0 {
		sort.Strings(abandoned)
		return fmt.Errorf("%w: %s did not stop within %v and were abandoned; records they read but did not commit will be read again on the next start", ErrJobsAbandoned, joinNames(abandoned), timeout)
	}
	return nil
}

func (s *supervisor) get(name string) *hostedJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jobs[name]
}

func (s *supervisor) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

// start launches the run loop of h unless it is running.
func (s *supervisor) start(h *hostedJob) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done != nil {
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	h.cancel, h.done = cancel, make(chan struct{})
	h.state = StateUnassigned // until the loop has built the runner
	done := h.done
	go func() {
		defer close(done)
		s.loop(ctx, h)
		h.mu.Lock()
		if h.done == done {
			h.done, h.cancel = nil, nil
		}
		h.mu.Unlock()
		cancel()
	}()
}

// loop builds and runs h until ctx ends, restarting it with backoff after a
// fatal error.
func (s *supervisor) loop(ctx context.Context, h *hostedJob) {
	log := s.l.log.With("job", h.name, "kind", string(h.kind))
	b := jobBackoff
	same, sameErr := 0, "" // failures in a row with the same error text
	for {
		r, err := h.newRunner(s.l)
		if err != nil {
			// Configuration errors do not heal by retrying.
			h.fail(err, s.l.now())
			log.Error("job cannot start", "err", err)
			return
		}
		h.mu.Lock()
		h.runner = r
		h.state = StateRunning
		if h.paused {
			h.state = StatePaused
		}
		paused := h.paused
		h.mu.Unlock()
		if paused {
			h.applyPause(r)
		}
		log.Info("job running")
		began := time.Now()
		err = r.Run(ctx)
		if ctx.Err() != nil {
			h.setState(StateStopped)
			log.Info("job stopped")
			return
		}
		if err == nil {
			h.setState(StateStopped)
			log.Info("job finished")
			return
		}
		if isPermanent(err) {
			h.fail(err, s.l.now())
			log.Error("job failed with an error restarting cannot heal; it stays FAILED", "err", err)
			return
		}
		if b.Ran(time.Since(began)) {
			same, sameErr = 0, ""
		}
		if err.Error() == sameErr {
			same++
		} else {
			same, sameErr = 1, err.Error()
		}
		if max := s.l.maxRestarts(); max > 0 && same > max {
			h.fail(fmt.Errorf("%w (gave up after %d restarts failing with the same error: fix the cause, then restart the job)", err, max), s.l.now())
			log.Error("job failed again with the same error; giving up", "err", err, "restarts", max)
			return
		}
		h.fail(err, s.l.now())
		backoff := b.Next()
		log.Error("job failed; restarting with backoff", "err", err, "backoff", backoff)
		if jobstate.Sleep(ctx, backoff) != nil {
			// Stays FAILED: a stop while waiting keeps the error visible
			// until the next start.
			return
		}
		h.mu.Lock()
		h.state = StateRestarting
		h.restarts++
		h.mu.Unlock()
	}
}

func (h *hostedJob) newRunner(l *Local) (jobRunner, error) {
	if h.build == nil {
		return nil, fmt.Errorf("no runtime for %s jobs is built into this kdeck", h.kind)
	}
	return h.build(l, h.spec)
}

// setPaused records the desired pause state.
func (h *hostedJob) setPaused(p bool) {
	h.mu.Lock()
	if h.paused != p {
		h.paused = p
		h.pauseGen++
	}
	h.mu.Unlock()
}

// applyPause brings r to the desired pause state. Pause and Resume are called
// without holding h.mu (they may take the runner's own locks), so a call made
// here may land after a concurrent caller's opposite one; applyPause then
// sees that the desire changed while it called and applies it again. The
// last call made on r is thus always followed by a check that the desire it
// applied is still current.
func (h *hostedJob) applyPause(r jobRunner) {
	for {
		h.mu.Lock()
		want, gen := h.paused, h.pauseGen
		h.mu.Unlock()
		if want {
			r.Pause()
		} else {
			r.Resume()
		}
		h.mu.Lock()
		settled := h.pauseGen == gen
		h.mu.Unlock()
		if settled {
			return
		}
	}
}

func (h *hostedJob) setState(st State) {
	h.mu.Lock()
	h.state = st
	h.mu.Unlock()
}

func (h *hostedJob) fail(err error, now time.Time) {
	h.mu.Lock()
	h.state = StateFailed
	h.lastErr, h.lastAt = err.Error(), now
	h.mu.Unlock()
}

// stop cancels h's run loop and waits up to timeout for it. It reports
// whether the job stopped in time.
func (s *supervisor) stop(h *hostedJob, timeout time.Duration) bool {
	h.mu.Lock()
	cancel, done := h.cancel, h.done
	h.mu.Unlock()
	if done == nil {
		return true
	}
	cancel()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.l.log.Error("job did not stop in time; abandoning it", "job", h.name, "timeout", timeout)
		return false
	}
	h.mu.Lock()
	if h.done == done {
		h.done, h.cancel = nil, nil
		if h.state != StateFailed {
			h.state = StateStopped
		}
	}
	h.mu.Unlock()
	return true
}

// status merges the runner's view with the supervisor's and, in a worker
// group, with the group's (job_workergroup_state.go).
func (s *supervisor) status(h *hostedJob) JobStatus {
	js := s.localStatus(h)
	s.l.groupDetail(h, &js)
	return js
}

// localStatus merges the runner's view with the supervisor's.
func (s *supervisor) localStatus(h *hostedJob) JobStatus {
	h.mu.Lock()
	r, st, lastErr, lastAt, running := h.runner, h.state, h.lastErr, h.lastAt, h.done != nil
	restarts := h.restarts
	h.mu.Unlock()
	var js JobStatus
	if r != nil {
		js = r.Status()
	}
	js.Name, js.Kind, js.Class, js.Cluster = h.name, h.kind, h.class, h.cluster
	if js.Tasks == nil {
		js.Tasks = []TaskStatus{}
	}
	switch {
	case st == StateFailed || st == StateRestarting || st == StateUnassigned:
		js.State = st
	case !running:
		js.State = StateStopped
	case st == StatePaused:
		js.State = StatePaused
	case js.State == "":
		js.State = st
	}
	if js.State != StateRunning && js.State != StatePaused {
		for i := range js.Tasks {
			if js.Tasks[i].State == StateRunning || js.Tasks[i].State == StatePaused {
				js.Tasks[i].State = js.State
				if js.State == StateStopped || js.State == StateUnassigned {
					js.Tasks[i].State = StateUnassigned
				}
			}
		}
	}
	if lastErr != "" && (js.LastErrorAt == nil || lastAt.After(*js.LastErrorAt)) {
		js.LastError = lastErr
		at := lastAt
		js.LastErrorAt = &at
	}
	if restarts > 0 {
		if len(js.Tasks) == 0 {
			js.Tasks = []TaskStatus{{ID: 0, State: js.State}}
		}
		if js.Tasks[0].Detail == nil {
			js.Tasks[0].Detail = map[string]string{}
		}
		js.Tasks[0].Detail["job_restarts"] = strconv.Itoa(restarts)
	}
	return js
}

// Jobs implements Service.
func (l *Local) Jobs(ctx context.Context) ([]JobStatus, error) {
	s := l.sup()
	out := []JobStatus{}
	for _, n := range s.names() {
		out = append(out, s.status(s.get(n)))
	}
	return out, nil
}

// Job implements Service.
func (l *Local) Job(ctx context.Context, name string) (JobStatus, error) {
	h, err := l.job(name)
	if err != nil {
		return JobStatus{}, err
	}
	return l.sup().status(h), nil
}

func (l *Local) job(name string) (*hostedJob, error) {
	s := l.sup()
	if h := s.get(name); h != nil {
		return h, nil
	}
	names := s.names()
	if len(names) == 0 {
		return nil, notFoundf(ErrNotFound, "job %q not found: no jobs are configured (add [[connectors]], [[mirrors]] or [[streams]] tables)", name)
	}
	sort.Strings(names)
	return nil, notFoundf(ErrNotFound, "job %q not found (configured: %s)%s", name, joinNames(names), config.Suggest(name, names))
}

func joinNames(ns []string) string {
	if len(ns) > 8 {
		ns = append(ns[:8:8], fmt.Sprintf("and %d more", len(ns)-8))
	}
	out := ""
	for i, n := range ns {
		if i > 0 {
			out += ", "
		}
		out += n
	}
	return out
}

// ErrNoWorker reports a lifecycle verb on a process that hosts no jobs. It
// also matches ErrRefused (exit code 3).
var ErrNoWorker = errors.New("no running worker")

type noWorkerError struct{ msg string }

func (e *noWorkerError) Error() string { return e.msg }
func (e *noWorkerError) Is(target error) bool {
	return target == ErrNoWorker || target == ErrRefused
}

// JobAction implements Service.
func (l *Local) JobAction(ctx context.Context, name string, action JobAction, opts JobActionOptions) (AuditEntry, error) {
	h, err := l.job(name)
	if err != nil {
		return AuditEntry{}, err
	}
	if err := l.checkWritable(ctx, fmt.Sprintf("%s job %q", action, name)); err != nil {
		return AuditEntry{}, err
	}
	entry := AuditEntry{Action: "jobs." + string(action), Job: name, Cluster: h.cluster, Command: opts.Command, Details: map[string]string{"kind": string(h.kind)}}
	before := l.sup().status(h).State
	entry.Details["state_before"] = string(before)
	if err := l.auditIntent(ctx, &entry); err != nil {
		return AuditEntry{}, err
	}
	handled, err := l.groupAction(ctx, h, action, opts, entry.Details)
	if !handled {
		err = l.jobAction(h, action, opts, entry.Details)
	}
	entry.Details["state_after"] = string(l.sup().status(h).State)
	if errors.Is(err, ErrInvalid) || errors.Is(err, ErrNoWorker) {
		l.recordAudit(ctx, entry, err) // the intent's outcome: nothing was attempted
		return AuditEntry{}, err
	}
	return l.recordAudit(ctx, entry, err), err
}

func (l *Local) jobAction(h *hostedJob, action JobAction, opts JobActionOptions, details map[string]string) error {
	s := l.sup()
	s.mu.Lock()
	started, closed := s.started, s.closed
	s.mu.Unlock()
	if err := l.groupRefuses(h, action); err != nil {
		return err
	}
	if !started || closed {
		return &noWorkerError{msg: fmt.Sprintf("cannot %s job %q: this process hosts no jobs; lifecycle verbs act on the jobs of a running worker: start 'kdeck run' (kdeck attaches to it on the same data dir), or pass --server", action, h.name)}
	}
	switch action {
	case ActionStart:
		h.setPaused(false)
		s.start(h)
	case ActionPause, ActionResume:
		h.setPaused(action == ActionPause)
		h.mu.Lock()
		r, running := h.runner, h.done != nil
		if running && h.state != StateFailed && h.state != StateRestarting {
			h.state = StateRunning
			if h.paused {
				h.state = StatePaused
			}
		}
		h.mu.Unlock()
		if !running {
			return refusedf("job %q is not running: start it first ('kdeck connect start %s')", h.name, h.name)
		}
		if r != nil {
			h.applyPause(r)
		}
	case ActionStop:
		h.setPaused(false)
		if !s.stop(h, l.stopTimeout()) {
			return fmt.Errorf("job %q did not stop within %v", h.name, l.stopTimeout())
		}
		h.setState(StateStopped)
	case ActionRestart:
		if opts.Task != nil && *opts.Task >= 0 || opts.OnlyFailed {
			return l.restartTasks(h, opts, details)
		}
		h.setState(StateRestarting)
		if !s.stop(h, l.stopTimeout()) {
			return fmt.Errorf("job %q did not stop within %v", h.name, l.stopTimeout())
		}
		h.mu.Lock()
		h.lastErr, h.lastAt = "", time.Time{}
		h.mu.Unlock()
		s.start(h)
	case ActionDelete:
		if !s.stop(h, l.stopTimeout()) {
			return fmt.Errorf("job %q did not stop within %v", h.name, l.stopTimeout())
		}
		s.mu.Lock()
		delete(s.jobs, h.name)
		for i, n := range s.order {
			if n == h.name {
				s.order = append(s.order[:i], s.order[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
		details["note"] = "removed from this worker until it restarts; remove its table from the configuration to delete it for good"
	default:
		return invalidf("job action %q is not supported for %s jobs: use start, pause, resume, stop, restart or delete", action, h.kind)
	}
	return nil
}

// restartTasks restarts one task or the failed tasks of h. A runner without
// task-level restart restarts as a whole when it is FAILED (only failed) or
// when task 0 is named.
func (l *Local) restartTasks(h *hostedJob, opts JobActionOptions, details map[string]string) error {
	h.mu.Lock()
	r, st := h.runner, h.state
	h.mu.Unlock()
	tr, ok := r.(taskRestarter)
	switch {
	case ok && opts.Task != nil && *opts.Task >= 0:
		details["task"] = strconv.Itoa(*opts.Task)
		return tr.RestartTask(*opts.Task)
	case ok && opts.OnlyFailed && st != StateFailed:
		ids := tr.RestartFailedTasks()
		details["tasks"] = fmt.Sprint(ids)
		return nil
	case opts.OnlyFailed && st != StateFailed:
		details["tasks"] = "[]"
		return nil
	case !ok && opts.Task != nil && *opts.Task > 0:
		return invalidf("job %q has no task %d: %s jobs restart as a whole (omit --task)", h.name, *opts.Task, h.kind)
	}
	// Whole job.
	s := l.sup()
	if !s.stop(h, l.stopTimeout()) {
		return fmt.Errorf("job %q did not stop within %v", h.name, l.stopTimeout())
	}
	s.start(h)
	return nil
}
