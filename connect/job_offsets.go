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

// Offsets returns the connector's offsets in Kafka Connect's offsets API
// shape: for a source, each source partition with its saved offset; for a
// sink, {kafka_topic, kafka_partition} with {kafka_offset} committed by the
// group connect-NAME. It works whether or not the job is running.
func (j *Job) Offsets(ctx context.Context) ([]SourceOffset, error) {
	if j.source != nil {
		return j.cfg.store.Load(ctx, j.name)
	}
	adm, closeFn, err := j.admin()
	if err != nil {
		return nil, err
	}
	defer closeFn()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	offs, err := adm.FetchOffsets(ctx, j.Group())
	if err != nil {
		return nil, fmt.Errorf("reading offsets of group %s: %w", j.Group(), err)
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

func (j *Job) admin() (*kadm.Client, func(), error) {
	cl, err := kgo.NewClient(j.cfg.clientOpts...)
	if err != nil {
		return nil, nil, err
	}
	return kadm.NewClient(cl), cl.Close, nil
}

// AlterOffsets writes offsets, as Kafka Connect's PATCH offsets does: a nil
// Offset resets that partition (a source starts it over; a sink's group
// offset is deleted). The caller must make sure the connector is stopped.
func (j *Job) AlterOffsets(ctx context.Context, offs []SourceOffset) error {
	if j.source != nil {
		return j.cfg.store.Save(ctx, j.name, offs)
	}
	adm, closeFn, err := j.admin()
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
		resp, err := adm.CommitOffsets(ctx, j.Group(), commit)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return fmt.Errorf("committing offsets of group %s: %w", j.Group(), err)
		}
	}
	if len(del) > 0 {
		resp, err := adm.DeleteOffsets(ctx, j.Group(), del)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return fmt.Errorf("deleting offsets of group %s: %w", j.Group(), err)
		}
	}
	return nil
}

// ResetOffsets removes every offset of the connector (Kafka Connect's
// DELETE offsets): a source starts over, a sink's group has no offsets.
func (j *Job) ResetOffsets(ctx context.Context) error {
	cur, err := j.Offsets(ctx)
	if err != nil {
		return err
	}
	for i := range cur {
		cur[i].Offset = nil
	}
	return j.AlterOffsets(ctx, cur)
}

// Close releases the job's offset store.
func (j *Job) Close() error { return j.cfg.store.Close() }
