package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/jobstate"
)

// Sentinel errors.
var (
	// ErrInvalid wraps every validation error of New and ParseJob.
	ErrInvalid = errors.New("invalid stream job")
	// ErrNotRunning is returned by queries when the job has no open store
	// (not running, or not yet assigned partitions).
	ErrNotRunning = errors.New("stream job is not running")
	// ErrUnknownStore is returned by queries naming no store of the job.
	ErrUnknownStore = errors.New("no such store")
)

// Builder is what New accepts: a *Topology or a JobSpec.
type Builder interface {
	// Build returns the topology to run, or every problem found.
	Build() (*Topology, error)
}

// Build validates the topology and returns it.
func (t *Topology) Build() (*Topology, error) {
	if err := t.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return t, nil
}

// Job runs a topology. Create it with New, run it with Run. Status, Pause,
// Resume and the store queries are safe to call concurrently with Run.
type Job struct {
	top        *Topology
	cfg        cfg
	clientOpts []kgo.Opt
	log        *slog.Logger
	cache      *pebble.Cache

	// mu is held by the processing loop while it processes a batch and by
	// the rebalance callbacks; it guards tasks' caches and pending.
	mu      sync.Mutex
	pending map[int32]bool
	// tasksMu guards the tasks map and store lifetimes (open/close) for
	// readers (Status, queries); writers hold mu and tasksMu.
	tasksMu sync.RWMutex
	tasks   map[int32]*task
	tables  []*tableRuntime

	cl   *kgo.Client
	sess *kgo.GroupTransactSession
	// pctx bounds producing and committing: it ends produceGrace after
	// Run's context, so that a batch in flight at shutdown may finish but
	// a full buffer or an unreachable cluster cannot hold Run past it.
	pctx context.Context
	// safe holds the offsets of the last batch whose outputs were
	// acknowledged but not yet committed (at least once). Guarded by mu.
	safe     map[string]map[int32]kgo.EpochOffset
	prodErr  atomic.Pointer[error]
	paused   atomic.Bool
	pauseCh  chan struct{}
	state    atomic.Value // jobstate.State
	running  atomic.Bool
	failure  atomic.Pointer[error]
	internal map[string]bool
	parts    int32

	recordsIn, recordsOut          jobstate.Meter // ticked once per batch (loop)
	errCount, dlqCount, lateClosed atomic.Int64
}

// New validates the topology (or compiles the job spec) and the options and
// returns a Job; it starts nothing. clientOpts are the franz-go options
// reaching the cluster (brokers, TLS, SASL); the job adds its own group,
// producer and consumer options.
func New(b Builder, clientOpts []kgo.Opt, opts ...Opt) (*Job, error) {
	top, err := b.Build()
	if err != nil {
		return nil, err
	}
	c := cfg{
		dataDir: filepath.Join(os.TempDir(), "kdeck-streams"), guarantee: AtLeastOnce,
		resetOffset: kgo.NewOffset().AtStart(), maxPoll: 10000, cacheBytes: 32 << 20, commitInterval: 100 * time.Millisecond,
	}
	if sp, ok := b.(JobSpec); ok {
		if sp.Guarantee != "" {
			c.guarantee = Guarantee(sp.Guarantee)
		}
		if sp.DataDir != "" {
			c.dataDir = sp.DataDir
		}
		c.onError, c.dlqTopic = ErrorMode(sp.OnError), sp.DLQTopic
	}
	for _, o := range opts {
		o.apply(&c)
	}
	var errs []error
	if c.guarantee != AtLeastOnce && c.guarantee != ExactlyOnce {
		errs = append(errs, fmt.Errorf("guarantee %q is unknown: use at_least_once or exactly_once", c.guarantee))
	}
	if c.dataDir == "" {
		errs = append(errs, errors.New("data dir is empty: give a directory for local state"))
	}
	if err := checkErrorMode(c.onError, c.dlqTopic); err != nil {
		errs = append(errs, err)
	}
	if c.onError == "" {
		c.onError = OnErrorFail
	}
	if c.maxPoll < 1 {
		errs = append(errs, fmt.Errorf("max poll records %d must be at least 1", c.maxPoll))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	j := &Job{top: top, cfg: c, clientOpts: clientOpts, log: c.logger.With("stream_job", top.appID),
		tasks: map[int32]*task{}, pending: map[int32]bool{}, internal: map[string]bool{}, pauseCh: make(chan struct{}, 1)}
	for _, s := range top.stores {
		j.internal[s.changelog] = true
	}
	j.state.Store(jobstate.Stopped)
	return j, nil
}

// Topology returns the job's topology.
func (j *Job) Topology() *Topology { return j.top }

// Pause stops fetching input records; the job keeps its group membership and
// its partitions. It returns at once.
func (j *Job) Pause() {
	j.paused.Store(true)
	select {
	case j.pauseCh <- struct{}{}:
	default:
	}
}

// Resume undoes Pause.
func (j *Job) Resume() {
	j.paused.Store(false)
	select {
	case j.pauseCh <- struct{}{}:
	default:
	}
}

const netTimeout = 15 * time.Second

// produceGrace is how long a batch in flight when Run's context ends may
// still wait for its outputs to be buffered and acknowledged.
const produceGrace = 5 * time.Second

// Run runs the job until ctx is cancelled (it then returns nil after a
// graceful stop: the current batch is committed, stores are checkpointed and
// closed, and the group is left) or until the job fails (it returns the
// error). Run may be called once at a time; a Job may be run again after
// Run returned.
func (j *Job) Run(ctx context.Context) (err error) {
	if !j.running.CompareAndSwap(false, true) {
		return errors.New("stream job is already running")
	}
	defer j.running.Store(false)
	j.failure.Store(nil)
	j.prodErr.Store(nil)
	j.state.Store(jobstate.Starting)
	defer func() {
		if err != nil {
			j.failure.Store(&err)
			j.state.Store(jobstate.Failed)
		} else {
			j.state.Store(jobstate.Stopped)
		}
	}()
	j.cache = pebbleCache(j.cfg.cacheBytes)
	defer j.cache.Unref()
	pctx, pcancel := context.WithCancel(context.WithoutCancel(ctx))
	stopGrace := context.AfterFunc(ctx, func() { time.AfterFunc(produceGrace, pcancel) })
	defer func() { stopGrace(); pcancel() }()
	j.pctx = pctx

	if err := j.prepareTopics(ctx); err != nil {
		return err
	}
	tctx, cancelTables := context.WithCancel(ctx)
	var tablesWG sync.WaitGroup
	defer func() {
		cancelTables()
		tablesWG.Wait()
		j.tasksMu.Lock()
		for _, tr := range j.tables {
			tr.close()
		}
		j.tables = nil
		j.tasksMu.Unlock()
	}()
	for _, td := range j.top.tables {
		tr, err := j.openTable(tctx, td)
		if err != nil {
			return err
		}
		j.tasksMu.Lock()
		j.tables = append(j.tables, tr)
		j.tasksMu.Unlock()
		tablesWG.Add(1)
		go func() { defer tablesWG.Done(); tr.follow(tctx) }()
	}
	if len(j.top.sources) == 0 {
		<-ctx.Done()
		return nil
	}
	if err := j.startClient(); err != nil {
		return err
	}
	defer j.stopClient()
	return j.loop(ctx)
}

// tickMeters samples the rate meters; once per batch.
func (j *Job) tickMeters() {
	now := time.Now()
	j.recordsIn.Tick(now)
	j.recordsOut.Tick(now)
}
