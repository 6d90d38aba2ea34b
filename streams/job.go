package streams

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Guarantee is a job's processing guarantee.
type Guarantee string

// Guarantees.
const (
	// AtLeastOnce commits input offsets only after every output and
	// changelog record of a batch was acknowledged: a crash may repeat a
	// batch, never lose one. It is the default.
	AtLeastOnce Guarantee = "at_least_once"
	// ExactlyOnce writes outputs, changelog records and input offsets in
	// one Kafka transaction (franz-go's GroupTransactSession).
	ExactlyOnce Guarantee = "exactly_once"
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

// Opt configures a Job.
type Opt interface{ apply(*cfg) }

type optFunc func(*cfg)

func (f optFunc) apply(c *cfg) { f(c) }

type cfg struct {
	dataDir        string
	guarantee      Guarantee
	logger         *slog.Logger
	resetOffset    kgo.Offset
	maxPoll        int
	onError        ErrorMode
	dlqTopic       string
	cacheBytes     int64
	instanceID     string
	commitInterval time.Duration
}

// DataDir sets the directory holding local state, overriding the default
// of $TMPDIR/kdeck-streams. A job's stores live in DIR/APP/STORE/PARTITION.
func DataDir(dir string) Opt { return optFunc(func(c *cfg) { c.dataDir = dir }) }

// WithGuarantee sets the processing guarantee, overriding the default
// AtLeastOnce.
func WithGuarantee(g Guarantee) Opt { return optFunc(func(c *cfg) { c.guarantee = g }) }

// WithLogger sets the logger, overriding the default of discarding logs.
func WithLogger(l *slog.Logger) Opt { return optFunc(func(c *cfg) { c.logger = l }) }

// ResetOffset sets where the group starts reading a partition that has no
// committed offset, overriding the default of the log start offset. (kgo's
// own default rewinds one minute, so it is always set explicitly.)
func ResetOffset(o kgo.Offset) Opt { return optFunc(func(c *cfg) { c.resetOffset = o }) }

// MaxPollRecords bounds the records processed per batch (per commit),
// overriding the default of 10000.
func MaxPollRecords(n int) Opt { return optFunc(func(c *cfg) { c.maxPoll = n }) }

// CommitInterval sets how long a batch may gather records after its first
// one before it is processed and committed, overriding the default of
// 100ms (Kafka Streams' default under exactly once). A batch also ends at
// MaxPollRecords. Zero processes whatever one poll returns.
func CommitInterval(d time.Duration) Opt { return optFunc(func(c *cfg) { c.commitInterval = d }) }

// StoreCacheBytes sets the size of the block cache shared by the job's
// Pebble stores, overriding the default of 32 MiB.
func StoreCacheBytes(n int64) Opt { return optFunc(func(c *cfg) { c.cacheBytes = n }) }

// InstanceID makes the job a static member of its group (group.instance.id)
// with this id, and uses it in the transactional id under exactly once. A
// restarted instance with the same id takes its partitions back without a
// rebalance and fences its previous incarnation's transaction at once. Ids
// must be unique among the running instances. By default membership is
// dynamic and the transactional id comes from an id kept in the data dir.
func InstanceID(id string) Opt { return optFunc(func(c *cfg) { c.instanceID = id }) }

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
	state    atomic.Value // string
	running  atomic.Bool
	failure  atomic.Pointer[error]
	internal map[string]bool
	parts    int32

	recordsIn, recordsOut, errCount, dlqCount, lateClosed atomic.Int64
	rateMu                                                sync.Mutex
	rateAt                                                time.Time
	rateIn, rateOut                                       int64
	inPerSec, outPerSec                                   float64
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
	j.state.Store(StateStopped)
	return j, nil
}

