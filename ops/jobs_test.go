package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kdeck/kdeck/config"
)

// fakeRunner is a jobRunner whose Run fails while failures > 0.
type fakeRunner struct {
	mu      sync.Mutex
	paused  bool
	runs    *atomic.Int32
	fail    *atomic.Int32
	stopped chan struct{}
}

func (f *fakeRunner) Run(ctx context.Context) error {
	f.runs.Add(1)
	if f.fail.Load() > 0 {
		f.fail.Add(-1)
		return errors.New("boom: disk full")
	}
	<-ctx.Done()
	close(f.stopped)
	return nil
}
func (f *fakeRunner) Pause()  { f.mu.Lock(); f.paused = true; f.mu.Unlock() }
func (f *fakeRunner) Resume() { f.mu.Lock(); f.paused = false; f.mu.Unlock() }
func (f *fakeRunner) Status() JobStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := StateRunning
	if f.paused {
		st = StatePaused
	}
	return JobStatus{State: st, Tasks: []TaskStatus{{ID: 0, State: st}}}
}

const kindTest JobKind = "test"

func newTestSupervisor(t *testing.T, fails int32, readOnly bool) (*Local, *atomic.Int32, *fakeRunner) {
	t.Helper()
	cfg := &config.Config{Clusters: map[string]*config.Cluster{}, Ops: config.Ops{DataDir: t.TempDir(), ReadOnly: readOnly}}
	l, err := NewLocal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	runs, fail := &atomic.Int32{}, &atomic.Int32{}
	fail.Store(fails)
	var last *fakeRunner
	var mu sync.Mutex
	h := l.sup().add(kindTest, config.Job{Table: map[string]any{"name": "j1", "class": "fake"}})
	h.build = func(*Local, config.Job) (jobRunner, error) {
		mu.Lock()
		defer mu.Unlock()
		last = &fakeRunner{runs: runs, fail: fail, stopped: make(chan struct{})}
		return last, nil
	}
	return l, runs, last
}

func waitState(t *testing.T, l *Local, want State) JobStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		js, err := l.Job(context.Background(), "j1")
		if err != nil {
			t.Fatal(err)
		}
		if js.State == want {
			return js
		}
		if time.Now().After(deadline) {
			t.Fatalf("job state %s, want %s (%+v)", js.State, want, js)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSupervisorLifecycle(t *testing.T) {
	l, _, _ := newTestSupervisor(t, 0, false)
	ctx := context.Background()
	if js, _ := l.Job(ctx, "j1"); js.State != StateUnassigned {
		t.Fatalf("before StartJobs: %s, want UNASSIGNED", js.State)
	}
	if _, err := l.JobAction(ctx, "j1", ActionPause, JobActionOptions{}); !errors.Is(err, ErrNoWorker) {
		t.Fatalf("pause without worker: %v, want ErrNoWorker", err)
	}
	if err := l.StartJobs(ctx); err != nil {
		t.Fatal(err)
	}
	waitState(t, l, StateRunning)
	for _, step := range []struct {
		action JobAction
		want   State
	}{{ActionPause, StatePaused}, {ActionResume, StateRunning}, {ActionStop, StateStopped}, {ActionStart, StateRunning}, {ActionRestart, StateRunning}} {
		e, err := l.JobAction(ctx, "j1", step.action, JobActionOptions{})
		if err != nil {
			t.Fatalf("%s: %v", step.action, err)
		}
		if e.Action != "jobs."+string(step.action) || e.Outcome != "ok" {
			t.Errorf("%s: audit entry %+v", step.action, e)
		}
		waitState(t, l, step.want)
	}
	// Five verbs, and the refused pause before StartJobs: its intent was
	// written, so its outcome is too.
	entries, err := l.Audit(ctx, AuditFilter{Job: "j1"})
	if err != nil || len(entries) != 6 || entries[5].Outcome != OutcomeFailed {
		t.Fatalf("audit: %d entries, %v; want 6, the oldest failed", len(entries), err)
	}
	if _, err := l.Job(ctx, "j2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown job: %v", err)
	}
}

