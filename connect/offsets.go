package connect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// SourceOffset is a source partition and its offset, in Kafka Connect's
// offsets API shape. A nil Offset (in Save) removes the partition's offset.
type SourceOffset struct {
	Partition map[string]any `json:"partition"`
	Offset    map[string]any `json:"offset"`
}

// OffsetStore saves source connectors' offsets. Implementations must be
// safe for concurrent use.
type OffsetStore interface {
	// Load returns every saved offset of a connector.
	Load(ctx context.Context, connector string) ([]SourceOffset, error)
	// Save writes offsets of a connector; they are durable when it
	// returns nil. A nil Offset removes that partition.
	Save(ctx context.Context, connector string, offsets []SourceOffset) error
	// Close releases the store.
	Close() error
}

// partitionKey is the canonical text of a source partition (JSON with
// sorted keys).
func partitionKey(p map[string]any) string {
	b, _ := json.Marshal(p)
	return string(b)
}

// FileOffsetStore keeps each connector's offsets in DIR/NAME.json, written
// atomically (temporary file, fsync, rename): the store of the embedded
// default and of single-process workers.
type FileOffsetStore struct {
	dir string
	mu  sync.Mutex
}

// NewFileOffsetStore returns a store under dir (created on first save).
func NewFileOffsetStore(dir string) *FileOffsetStore { return &FileOffsetStore{dir: dir} }

func (s *FileOffsetStore) path(connector string) string {
	return filepath.Join(s.dir, connector+".json")
}

// Load implements OffsetStore.
func (s *FileOffsetStore) Load(ctx context.Context, connector string) ([]SourceOffset, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.load(connector)
}

func (s *FileOffsetStore) load(connector string) ([]SourceOffset, error) {
	b, err := os.ReadFile(s.path(connector))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading offsets of %q: %w", connector, err)
	}
	var out []SourceOffset
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("offsets file %s is corrupt: %v (move it away to start from the beginning)", s.path(connector), err)
	}
	return out, nil
}

// Save implements OffsetStore.
func (s *FileOffsetStore) Save(ctx context.Context, connector string, offsets []SourceOffset) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.load(connector)
	if err != nil {
		return err
	}
	merged := mergeOffsets(cur, offsets)
	b, err := json.Marshal(merged)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("cannot create the offsets dir: %w", err)
	}
	tmp := s.path(connector) + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("cannot write offsets: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("cannot write offsets: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.path(connector)); err != nil {
		return err
	}
	if d, err := os.Open(s.dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Close implements OffsetStore.
func (s *FileOffsetStore) Close() error { return nil }

func mergeOffsets(cur, upd []SourceOffset) []SourceOffset {
	m := map[string]SourceOffset{}
	for _, o := range cur {
		m[partitionKey(o.Partition)] = o
	}
	for _, o := range upd {
		k := partitionKey(o.Partition)
		if o.Offset == nil {
			delete(m, k)
		} else {
			m[k] = o
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]SourceOffset, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}

// DefaultOffsetsTopic is the compacted topic KafkaOffsetStore uses unless
// told otherwise.
const DefaultOffsetsTopic = "kdeck-connect-offsets"

// KafkaOffsetStore keeps offsets in a compacted topic, keyed as Kafka
// Connect keys them (["connector",{partition}]) with the offset as JSON
// value and a tombstone for a removed partition. It creates the topic
// (compacted, one partition) when missing. Safe for concurrent use.
type KafkaOffsetStore struct {
	opts  []kgo.Opt
	topic string

	mu sync.Mutex
	cl *kgo.Client
}

// NewKafkaOffsetStore returns a store writing to topic ("" for
// DefaultOffsetsTopic) through a client built from opts on first use.
func NewKafkaOffsetStore(topic string, opts ...kgo.Opt) *KafkaOffsetStore {
	if topic == "" {
		topic = DefaultOffsetsTopic
	}
	return &KafkaOffsetStore{opts: opts, topic: topic}
}

func (s *KafkaOffsetStore) client(ctx context.Context) (*kgo.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl != nil {
		return s.cl, nil
	}
	cl, err := kgo.NewClient(append(append([]kgo.Opt(nil), s.opts...), kgo.DefaultProduceTopic(s.topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))...)
	if err != nil {
		return nil, err
	}
	adm := kadm.NewClient(cl)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := adm.CreateTopic(cctx, 1, -1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, s.topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		cl.Close()
		return nil, fmt.Errorf("creating the offsets topic %s: %w", s.topic, err)
	}
	s.cl = cl
	return cl, nil
}

// Load implements OffsetStore: it reads the topic to its end.
func (s *KafkaOffsetStore) Load(ctx context.Context, connector string) ([]SourceOffset, error) {
	cl, err := s.client(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, s.topic)
	if err != nil {
		return nil, fmt.Errorf("reading offsets topic %s: %w", s.topic, err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	if len(want) == 0 {
		return nil, nil
	}
	parts := map[int32]kgo.Offset{}
	for p := range want {
		parts[p] = kgo.NewOffset().AtStart()
	}
	// No fetch session: this reader closes right after its last fetch, and
	// kgo v1.22.2's Close reads a source's fetch session while an in-flight
	// fetch may still write it (a data race the race detector caught here).
	rd, err := kgo.NewClient(append(append([]kgo.Opt(nil), s.opts...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{s.topic: parts}), kgo.DisableFetchSessions())...)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	latest := map[string]SourceOffset{}
	for len(want) > 0 {
		fs := rd.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("reading offsets topic %s: %w", s.topic, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset+1 >= want[r.Partition] {
				delete(want, r.Partition)
			}
			var key []json.RawMessage
			if json.Unmarshal(r.Key, &key) != nil || len(key) != 2 {
				return
			}
			var name string
			var part map[string]any
			if json.Unmarshal(key[0], &name) != nil || name != connector || json.Unmarshal(key[1], &part) != nil {
				return
			}
			pk := partitionKey(part)
			if r.Value == nil {
				delete(latest, pk)
				return
			}
			var off map[string]any
			if json.Unmarshal(r.Value, &off) == nil {
				latest[pk] = SourceOffset{Partition: part, Offset: off}
			}
		})
	}
	return mergeOffsets(nil, mapValues(latest)), nil
}

func mapValues(m map[string]SourceOffset) []SourceOffset {
	out := make([]SourceOffset, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// Save implements OffsetStore: it produces and waits for the acks.
func (s *KafkaOffsetStore) Save(ctx context.Context, connector string, offsets []SourceOffset) error {
	if len(offsets) == 0 {
		return nil
	}
	cl, err := s.client(ctx)
	if err != nil {
		return err
	}
	recs := make([]*kgo.Record, 0, len(offsets))
	for _, o := range offsets {
		k, _ := json.Marshal([]any{connector, o.Partition})
		r := &kgo.Record{Key: k, Partition: 0}
		if o.Offset != nil {
			r.Value, _ = json.Marshal(o.Offset)
		}
		recs = append(recs, r)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("saving offsets to %s: %w", s.topic, err)
	}
	return nil
}

// Close implements OffsetStore.
func (s *KafkaOffsetStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl != nil {
		s.cl.Close()
		s.cl = nil
	}
	return nil
}