// Job states reported by Status.
const (
	StateStarting  = "STARTING"
	StateRestoring = "RESTORING"
	StateRunning   = "RUNNING"
	StatePaused    = "PAUSED"
	StateStopped   = "STOPPED"
	StateFailed    = "FAILED"
)

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
	j.state.Store(StateStarting)
	defer func() {
		if err != nil {
			j.failure.Store(&err)
			j.state.Store(StateFailed)
		} else {
			j.state.Store(StateStopped)
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

// prepareTopics checks the inputs and creates the internal topics.
func (j *Job) prepareTopics(ctx context.Context) error {
	cl, err := kgo.NewClient(j.clientOpts...)
	if err != nil {
		return fmt.Errorf("stream job %s: client: %w", j.top.appID, err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	rctx, cancel := context.WithTimeout(ctx, netTimeout)
	defer cancel()
	details, err := adm.ListTopics(rctx, j.top.inputs...)
	if err != nil {
		return fmt.Errorf("stream job %s: list input topics: %w", j.top.appID, err)
	}
	var parts int32 = -1
	var errs []error
	for _, in := range j.top.inputs {
		d, ok := details[in]
		if !ok || d.Err != nil {
			errs = append(errs, fmt.Errorf("input topic %q does not exist: create it or fix the job's inputs", in))
			continue
		}
		n := int32(len(d.Partitions))
		if parts >= 0 && n != parts {
			errs = append(errs, fmt.Errorf("input topic %q has %d partitions where the other inputs have %d: inputs must be co-partitioned", in, n, parts))
		}
		parts = n
	}
	if len(j.top.sinks) > 0 || j.cfg.dlqTopic != "" {
		outs := append([]string(nil), j.top.sinks...)
		if j.cfg.dlqTopic != "" {
			outs = append(outs, j.cfg.dlqTopic)
		}
		sd, err := adm.ListTopics(rctx, outs...)
		if err != nil {
			return fmt.Errorf("stream job %s: list output topics: %w", j.top.appID, err)
		}
		for _, out := range j.top.sinks {
			if d, ok := sd[out]; !ok || d.Err != nil {
				errs = append(errs, fmt.Errorf("output topic %q does not exist: create it or fix the job's output", out))
			}
		}
		if d, ok := sd[j.cfg.dlqTopic]; j.cfg.dlqTopic != "" && (!ok || d.Err != nil) {
			errs = append(errs, fmt.Errorf("dead-letter topic %q does not exist: create it or fix the job's dlq_topic", j.cfg.dlqTopic))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("stream job %s: %w", j.top.appID, errors.Join(errs...))
	}
	j.parts = parts
	create := func(topic string, cfgs map[string]*string) error {
		resp, err := adm.CreateTopic(rctx, parts, -1, cfgs, topic)
		if err == nil {
			err = resp.Err
		}
		if errors.Is(err, kerr.TopicAlreadyExists) {
			d, derr := adm.ListTopics(rctx, topic)
			if derr != nil {
				return derr
			}
			if got := int32(len(d[topic].Partitions)); got != parts {
				return fmt.Errorf("internal topic %q has %d partitions, the inputs %d: reset the job (kdeck streams reset) to recreate it", topic, got, parts)
			}
			return nil
		}
		return err
	}
	compact := "compact"
	for _, s := range j.top.stores {
		if err := create(s.changelog, map[string]*string{"cleanup.policy": &compact}); err != nil {
			return fmt.Errorf("stream job %s: create changelog %s: %w", j.top.appID, s.changelog, err)
		}
	}
	for _, r := range j.top.repartitions {
		if err := create(r, nil); err != nil {
			return fmt.Errorf("stream job %s: create repartition topic %s: %w", j.top.appID, r, err)
		}
	}
	return nil
}

// internalPartitioner writes changelog records to the record's partition
// (the task's) and hashes keys for every other topic.
type internalPartitioner struct {
	internal map[string]bool
	hash     kgo.Partitioner
	manual   kgo.Partitioner
}

func (p internalPartitioner) ForTopic(t string) kgo.TopicPartitioner {
	if p.internal[t] {
		return p.manual.ForTopic(t)
	}
	return p.hash.ForTopic(t)
}

func (j *Job) startClient() error {
	topics := append(append([]string(nil), j.top.inputs...), j.top.repartitions...)
	// A short fetch wait bounds latency on brokers that do not answer a
	// long poll as soon as data arrives (kfake); clientOpts may override it.
	opts := append([]kgo.Opt{kgo.FetchMaxWait(500 * time.Millisecond)}, j.clientOpts...)
	opts = append(opts,
		kgo.ConsumerGroup(j.top.appID),
		kgo.ConsumeTopics(topics...),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(j.cfg.resetOffset),
		kgo.Balancers(kgo.RangeBalancer()), // co-partitioned: partition p of every topic goes to one member
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(j.onAssigned),
		kgo.OnPartitionsRevoked(j.onRevoked),
		kgo.OnPartitionsLost(j.onLost),
		kgo.RecordPartitioner(internalPartitioner{internal: j.internal, hash: kgo.StickyKeyPartitioner(nil), manual: kgo.ManualPartitioner()}),
		kgo.ProducerBatchMaxBytes(4<<20),
		kgo.MaxBufferedRecords(4*j.cfg.maxPoll+10000),
		kgo.ProducerLinger(0),
		kgo.FetchMaxBytes(32<<20),
	)
	if j.cfg.instanceID != "" {
		opts = append(opts, kgo.InstanceID(j.cfg.instanceID))
	}
	if j.cfg.guarantee == ExactlyOnce {
		id, err := j.txnInstance()
		if err != nil {
			return err
		}
		opts = append(opts,
			kgo.TransactionalID(j.top.appID+"-"+id),
			kgo.TransactionTimeout(10*time.Second),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()),
			kgo.RequireStableFetchOffsets(),
		)
		sess, err := kgo.NewGroupTransactSession(opts...)
		if err != nil {
			return fmt.Errorf("stream job %s: client: %w", j.top.appID, err)
		}
		j.sess, j.cl = sess, sess.Client()
		return nil
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("stream job %s: client: %w", j.top.appID, err)
	}
	j.cl = cl
	return nil
}

// txnInstance returns the id that makes the transactional id: the
// instance id, else one kept in the data dir, so that a restarted instance
// fences the transaction its crashed predecessor left open instead of
// leaving it to time out.
func (j *Job) txnInstance() (string, error) {
	if j.cfg.instanceID != "" {
		return j.cfg.instanceID, nil
	}
	dir := StateDir(j.cfg.dataDir, j.top.appID)
	path := filepath.Join(dir, "instance-id")
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		return string(b), nil
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("stream job %s: %w", j.top.appID, err)
	}
	if err := os.WriteFile(path, []byte(id), 0o600); err != nil {
		return "", fmt.Errorf("stream job %s: %w", j.top.appID, err)
	}
	return id, nil
}

func (j *Job) stopClient() {
	j.cl.AllowRebalance() // a failed batch may have returned without allowing it
	if j.sess != nil {
		j.sess.Close()
	} else {
		j.cl.Close() // leaves the group; triggers onRevoked for a clean close
	}
	j.mu.Lock()
	j.closeTasks(nil, true)
	j.mu.Unlock()
	j.sess, j.cl = nil, nil
}

func (j *Job) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, ps := range assigned {
		for _, p := range ps {
			if j.tasks[p] == nil {
				j.pending[p] = true
			}
		}
	}
}

// onRevoked commits what was processed (no batch is in flight: rebalances are
// blocked while a batch is processed) and checkpoints and closes the
// revoked tasks' stores. It never closes the client or leaves the group.
func (j *Job) onRevoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.sess == nil && len(j.safe) > 0 {
		// A batch whose outputs were acknowledged but whose commit a
		// rebalance refused: commit it now, while the partitions are ours.
		cctx, cancel := context.WithTimeout(ctx, netTimeout)
		cl.CommitOffsetsSync(cctx, j.safe, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				j.log.Info("commit on revocation failed; the last batch may be processed again", "err", err)
			}
		})
		cancel()
		j.safe = nil
	}
	j.closeTasks(revoked, true)
}

