package ops

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
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

func TestSupervisorRestartsFailedJob(t *testing.T) {
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
