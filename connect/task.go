package connect

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/deadletter"
	"github.com/kdeck/kdeck/jobstate"
)

// task is one task's state and counters.
type task struct {
	id   int
	conf Conf

	mu       sync.Mutex
	state    jobstate.State
	trace    string
	err      error // the error that failed the task; nil unless FAILED
	failedAt time.Time
	cancel   context.CancelFunc // cancels the current attempt
	restart  chan struct{}      // buffered 1: a restart request

	detailer atomic.Pointer[TaskDetailer] // the running task, when it reports details

	recsIn, recsOut, bytesIn, bytesOut jobstate.Meter
	errs, dlq                          atomic.Int64
	last                               atomic.Int64 // unix nanos
}

func newTask(id int, c Conf) *task {
	return &task{id: id, conf: c, state: jobstate.Unassigned, restart: make(chan struct{}, 1)}
}

func (t *task) stateTrace() (jobstate.State, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state, t.trace
}

func (t *task) setState(st jobstate.State) {
	t.mu.Lock()
	t.state = st
	if st == jobstate.Running {
		t.trace, t.err = "", nil
	}
	t.mu.Unlock()
}

func (t *task) fail(err error) {
	t.mu.Lock()
	t.state, t.trace, t.err, t.failedAt = jobstate.Failed, traceOf(err), err, time.Now()
	t.mu.Unlock()
}

// traceOf renders an error and its chain, the closest we have to Kafka
// Connect's stack trace.
func traceOf(err error) string { return deadletter.Trace(err) }

func (t *task) requestRestart() {
	t.mu.Lock()
	cancel := t.cancel
	t.mu.Unlock()
	select {
	case t.restart <- struct{}{}:
	default:
	}
	if cancel != nil {
		cancel()
	}
}

// setDetailer records the running task when it implements TaskDetailer
// (any other value clears it).
func (t *task) setDetailer(v any) {
	if d, ok := v.(TaskDetailer); ok {
		t.detailer.Store(&d)
		return
	}
	t.detailer.Store(nil)
}

// touch records activity (once per batch) and samples the meters, so that
// their rates stay current whether or not anyone reads Status.
func (t *task) touch() {
	now := time.Now()
	t.last.Store(now.UnixNano())
	t.tick(now)
}

func (t *task) tick(now time.Time) {
	t.recsIn.Tick(now)
	t.recsOut.Tick(now)
	t.bytesIn.Tick(now)
	t.bytesOut.Tick(now)
}

func (t *task) status() TaskStatus {
	t.mu.Lock()
	ts := TaskStatus{ID: t.id, State: t.state, Trace: t.trace, FailedAt: t.failedAt}
	t.mu.Unlock()
	now := time.Now()
	m := Metrics{RecordsIn: t.recsIn.Total(), RecordsOut: t.recsOut.Total(), BytesIn: t.bytesIn.Total(), BytesOut: t.bytesOut.Total(), Errors: t.errs.Load(), DLQ: t.dlq.Load(),
		RecordsInPerSec: t.recsIn.Rate(now), RecordsOutPerSec: t.recsOut.Rate(now), BytesInPerSec: t.bytesIn.Rate(now), BytesOutPerSec: t.bytesOut.Rate(now)}
	if n := t.last.Load(); n > 0 {
		m.LastActivity = time.Unix(0, n)
	}
	ts.Metrics = m
	if d := t.detailer.Load(); d != nil {
		ts.Detail = (*d).Detail()
	}
	return ts
}

// runtime holds the clients of one Job.Run.
type runtime struct {
	j        *Job
	producer *kgo.Client // sources' records and every task's DLQ records
}

func (rt *runtime) open(ctx context.Context) error {
	j := rt.j
	opts := append([]kgo.Opt(nil), j.cfg.clientOpts...)
	opts = append(opts,
		kgo.ProducerLinger(5*time.Millisecond),
		kgo.ProducerBatchMaxBytes(1<<20),
		kgo.MaxBufferedRecords(200_000),
		kgo.RecordDeliveryTimeout(max(j.retryTimeout, time.Second)),
		kgo.AllowAutoTopicCreation(),
		// Retried batches wait for a metadata refresh; the default 5s
		// minimum age would make every retriable error cost 5s.
		kgo.MetadataMinAge(500*time.Millisecond),
		kgo.ProducerBatchCompression(codec(j.p.String(FieldCompression))),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("connector %q: %w", j.name, err)
	}
	rt.producer = cl
	return nil
}

func codec(name string) kgo.CompressionCodec {
	switch name {
	case "gzip":
		return kgo.GzipCompression()
	case "snappy":
		return kgo.SnappyCompression()
	case "lz4":
		return kgo.Lz4Compression()
	case "zstd":
		return kgo.ZstdCompression()
	}
	return kgo.NoCompression()
}

func (rt *runtime) close() {
	if rt.producer != nil {
		rt.producer.Close()
	}
}

// supervise runs attempts of task t until ctx ends: a failed attempt leaves
// the task FAILED until a restart request.
func (rt *runtime) supervise(ctx context.Context, t *task, changed chan<- struct{}) {
	notify := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	for ctx.Err() == nil {
		actx, cancel := context.WithCancel(ctx)
		t.mu.Lock()
		t.cancel = cancel
		t.mu.Unlock()
		t.setState(jobstate.Running)
		notify()
		var err error
		if rt.j.source != nil {
			err = rt.runSource(actx, t)
		} else {
			err = rt.runSink(actx, t)
		}
		cancel()
		restartAsked := false
		select {
		case <-t.restart:
			restartAsked = true
		default:
		}
		switch {
		case ctx.Err() != nil:
			t.setState(jobstate.Unassigned)
			return
		case restartAsked:
			t.setState(jobstate.Restarting)
			continue
		case errors.Is(err, ErrEndOfInput):
			t.setState(jobstate.Stopped)
			notify()
		case err != nil:
			rt.j.log.Error("task failed", "task", t.id, "err", err)
			t.fail(err)
			notify()
		default:
			t.setState(jobstate.Stopped)
			notify()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.restart:
			t.setState(jobstate.Restarting)
		}
	}
}

// Retry backoff of retriable errors (withRetry).
var retryBackoff = jobstate.Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}

// withRetry calls fn until it succeeds, returns a non-retriable error, or
// errors_retry_timeout passes; backoff 100ms doubling to 5s.
func (rt *runtime) withRetry(ctx context.Context, t *task, what string, fn func() error) error {
	deadline := time.Now().Add(rt.j.retryTimeout)
	b := retryBackoff
	for {
		err := fn()
		if err == nil || !errors.Is(err, ErrRetriable) || ctx.Err() != nil {
			return err
		}
		t.errs.Add(1)
		backoff := b.Next()
		if time.Now().Add(backoff).After(deadline) {
			return fmt.Errorf("%s: retries exhausted after %v: %w", what, rt.j.retryTimeout, err)
		}
		rt.j.log.Warn("retrying", "task", t.id, "what", what, "err", err, "backoff", backoff)
		if err := jobstate.Sleep(ctx, backoff); err != nil {
			return err
		}
	}
}

// taskContext implements TaskContext.
type taskContext struct {
	id      int
	name    string
	offsets map[string]map[string]any
}

func (tc *taskContext) Offset(p map[string]any) map[string]any { return tc.offsets[partitionKey(p)] }
func (tc *taskContext) TaskID() int                            { return tc.id }
func (tc *taskContext) Name() string                           { return tc.name }