func (j *Job) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.closeTasks(lost, false)
}

// closeTasks closes the tasks of the given partitions (all when nil). Held:
// mu.
func (j *Job) closeTasks(parts map[string][]int32, clean bool) {
	set := map[int32]bool{}
	for _, ps := range parts {
		for _, p := range ps {
			set[p] = true
		}
	}
	j.tasksMu.Lock()
	defer j.tasksMu.Unlock()
	for p, t := range j.tasks {
		if parts != nil && !set[p] {
			continue
		}
		j.lateClosed.Add(t.late.Load())
		t.close(clean)
		delete(j.tasks, p)
	}
	for p := range j.pending {
		if parts == nil || set[p] {
			delete(j.pending, p)
		}
	}
}

func (j *Job) loop(ctx context.Context) error {
	var (
		fetchPaused bool
		topics      = append(append([]string(nil), j.top.inputs...), j.top.repartitions...)
	)
	j.state.Store(StateRunning)
	for {
		if ctx.Err() != nil {
			return nil
		}
		if p := j.paused.Load(); p != fetchPaused {
			if p {
				j.cl.PauseFetchTopics(topics...)
				j.state.Store(StatePaused)
			} else {
				j.cl.ResumeFetchTopics(topics...)
				j.state.Store(StateRunning)
			}
			fetchPaused = p
		}
		fetches := j.poll(ctx)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			return nil
		}
		var fatal error
		fetches.EachError(func(t string, p int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return
			}
			j.log.Warn("fetch error", "topic", t, "partition", p, "err", err)
			if errors.Is(err, kerr.GroupAuthorizationFailed) || errors.Is(err, kerr.TopicAuthorizationFailed) {
				fatal = err
			}
		})
		if fatal != nil {
			return fmt.Errorf("stream job %s: %w", j.top.appID, fatal)
		}
		if err := j.batch(ctx, fetches); err != nil {
			var bad *RecordError
			if ctx.Err() != nil && !errors.As(err, &bad) {
				// Stopping: the batch was cut short and is not
				// committed; the next run processes it again.
				j.log.Info("batch in flight at stop not committed", "err", err)
				return nil
			}
			return err
		}
		j.cl.AllowRebalance()
		j.sampleRates()
	}
}

