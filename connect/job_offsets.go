package connect

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Keys of sink offsets, as Kafka Connect's offsets API names them.
const (
	OffsetKeyTopic     = "kafka_topic"
	OffsetKeyPartition = "kafka_partition"
	OffsetKeyOffset    = "kafka_offset"
)

// Offsets reads and alters the offsets of one connector without building
// its job (no connector, transforms, converters or task): what a supervisor
// needs to show or change the offsets of a stopped connector. A source's
// offsets live in its offset store; a sink's are the committed offsets of
// its group connect-NAME. Build it with NewOffsets; every Job has one too
// (Job.Offsets, AlterOffsets and ResetOffsets use it). Safe for concurrent
// use; each call builds and closes the Kafka client it needs, with a 15s
// timeout.
type Offsets struct {
	name       string
	source     bool
	store      OffsetStore
	clientOpts []kgo.Opt
}

// NewOffsets returns the offsets accessor of the connector that table
// declares: it reads only the name, the class (to know a source from a
// sink) and offsets_topic, and validates nothing else (Validate does).
// WithClientOpts and WithOffsetStore apply as they do to NewJob, with the
// same default store; other options are ignored. Close releases the store.
func NewOffsets(reg *Registry, table map[string]any, opts ...Opt) (*Offsets, error) {
	var c jobCfg
	for _, o := range opts {
		o.apply(&c)
	}
	name, _ := table[FieldName].(string)
	if name == "" {
		return nil, &ConfigError{Subject: "connector", Fields: []FieldError{{Path: FieldName, Msg: "is missing"}}}
	}
	class, _ := table[FieldClass].(string)
	plugin, err := reg.Plugin(class)
	if err != nil {
		return nil, &ConfigError{Subject: fmt.Sprintf("connector %q", name), Fields: []FieldError{{Path: FieldClass, Msg: err.Error()}}}
	}
	if c.store == nil {
		topic, _ := table[FieldOffsetsTopic].(string)
		c.store = NewKafkaOffsetStore(topic, c.clientOpts...)
	}
	return &Offsets{name: name, source: plugin.NewSource != nil, store: c.store, clientOpts: c.clientOpts}, nil
}

// group is a sink's consumer group.
func (o *Offsets) group() string { return "connect-" + o.name }

// Close releases the offset store.
func (o *Offsets) Close() error { return o.store.Close() }

// Offsets returns the connector's offsets in Kafka Connect's offsets API
// shape: for a source, each source partition with its saved offset; for a
// sink, {kafka_topic, kafka_partition} with {kafka_offset} committed by the
// group connect-NAME. It works whether or not the job is running.
func (j *Job) Offsets(ctx context.Context) ([]SourceOffset, error) { return j.offs.Read(ctx) }

// AlterOffsets writes offsets, as Kafka Connect's PATCH offsets does: a nil
// Offset resets that partition (a source starts it over; a sink's group
// offset is deleted). The caller must make sure the connector is stopped.
func (j *Job) AlterOffsets(ctx context.Context, offs []SourceOffset) error {
	return j.offs.Alter(ctx, offs)
}

// ResetOffsets removes every offset of the connector (Kafka Connect's
// DELETE offsets): a source starts over, a sink's group has no offsets.
func (j *Job) ResetOffsets(ctx context.Context) error { return j.offs.Reset(ctx) }

// Close releases the job's offset store.
func (j *Job) Close() error { return j.offs.Close() }

// Read returns the connector's offsets, as Job.Offsets does.
func (o *Offsets) Read(ctx context.Context) ([]SourceOffset, error) {
	if o.source {
		return o.store.Load(ctx, o.name)
	}
	adm, closeFn, err := o.admin()
	if err != nil {
		return nil, err
	}
	defer closeFn()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	offs, err := adm.FetchOffsets(ctx, o.group())
	if err != nil {
		return nil, fmt.Errorf("reading offsets of group %s: %w", o.group(), err)
	}
	var out []SourceOffset
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Err != nil || o.At < 0 {
			return
		}
		out = append(out, SourceOffset{
			Partition: map[string]any{OffsetKeyTopic: o.Topic, OffsetKeyPartition: int64(o.Partition)},
			Offset:    map[string]any{OffsetKeyOffset: o.At},
		})
	})
	sort.Slice(out, func(a, b int) bool { return partitionKey(out[a].Partition) < partitionKey(out[b].Partition) })
	return out, nil
}

func (o *Offsets) admin() (*kadm.Client, func(), error) {
	cl, err := kgo.NewClient(o.clientOpts...)
	if err != nil {
		return nil, nil, err
	}
	return kadm.NewClient(cl), cl.Close, nil
}

// Alter writes offsets, as Job.AlterOffsets does.
func (o *Offsets) Alter(ctx context.Context, offs []SourceOffset) error {
	if o.source {
		return o.store.Save(ctx, o.name, offs)
	}
	adm, closeFn, err := o.admin()
	if err != nil {
		return err
	}
	defer closeFn()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	commit := kadm.Offsets{}
	del := kadm.TopicsSet{}
	for _, o := range offs {
		topic, _ := o.Partition[OffsetKeyTopic].(string)
		p, ok := toInt64(o.Partition[OffsetKeyPartition])
		if topic == "" || !ok {
			return fmt.Errorf("a sink offset's partition needs %s and %s, got %v", OffsetKeyTopic, OffsetKeyPartition, o.Partition)
		}
		if o.Offset == nil {
			del.Add(topic, int32(p))
			continue
		}
		at, ok := toInt64(o.Offset[OffsetKeyOffset])
		if !ok || at < 0 {
			return fmt.Errorf("a sink offset needs %s >= 0, got %v", OffsetKeyOffset, o.Offset)
		}
		commit.Add(kadm.Offset{Topic: topic, Partition: int32(p), At: at, LeaderEpoch: -1})
	}
	if len(commit) > 0 {
		resp, err := adm.CommitOffsets(ctx, o.group(), commit)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return fmt.Errorf("committing offsets of group %s: %w", o.group(), err)
		}
	}
	if len(del) > 0 {
		resp, err := adm.DeleteOffsets(ctx, o.group(), del)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return fmt.Errorf("deleting offsets of group %s: %w", o.group(), err)
		}
	}
	return nil
}

// Reset removes every offset of the connector, as Job.ResetOffsets does.
func (o *Offsets) Reset(ctx context.Context) error {
	cur, err := o.Read(ctx)
	if err != nil {
		return err
	}
	for i := range cur {
		cur[i].Offset = nil
	}
	return o.Alter(ctx, cur)
}
