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
)

// task is one task's state and counters.
type task struct {
	id   int
	conf Conf

	mu       sync.Mutex
	state    string
	trace    string
	err      error // the error that failed the task; nil unless FAILED
	failedAt time.Time
	cancel   context.CancelFunc // cancels the current attempt
	restart  chan struct{}      // buffered 1: a restart request

	detailer atomic.Pointer[TaskDetailer] // the running task, when it reports details

	recsIn, recsOut, bytesIn, bytesOut, errs, dlq atomic.Int64
	last                                          atomic.Int64 // unix nanos

	rateMu   sync.Mutex
	rateAt   time.Time
	rateBase [4]int64
	rates    [4]float64
}

func newTask(id int, c Conf) *task {
	return &task{id: id, conf: c, state: StateUnassigned, restart: make(chan struct{}, 1)}
}

func (t *task) stateTrace() (string, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state, t.trace
}

func (t *task) setState(st string) {
	t.mu.Lock()
	t.state = st
	if st == StateRunning {
		t.trace, t.err = "", nil
	}
	t.mu.Unlock()
}

func (t *task) fail(err error) {
	t.mu.Lock()
	t.state, t.trace, t.err, t.failedAt = StateFailed, traceOf(err), err, time.Now()
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

func (t *task) touch() { t.last.Store(time.Now().UnixNano()) }

func (t *task) status() TaskStatus {
	t.mu.Lock()
	ts := TaskStatus{ID: t.id, State: t.state, Trace: t.trace, FailedAt: t.failedAt}
	t.mu.Unlock()
	m := Metrics{RecordsIn: t.recsIn.Load(), RecordsOut: t.recsOut.Load(), BytesIn: t.bytesIn.Load(), BytesOut: t.bytesOut.Load(), Errors: t.errs.Load(), DLQ: t.dlq.Load()}
	if n := t.last.Load(); n > 0 {
		m.LastActivity = time.Unix(0, n)
	}
	now := time.Now()
	cur := [4]int64{m.RecordsIn, m.RecordsOut, m.BytesIn, m.BytesOut}
	t.rateMu.Lock()
	if t.rateAt.IsZero() {
		t.rateAt, t.rateBase = now, cur
	} else if d := now.Sub(t.rateAt).Seconds(); d >= 1 {
		for i := range cur {
			t.rates[i] = float64(cur[i]-t.rateBase[i]) / d
		}
		t.rateAt, t.rateBase = now, cur
	}
	m.RecordsInPerSec, m.RecordsOutPerSec, m.BytesInPerSec, m.BytesOutPerSec = t.rates[0], t.rates[1], t.rates[2], t.rates[3]
	t.rateMu.Unlock()
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
		t.setState(StateRunning)
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
			t.setState(StateUnassigned)
			return
		case restartAsked:
			t.setState(StateRestarting)
			continue
		case errors.Is(err, ErrEndOfInput):
			t.setState(StateStopped)
			notify()
		case err != nil:
			rt.j.log.Error("task failed", "task", t.id, "err", err)
			t.fail(err)
			notify()
		default:
			t.setState(StateStopped)
			notify()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.restart:
			t.setState(StateRestarting)
		}
	}
}

// withRetry calls fn until it succeeds, returns a non-retriable error, or
// errors_retry_timeout passes; backoff 100ms doubling to 5s.
func (rt *runtime) withRetry(ctx context.Context, t *task, what string, fn func() error) error {
	deadline := time.Now().Add(rt.j.retryTimeout)
	backoff := 100 * time.Millisecond
	for {
		err := fn()
		if err == nil || !errors.Is(err, ErrRetriable) || ctx.Err() != nil {
			return err
		}
		t.errs.Add(1)
		if time.Now().Add(backoff).After(deadline) {
			return fmt.Errorf("%s: retries exhausted after %v: %w", what, rt.j.retryTimeout, err)
		}
		rt.j.log.Warn("retrying", "task", t.id, "what", what, "err", err, "backoff", backoff)
		tm := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			tm.Stop()
			return ctx.Err()
		case <-tm.C:
		}
		backoff = min(backoff*2, 5*time.Second)
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