// poll returns the next batch: up to MaxPollRecords records, gathered for
// at most the commit interval after the first record arrived (so that a
// trickle of records makes one transaction or commit per interval, not one
// per record). It waits at most a second for the first record.
func (j *Job) poll(ctx context.Context) kgo.Fetches {
	pollOnce := func(d time.Duration, max int) kgo.Fetches {
		pctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		if j.sess != nil {
			return j.sess.PollRecords(pctx, max)
		}
		return j.cl.PollRecords(pctx, max)
	}
	fetches := pollOnce(time.Second, j.cfg.maxPoll)
	n := fetches.NumRecords()
	if n == 0 || j.cfg.commitInterval <= 0 {
		return fetches
	}
	deadline := time.Now().Add(j.cfg.commitInterval)
	for n < j.cfg.maxPoll && ctx.Err() == nil {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		more := pollOnce(left, j.cfg.maxPoll-n)
		if more.IsClientClosed() {
			return more
		}
		n += more.NumRecords()
		fetches = append(fetches, more...)
	}
	return fetches
}

// batch processes one poll's records and commits them.
func (j *Job) batch(ctx context.Context, fetches kgo.Fetches) error {
	j.mu.Lock()
	if err := j.openPending(ctx); err != nil {
		j.mu.Unlock()
		return err
	}
	if fetches.NumRecords() == 0 {
		j.mu.Unlock()
		return nil
	}
	if j.sess != nil {
		if err := j.sess.Begin(); err != nil {
			j.mu.Unlock()
			return fmt.Errorf("stream job %s: begin transaction: %w", j.top.appID, err)
		}
	}
	touched := map[*task]bool{}
	var (
		procErr error
		// bad is the record that failed under OnErrorFail; processing
		// stops there and only what came before it is committed: next
		// holds, per partition processed, the offset to read next.
		bad  *RecordError
		next = map[string]map[int32]kgo.EpochOffset{}
	)
	setNext := func(topic string, p int32, o kgo.EpochOffset) {
		if next[topic] == nil {
			next[topic] = map[int32]kgo.EpochOffset{}
		}
		next[topic][p] = o
	}
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if bad != nil || procErr != nil || len(fp.Records) == 0 {
			return
		}
		t := j.tasks[fp.Partition]
		if t == nil {
			return // revoked (lost) meanwhile; the records will be fetched again by the new owner
		}
		touched[t] = true
		srcs := j.top.sources[fp.Topic]
		last := fp.Records[len(fp.Records)-1]
		t.lag.Store(fp.HighWatermark - last.Offset - 1)
		var n int64
		for _, kr := range fp.Records {
			if err := j.process(t, srcs, kr); err != nil {
				if _, corrupt := errors.AsType[*CorruptStateError](err); corrupt {
					procErr = fmt.Errorf("stream job %s: partition %d: %w", j.top.appID, t.partition, err)
					break
				}
				bad = &RecordError{AppID: j.top.appID, Topic: kr.Topic, Partition: kr.Partition, Offset: kr.Offset, Err: err}
				setNext(kr.Topic, kr.Partition, kgo.EpochOffset{Epoch: kr.LeaderEpoch, Offset: kr.Offset})
				break
			}
			n++
		}
		t.recordsIn.Add(n)
		j.recordsIn.Add(n)
		if bad == nil {
			setNext(fp.Topic, fp.Partition, kgo.EpochOffset{Epoch: last.LeaderEpoch, Offset: last.Offset + 1})
		}
	})
	for t := range touched {
		if procErr != nil {
			break
		}
		procErr = t.flush()
	}
	j.mu.Unlock()
	if procErr != nil {
		if j.sess != nil {
			ectx, cancel := context.WithTimeout(j.pctx, netTimeout)
			_, _ = j.sess.End(ectx, kgo.TryAbort)
			cancel()
		}
		return procErr
	}

	// Outputs of a batch in flight at shutdown get until the produce
	// context ends (a grace period after ctx) to be acknowledged.
	ectx, cancel := context.WithTimeout(j.pctx, 2*netTimeout)
	defer cancel()
	committed := true
	if j.sess != nil {
		if bad != nil {
			// The transaction commits the polled offsets: make the
			// partitions not processed past their first record, and the
			// bad record's partition, look committed where this batch
			// began (they are), so that only the fully processed ones
			// are committed with the outputs.
			j.cl.SetOffsets(batchStarts(fetches, next, bad))
		}
		ok, err := j.sess.End(ectx, kgo.TryCommit)
		if err != nil {
			return fmt.Errorf("stream job %s: commit transaction: %w", j.top.appID, err)
		}
		committed = ok
	} else {
		if err := j.cl.Flush(ectx); err != nil {
			return fmt.Errorf("stream job %s: flush outputs: %w", j.top.appID, err)
		}
		if perr := j.prodErr.Load(); perr != nil {
			return fmt.Errorf("stream job %s: produce: %w", j.top.appID, *perr)
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.sess == nil {
		j.safe = j.cl.UncommittedOffsets()
		if bad != nil {
			j.safe = next
		}
	}
	for t := range touched {
		if j.tasks[t.partition] != t {
			continue // closed by a rebalance; its staged writes are dropped
		}
		var err error
		if committed {
			err = t.apply()
		} else {
			err = t.discard()
		}
		if err != nil {
			return fmt.Errorf("stream job %s: partition %d: %w", j.top.appID, t.partition, err)
		}
	}
	if !committed {
		j.log.Info("transaction aborted (rebalance); records will be processed again")
		return nil
	}
	if bad != nil {
		// The bad record's partition: commit up to the bad record (under
		// exactly once this follows the transaction: a crash between the
		// two repeats the records before the bad one, once).
		offs := next
		if j.sess != nil {
			offs = map[string]map[int32]kgo.EpochOffset{bad.Topic: {bad.Partition: next[bad.Topic][bad.Partition]}}
		}
		if err := commitSync(ectx, j.cl, offs); err != nil {
			j.log.Warn("commit before the bad record failed; the records before it will be processed again", "err", err)
		}
		j.safe = nil
		return bad
	}
	if j.sess == nil {
		err := j.cl.CommitUncommittedOffsets(ectx)
		if err == nil {
			j.safe = nil
		}
		if err != nil {
			if errors.Is(err, kerr.RebalanceInProgress) || errors.Is(err, kerr.IllegalGeneration) || errors.Is(err, kerr.UnknownMemberID) {
				j.log.Info("commit refused by a rebalance; the batch may be processed again", "err", err)
				return nil
			}
			return fmt.Errorf("stream job %s: commit offsets: %w", j.top.appID, err)
		}
	}
	return nil
}

// process runs one input record through the sources reading its topic. A
// record that fails is skipped, dead-lettered or returned, by the job's
// ErrorMode. Held: mu.
func (j *Job) process(t *task, srcs []*node, kr *kgo.Record) error {
	r := Record{Key: kr.Key, Value: kr.Value, Time: kr.Timestamp, Headers: kr.Headers, Topic: kr.Topic, Partition: kr.Partition, Offset: kr.Offset}
	for _, s := range srcs {
		err := s.proc(t, r)
		if err == nil {
			continue
		}
		if _, corrupt := errors.AsType[*CorruptStateError](err); corrupt {
			return err // the state's fault, not the record's
		}
		switch j.cfg.onError {
		case OnErrorSkip:
			j.errCount.Add(1)
			j.log.Debug("skipped bad record", "topic", kr.Topic, "partition", kr.Partition, "offset", kr.Offset, "err", err)
		case OnErrorDLQ:
			j.errCount.Add(1)
			j.dlqCount.Add(1)
			j.log.Debug("bad record to the dead-letter topic", "topic", kr.Topic, "partition", kr.Partition, "offset", kr.Offset, "err", err)
			j.cl.Produce(j.pctx, j.dlqRecord(kr, err), j.promise)
		default:
			return err
		}
		return nil
	}
	return nil
}

// batchStarts returns, for every partition of fetches not fully processed
// (absent from next, or the bad record's), the offset of its first record in
// the batch: where its committed offset stands.
func batchStarts(fetches kgo.Fetches, next map[string]map[int32]kgo.EpochOffset, bad *RecordError) map[string]map[int32]kgo.EpochOffset {
	out := map[string]map[int32]kgo.EpochOffset{}
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if len(fp.Records) == 0 {
			return
		}
		_, done := next[fp.Topic][fp.Partition]
		if done && !(fp.Topic == bad.Topic && fp.Partition == bad.Partition) {
			return
		}
		if out[fp.Topic] == nil {
			out[fp.Topic] = map[int32]kgo.EpochOffset{}
		}
		first := fp.Records[0]
		out[fp.Topic][fp.Partition] = kgo.EpochOffset{Epoch: first.LeaderEpoch, Offset: first.Offset}
	})
	return out
}