// TestSupervisorRestartsFailedJob runs in a synctest bubble: the restart
// backoff passes on the bubble's clock, at once.
func TestSupervisorRestartsFailedJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, runs, _ := newTestSupervisor(t, 1, false)
		if err := l.StartJobs(context.Background()); err != nil {
			t.Fatal(err)
		}
		// First run fails at once; the supervisor restarts after the backoff.
		deadline := time.Now().Add(10 * time.Second)
		for runs.Load() < 2 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		js := waitState(t, l, StateRunning)
		if runs.Load() != 2 {
			t.Fatalf("runs = %d, want 2", runs.Load())
		}
		if js.LastError == "" || js.LastErrorAt == nil {
			t.Errorf("last error not kept: %+v", js)
		}
		if js.Tasks[0].Detail["job_restarts"] != "1" {
			t.Errorf("restarts detail: %+v", js.Tasks[0].Detail)
		}
	})
}

func TestSupervisorReadOnlyStartsNothing(t *testing.T) {
	l, runs, _ := newTestSupervisor(t, 0, true)
	if err := l.StartJobs(context.Background()); err != nil {
		t.Fatal(err)
	}
	if js, _ := l.Job(context.Background(), "j1"); js.State != StateUnassigned || runs.Load() != 0 {
		t.Fatalf("read-only StartJobs: state %s, %d runs; want UNASSIGNED and none", js.State, runs.Load())
	}
	for _, a := range []JobAction{ActionStart, ActionStop} {
		if _, err := l.JobAction(context.Background(), "j1", a, JobActionOptions{}); !errors.Is(err, ErrReadOnly) {
			t.Fatalf("%s in read-only: %v", a, err)
		}
	}
	if runs.Load() != 0 {
		t.Fatalf("%d runs in read-only", runs.Load())
	}
}

func TestSupervisorCloseBounded(t *testing.T) {
	l, _, _ := newTestSupervisor(t, 0, false)
	if err := l.StartJobs(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitState(t, l, StateRunning)
	h, _ := l.job("j1")
	h.mu.Lock()
	r := h.runner.(*fakeRunner)
	h.mu.Unlock()
	l.Close()
	select {
	case <-r.stopped:
	default:
		t.Fatal("Close returned before the job stopped")
	}
}

// funcRunner is a jobRunner running run; pauseHook, when set, is called at
// the start of the first Pause.
type funcRunner struct {
	run       func(ctx context.Context) error
	mu        sync.Mutex
	paused    bool
	pauseHook func()
}

func (f *funcRunner) Run(ctx context.Context) error { return f.run(ctx) }
func (f *funcRunner) Pause() {
	f.mu.Lock()
	hook := f.pauseHook
	f.pauseHook = nil
	f.mu.Unlock()
	if hook != nil {
		hook() // what happens between the supervisor's decision and the call landing
	}
	f.mu.Lock()
	f.paused = true
	f.mu.Unlock()
}
func (f *funcRunner) Resume() { f.mu.Lock(); f.paused = false; f.mu.Unlock() }
func (f *funcRunner) isPaused() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.paused
}
func (f *funcRunner) Status() JobStatus {
	st := StateRunning
	if f.isPaused() {
		st = StatePaused
	}
	return JobStatus{State: st, Tasks: []TaskStatus{{ID: 0, State: st}}}
}

