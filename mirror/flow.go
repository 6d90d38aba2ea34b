package mirror

import (
	"context"
	"errors"
	"hash/fnv"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/jobstate"
)

// Flow is one mirror flow from a source cluster to a target cluster. Create
// it with New and run it with Run; Pause, Resume and Status may be called
// from any goroutine at any time.
type Flow struct {
	cfg          Config
	sel          *selector
	source       []kgo.Opt
	target       []kgo.Opt
	log          *slog.Logger
	adminTimeout time.Duration
	hbKey        []byte
	shards       map[int]bool // nil: every partition (Shards)

	running atomic.Bool

	mu        sync.Mutex // guards the fields below; never held while calling Kafka
	state     jobstate.State
	paused    bool
	resume    chan struct{} // closed by Resume; replaced by Pause
	lastErr   string
	lastErrAt time.Time
	parts     map[topicPartition]*partition
	remote    map[string]string // source topic -> remote topic
	latency   time.Duration
	latencyAt time.Time

	records jobstate.Meter // acknowledged by the target; ticked every second (housekeep)
	bytes   jobstate.Meter
	skipped atomic.Int64 // not mirrored: provenance is the target
}

type topicPartition struct {
	topic     string
	partition int32
}

// partition is the progress of one source partition.
type partition struct {
	topic, remote string
	part          int32

	mu          sync.Mutex
	acked       int64   // source offset after the last record the target acknowledged (or skipped)
	committed   int64   // last position committed to the source group
	end         int64   // source end offset (log end or last stable), -1 unknown
	queue       []int64 // source offsets handed to the producer, not yet acknowledged
	head        int
	progressAt  int64 // run.clock when the target last acknowledged (or the queue became non-empty)
	pendingSkip int64
	lastSrc     int64 // last acknowledged source offset, -1 none
	lastTgt     int64 // its target offset
	lastSyncSrc int64 // source offset of the last offset sync, -1 none
	pending     []offsetSync
	syncs       []offsetSync // in-memory offset syncs, ascending, capped at maxSyncs
}

func newPartition(topic, remote string, p int32, start int64) *partition {
	return &partition{topic: topic, remote: remote, part: p, acked: start, committed: start, end: -1,
		lastSrc: -1, lastTgt: -1, lastSyncSrc: -1, pendingSkip: -1}
}

// New validates cfg and returns a flow that is not yet running. source and
// target are the franz-go options connecting to each cluster (seed brokers,
// TLS, SASL, timeouts); the flow adds its own consumer and producer options.
// New starts no goroutine and makes no network call.
func New(cfg Config, source, target []kgo.Opt, opts ...Opt) (*Flow, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(source) == 0 || len(target) == 0 {
		return nil, &ConfigError{Subject: subject(cfg.Name), Fields: []FieldError{{Path: "clusters", Msg: "source and target client options are required (at least kgo.SeedBrokers)"}}}
	}
	o := options{logger: slog.New(slog.NewTextHandler(io.Discard, nil)), adminTimeout: 10 * time.Second}
	for _, op := range opts {
		op.apply(&o)
	}
	cfg = cfg.withDefaults()
	f := &Flow{
		cfg: cfg, sel: newSelector(cfg), source: source, target: target,
		log: o.logger.With("mirror", cfg.Name), adminTimeout: o.adminTimeout, shards: o.shards,
		hbKey: []byte(cfg.Source + "->" + cfg.Target + "/" + cfg.Name),
		state: jobstate.Stopped, resume: make(chan struct{}),
		parts: map[topicPartition]*partition{}, remote: map[string]string{},
	}
	close(f.resume)
	return f, nil
}

// ShardOf returns the shard (of n) partition p of topic belongs to.
func ShardOf(topic string, p int32, n int) int {
	h := fnv.New32a()
	h.Write([]byte(topic))
	return int((uint64(h.Sum32()) + uint64(p)) % uint64(max(n, 1)))
}

// owns reports whether this flow mirrors partition p of topic.
func (f *Flow) owns(topic string, p int32) bool {
	return f.shards == nil || f.shards[ShardOf(topic, p, f.cfg.TasksMax)]
}

// Config returns the flow's configuration with defaults applied.
func (f *Flow) Config() Config { return f.cfg }