// commitSync commits offs and returns the request's or a partition's error.
func commitSync(ctx context.Context, cl *kgo.Client, offs map[string]map[int32]kgo.EpochOffset) error {
	var cerr error
	cl.CommitOffsetsSync(ctx, offs, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			cerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if e := kerr.ErrorForCode(p.ErrorCode); e != nil && cerr == nil {
					cerr = fmt.Errorf("%s/%d: %w", t.Topic, p.Partition, e)
				}
			}
		}
	})
	return cerr
}

// openPending opens and restores the tasks of newly assigned partitions.
// Held: mu.
func (j *Job) openPending(ctx context.Context) error {
	if len(j.pending) == 0 {
		return nil
	}
	ps := make([]int32, 0, len(j.pending))
	for p := range j.pending {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(a, b int) bool { return ps[a] < ps[b] })
	var opened []*task
	var toRestore []restoreTarget
	for _, p := range ps {
		t := &task{j: j, partition: p}
		for _, sd := range j.top.stores {
			st, from, err := openStore(sd, p, storeDir(j.cfg.dataDir, j.top.appID, sd.name, p), j.cache)
			if err != nil {
				t.close(false)
				for _, o := range opened {
					o.close(false)
				}
				return err
			}
			t.stores = append(t.stores, st)
			toRestore = append(toRestore, restoreTarget{st: st, topic: sd.changelog, from: from})
		}
		opened = append(opened, t)
	}
	j.tasksMu.Lock()
	for _, t := range opened {
		j.tasks[t.partition] = t
		delete(j.pending, t.partition)
	}
	j.tasksMu.Unlock()
	if len(toRestore) > 0 {
		j.state.Store(StateRestoring)
		err := j.restore(ctx, toRestore)
		j.state.Store(StateRunning)
		if err != nil {
			return err
		}
	}
	for _, t := range opened {
		for _, st := range t.stores {
			if err := st.loadMeta(); err != nil {
				return err
			}
		}
	}
	return nil
}