// hostFunc hosts one job "j1" whose runners are built by build.
func hostFunc(t *testing.T, ops config.Ops, build func() *funcRunner, opts ...Opt) (*Local, *hostedJob) {
	t.Helper()
	ops.DataDir = t.TempDir()
	l, err := NewLocal(&config.Config{Clusters: map[string]*config.Cluster{}, Ops: ops}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	h := l.sup().add(kindTest, config.Job{Table: map[string]any{"name": "j1", "class": "fake"}})
	h.build = func(*Local, config.Job) (jobRunner, error) { return build(), nil }
	return l, h
}

type permErr struct{ msg string }

func (e permErr) Error() string   { return e.msg }
func (e permErr) Permanent() bool { return true }

func TestSupervisorGivesUpOnRepeatedError(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ops      config.Ops
		opts     []Opt
		errOf    func(n int32) error
		wantRuns int32 // 0: keeps restarting
	}{
		{"same error, [ops] max_restarts", config.Ops{MaxRestarts: 3}, nil, func(int32) error { return errors.New("boom: disk full") }, 4},
		{"same error, default bound", config.Ops{}, nil, func(int32) error { return errors.New("boom: disk full") }, DefaultMaxRestarts + 1},
		{"option overrides [ops]", config.Ops{MaxRestarts: 3}, []Opt{WithMaxRestarts(1)}, func(int32) error { return errors.New("boom") }, 2},
		{"errors that differ keep restarting", config.Ops{MaxRestarts: 3}, nil, func(n int32) error { return fmt.Errorf("broker %d unreachable", n%2) }, 0},
		{"permanent error: no restart", config.Ops{}, nil, func(int32) error { return fmt.Errorf("wrapped: %w", permErr{"bad record t/0@5"}) }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var runs atomic.Int32
				l, _ := hostFunc(t, tc.ops, func() *funcRunner {
					return &funcRunner{run: func(context.Context) error { return tc.errOf(runs.Add(1)) }}
				}, tc.opts...)
				defer l.Close()
				if err := l.StartJobs(context.Background()); err != nil {
					t.Fatal(err)
				}
				time.Sleep(10 * time.Minute) // virtual: every backoff has passed
				synctest.Wait()
				js, _ := l.Job(context.Background(), "j1")
				if tc.wantRuns == 0 {
					if runs.Load() < 10 || js.State == StateFailed && !strings.Contains(js.LastError, "unreachable") {
						t.Fatalf("runs = %d, state %s: a changing error must keep restarting", runs.Load(), js.State)
					}
					return
				}
				if got := runs.Load(); got != tc.wantRuns {
					t.Fatalf("runs = %d, want %d", got, tc.wantRuns)
				}
				if js.State != StateFailed || js.LastError == "" {
					t.Fatalf("state %s, last error %q: want FAILED with the error", js.State, js.LastError)
				}
				if tc.wantRuns > 1 && !strings.Contains(js.LastError, fmt.Sprintf("gave up after %d restarts", tc.wantRuns-1)) {
					t.Errorf("last error %q does not say the supervisor gave up", js.LastError)
				}
				// A restart verb starts it again.
				if _, err := l.JobAction(context.Background(), "j1", ActionRestart, JobActionOptions{}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(10 * time.Minute)
				synctest.Wait()
				if got := runs.Load(); got != 2*tc.wantRuns {
					t.Errorf("after restart runs = %d, want %d", got, 2*tc.wantRuns)
				}
			})
		})
	}
}

// TestSupervisorPauseResumeRace interleaves a Resume between the
// supervisor's decision to pause a fresh runner and the Pause call landing:
// the job must end up running, as its status says.
func TestSupervisorPauseResumeRace(t *testing.T) {
	var l *Local
	var r *funcRunner
	var resumeErr error
	l, h := hostFunc(t, config.Ops{}, func() *funcRunner {
		r = &funcRunner{run: func(ctx context.Context) error { <-ctx.Done(); return nil }}
		r.pauseHook = func() {
			_, resumeErr = l.JobAction(context.Background(), "j1", ActionResume, JobActionOptions{})
		}
		return r
	})
	t.Cleanup(func() { l.Close() })
	h.setPaused(true) // paused before a (re)start: the loop pauses the new runner
	if err := l.StartJobs(context.Background()); err != nil {
		t.Fatal(err)
	}
	js := waitState(t, l, StateRunning)
	if resumeErr != nil {
		t.Fatal(resumeErr)
	}
	if r.isPaused() {
		t.Fatalf("status says %s but the runner is paused: the Resume was lost", js.State)
	}
}

func TestLocalCloseReportsAbandonedJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		l, _ := hostFunc(t, config.Ops{}, func() *funcRunner {
			return &funcRunner{run: func(context.Context) error { <-release; return nil }} // ignores ctx
		}, WithJobStopTimeout(30*time.Second))
		if err := l.StartJobs(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		start := time.Now()
		err := l.Close()
		waited := time.Since(start) // virtual time: exact
		close(release)
		if !errors.Is(err, ErrJobsAbandoned) || !strings.Contains(err.Error(), "j1") {
			t.Fatalf("Close = %v, want ErrJobsAbandoned naming j1", err)
		}
		if waited != 30*time.Second {
			t.Errorf("Close waited %v, want the stop timeout 30s", waited)
		}
	})
}
