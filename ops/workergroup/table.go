package workergroup

// A worker group's compacted topics read as tables, as Kafka Connect's
// distributed herder reads its config and status topics: every worker
// consumes the whole topic from its start and keeps the latest value of
// each key; a write is a record (a nil value deletes the key), and Put
// returns once this worker has read its own write back, so a caller that
// wrote a configuration sees it at once.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ConfigsTopic returns the worker group's configs topic: the jobs created
// through the API, their target states and restart requests (Kafka
// Connect's config topic). Compacted, one partition.
func ConfigsTopic(name string) string { return "_kdeck-" + name + "-configs" }

// EnsureCompactedTopic creates topic, compacted with one partition, unless
// it exists. The replication factor is the brokers' default
// (default.replication.factor): what the cluster allows.
func EnsureCompactedTopic(ctx context.Context, opts []kgo.Opt, topic string) error {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).CreateTopic(cctx, 1, -1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("cannot create the worker group topic %s: %w", topic, err)
	}
	return nil
}

// Table is a compacted topic read as a key-value table. Open it with
// OpenTable, run it with Run; Get, Snapshot, Put and Changed are safe for
// concurrent use.
type Table struct {
	topic string
	log   *slog.Logger
	cl    *kgo.Client

	mu      sync.Mutex
	vals    map[string][]byte
	next    map[int32]int64 // next offset to read, by partition
	changed chan struct{}   // closed and replaced after each batch that changed vals
	ready   chan struct{}   // closed once the reader caught up with the end seen at start
	start   map[int32]int64 // end offsets seen at start
}

// OpenTable creates topic if needed and returns its table; it reads
// nothing until Run. The client it opens is closed by Run's return (or by
// Close when Run is never called).
func OpenTable(ctx context.Context, opts []kgo.Opt, topic string, log *slog.Logger) (*Table, error) {
	if err := EnsureCompactedTopic(ctx, opts, topic); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cl, err := kgo.NewClient(append(append([]kgo.Opt(nil), opts...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200*time.Millisecond),
		kgo.ProducerLinger(0),
	)...)
	if err != nil {
		return nil, err
	}
	t := &Table{topic: topic, log: log.With("topic", topic), cl: cl, vals: map[string][]byte{},
		next: map[int32]int64{}, changed: make(chan struct{}), ready: make(chan struct{})}
	// A topic just created may not be known to every broker yet: retry
	// until it is, within 15s.
	lctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var ends kadm.ListedOffsets
	for {
		ends, err = kadm.NewClient(cl).ListEndOffsets(lctx, topic)
		if err == nil {
			err = ends.Error()
		}
		if err == nil || lctx.Err() != nil {
			break
		}
		select {
		case <-lctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("cannot read the end of %s: %w", topic, err)
	}
	t.start = map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { t.start[o.Partition] = o.Offset })
	t.checkReady()
	return t, nil
}

// Topic returns the table's topic.
func (t *Table) Topic() string { return t.topic }

// checkReady closes ready once every partition was read up to its end
// seen at start. Called with t.mu held or before Run.
func (t *Table) checkReady() {
	select {
	case <-t.ready:
		return
	default:
	}
	for p, end := range t.start {
		if t.next[p] < end {
			return
		}
	}
	close(t.ready)
}

// Ready is closed once the table holds everything the topic held when it
// was opened.
func (t *Table) Ready() <-chan struct{} { return t.ready }

// Run reads the topic until ctx ends, then closes the client. It returns
// nil after ctx ends.
func (t *Table) Run(ctx context.Context) error {
	defer t.cl.Close()
	for ctx.Err() == nil {
		fs := t.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		fs.EachError(func(topic string, p int32, err error) {
			t.log.Warn("reading the worker group topic", "partition", p, "err", err)
		})
		if fs.NumRecords() == 0 {
			continue
		}
		t.mu.Lock()
		fs.EachRecord(func(r *kgo.Record) {
			if r.Value == nil {
				delete(t.vals, string(r.Key))
			} else {
				t.vals[string(r.Key)] = r.Value
			}
			t.next[r.Partition] = r.Offset + 1
		})
		t.checkReady()
		close(t.changed)
		t.changed = make(chan struct{})
		t.mu.Unlock()
	}
	return nil
}

// Close closes the client of a table whose Run was never called.
func (t *Table) Close() { t.cl.Close() }

// Changed returns a channel closed at the next change of the table.
func (t *Table) Changed() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.changed
}

// Get returns the value of key.
func (t *Table) Get(key string) ([]byte, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.vals[key]
	return v, ok
}

// Snapshot returns a copy of the table (values are shared: do not modify
// them).
func (t *Table) Snapshot() map[string][]byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string][]byte, len(t.vals))
	for k, v := range t.vals {
		out[k] = v
	}
	return out
}

// Put writes key (a nil value deletes it) and waits until the table has
// read the write back, or ctx ends. Run must be running.
func (t *Table) Put(ctx context.Context, key string, value []byte) error {
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	r, err := t.cl.ProduceSync(pctx, &kgo.Record{Topic: t.topic, Key: []byte(key), Value: value}).First()
	if err != nil {
		return fmt.Errorf("cannot write to %s: %w", t.topic, err)
	}
	for {
		t.mu.Lock()
		done, ch := t.next[r.Partition] > r.Offset, t.changed
		t.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-pctx.Done():
			return fmt.Errorf("wrote to %s but did not read the write back: %w", t.topic, pctx.Err())
		}
	}
}

// Write writes records without waiting to read them back (status updates:
// the next write supersedes a lost one). It waits for the cluster to
// acknowledge them, within 10s.
func (t *Table) Write(ctx context.Context, kv map[string][]byte) error {
	if len(kv) == 0 {
		return nil
	}
	rs := make([]*kgo.Record, 0, len(kv))
	for k, v := range kv {
		rs = append(rs, &kgo.Record{Topic: t.topic, Key: []byte(k), Value: v})
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := t.cl.ProduceSync(wctx, rs...).FirstErr(); err != nil {
		return fmt.Errorf("cannot write to %s: %w", t.topic, err)
	}
	return nil
}