// task is one partition of the job: its stores and counters.
type task struct {
	j         *Job
	partition int32
	stores    []*store
	recordsIn atomic.Int64
	late      atomic.Int64
	lag       atomic.Int64
}

func (t *task) produce(topic string, partition int32, r Record) {
	kr := &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: r.Headers, Timestamp: r.Time, Partition: partition}
	if !t.j.internal[topic] {
		t.j.recordsOut.Add(1)
	}
	t.j.cl.Produce(t.j.pctx, kr, t.j.promise)
}

func (j *Job) promise(_ *kgo.Record, err error) {
	if err != nil {
		j.prodErr.CompareAndSwap(nil, &err)
	}
}

// flush ends a batch for the task: stateful steps emit, then staged store
// writes become changelog records.
func (t *task) flush() error {
	for _, n := range t.j.top.nodes {
		if n.flush != nil {
			if err := n.flush(t); err != nil {
				return err
			}
		}
	}
	for _, st := range t.stores {
		st := st
		// The stream time goes first: a crash part-way through the
		// batch's changelog records (at least once) then never leaves a
		// closed window's tombstone without the stream time that closed it.
		keys := make([]string, 0, len(st.cache))
		if _, ok := st.cache[string(metaStreamTime)]; ok {
			keys = append(keys, string(metaStreamTime))
		}
		for k := range st.cache {
			if k != string(metaStreamTime) {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			e := st.cache[k]
			kr := &kgo.Record{Topic: st.def.changelog, Key: []byte(k), Partition: t.partition}
			if !e.del {
				kr.Value = e.val
			}
			t.j.cl.Produce(t.j.pctx, kr, func(r *kgo.Record, err error) {
				if err != nil {
					t.j.prodErr.CompareAndSwap(nil, &err)
					return
				}
				for {
					cur := st.nextChangelog.Load()
					if r.Offset+1 <= cur || st.nextChangelog.CompareAndSwap(cur, r.Offset+1) {
						return
					}
				}
			})
		}
	}
	return nil
}

func (t *task) apply() error {
	for _, st := range t.stores {
		if err := st.apply(); err != nil {
			return err
		}
	}
	return nil
}

func (t *task) discard() error {
	for _, st := range t.stores {
		if err := st.discard(); err != nil {
			return err
		}
	}
	return nil
}

func (t *task) close(clean bool) {
	for _, st := range t.stores {
		if err := st.close(clean); err != nil {
			t.j.log.Warn("close store", "store", st.def.name, "partition", t.partition, "err", err)
		}
	}
	t.stores = nil
}

func (j *Job) sampleRates() {
	j.rateMu.Lock()
	defer j.rateMu.Unlock()
	now := time.Now()
	if j.rateAt.IsZero() {
		j.rateAt, j.rateIn, j.rateOut = now, j.recordsIn.Load(), j.recordsOut.Load()
		return
	}
	el := now.Sub(j.rateAt).Seconds()
	if el < 1 {
		return
	}
	in, out := j.recordsIn.Load(), j.recordsOut.Load()
	j.inPerSec, j.outPerSec = float64(in-j.rateIn)/el, float64(out-j.rateOut)/el
	j.rateAt, j.rateIn, j.rateOut = now, in, out
}