// Run mirrors until ctx is canceled or the flow fails. It blocks. After a
// cancel it flushes what the target has not yet acknowledged (bounded by
// ShutdownTimeout), commits the acknowledged progress and returns nil. When
// the flow fails (ErrDeliveryFailed, ErrBufferOverrun, ErrTransaction or an
// unrecoverable client error) it commits nothing further and returns the
// error; Status then shows FAILED with the reason. A later Run resumes from
// the last committed progress. Only one Run may be active at a time
// (ErrRunning).
func (f *Flow) Run(ctx context.Context) error {
	if !f.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer f.running.Store(false)
	f.mu.Lock()
	f.parts = map[topicPartition]*partition{}
	f.remote = map[string]string{}
	f.lastErr, f.lastErrAt = "", time.Time{}
	if f.paused {
		f.state = jobstate.Paused
	} else {
		f.state = jobstate.Running
	}
	f.mu.Unlock()

	err := f.run(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil && !(ctx.Err() != nil && errors.Is(err, context.Canceled)) {
		f.state = jobstate.Failed
		f.lastErr, f.lastErrAt = err.Error(), time.Now()
		f.log.Error("mirror flow failed", "err", err)
		return err
	}
	f.state = jobstate.Stopped
	return nil
}

// Pause stops fetching from the source; records already handed to the
// producer are still delivered and their progress committed. Safe to call
// concurrently; a no-op when paused.
func (f *Flow) Pause() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.paused {
		return
	}
	f.paused = true
	f.resume = make(chan struct{})
	if f.state == jobstate.Running {
		f.state = jobstate.Paused
	}
}

// Resume undoes Pause. Safe to call concurrently; a no-op when not paused.
func (f *Flow) Resume() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.paused {
		return
	}
	f.paused = false
	close(f.resume)
	if f.state == jobstate.Paused {
		f.state = jobstate.Running
	}
}

// resumed returns a channel that is closed while the flow is not paused.
func (f *Flow) resumed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.resume
}

// PartitionStatus is the progress of one source partition.
type PartitionStatus struct {
	Topic       string `json:"topic"`
	Partition   int32  `json:"partition"`
	RemoteTopic string `json:"remote_topic"`
	// Position is the source offset after the last record the target
	// acknowledged.
	Position int64 `json:"position"`
	// Committed is the position last committed (source group, or the
	// target's progress under exactly once).
	Committed int64 `json:"committed"`
	// End is the source end offset last seen; -1 unknown.
	End int64 `json:"end"`
	// Lag is End - Position in records (0 when End is unknown).
	Lag int64 `json:"lag"`
}

// Status is a snapshot of a flow.
type Status struct {
	Name       string            `json:"name"`
	State      jobstate.State    `json:"state"`
	Partitions []PartitionStatus `json:"partitions"`
	// Lag is the sum of the partitions' lag, in records.
	Lag int64 `json:"lag"`
	// RecordsPerSec and BytesPerSec are the rates acknowledged by the
	// target over the last second or so (jobstate.Meter).
	RecordsPerSec float64 `json:"records_per_sec"`
	BytesPerSec   float64 `json:"bytes_per_sec"`
	// Records and Bytes count what the target acknowledged since Run began.
	Records int64 `json:"records"`
	Bytes   int64 `json:"bytes"`
	// Skipped counts records not mirrored because their provenance is the
	// target (NamingIdentity cycle prevention).
	Skipped int64 `json:"skipped"`
	// Latency is the replication latency of the last heartbeat: from its
	// write into the source to the target's acknowledgement of its copy.
	Latency   time.Duration `json:"latency_ns"`
	LatencyAt time.Time     `json:"latency_at,omitzero"`
	LastError string        `json:"last_error,omitempty"`
	// LastErrorAt is when LastError happened; zero when there is none.
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// Status returns a snapshot of the flow. Safe to call concurrently; it makes
// no network call.
func (f *Flow) Status() Status {
	f.mu.Lock()
	now := time.Now()
	s := Status{Name: f.cfg.Name, State: f.state, RecordsPerSec: f.records.Rate(now), BytesPerSec: f.bytes.Rate(now),
		Latency: f.latency, LatencyAt: f.latencyAt, LastError: f.lastErr, LastErrorAt: f.lastErrAt}
	parts := make([]*partition, 0, len(f.parts))
	for _, p := range f.parts {
		parts = append(parts, p)
	}
	f.mu.Unlock()
	s.Records, s.Bytes, s.Skipped = f.records.Total(), f.bytes.Total(), f.skipped.Load()
	for _, p := range parts {
		p.mu.Lock()
		ps := PartitionStatus{Topic: p.topic, Partition: p.part, RemoteTopic: p.remote, Position: p.acked, Committed: p.committed, End: p.end}
		p.mu.Unlock()
		if ps.End >= 0 && ps.Position >= 0 && ps.End > ps.Position {
			ps.Lag = ps.End - ps.Position
		}
		s.Lag += ps.Lag
		s.Partitions = append(s.Partitions, ps)
	}
	sort.Slice(s.Partitions, func(i, j int) bool {
		a, b := s.Partitions[i], s.Partitions[j]
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		return a.Partition < b.Partition
	})
	return s
}

// noteError records a non-fatal error for Status.
func (f *Flow) noteError(err error) {
	f.mu.Lock()
	f.lastErr, f.lastErrAt = err.Error(), time.Now()
	f.mu.Unlock()
	f.log.Warn("mirror flow error", "err", err)
}

func (f *Flow) partition(topic string, p int32) *partition {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.parts[topicPartition{topic, p}]
}

func (f *Flow) allPartitions() []*partition {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*partition, 0, len(f.parts))
	for _, p := range f.parts {
		out = append(out, p)
	}
	return out
}
