package streams

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// restoreTarget is one store partition to bring up to date from its
// changelog, starting at offset from.
type restoreTarget struct {
	st    *store
	topic string
	from  int64
}

// restoreBatchBytes bounds the memory of a restore: records are written to
// Pebble in batches of about this size, without sync. Above half the
// memtable size (64 MiB) Pebble takes a batch as a flushable batch, written
// out as a table without inserting each key into the memtable's skiplist.
const restoreBatchBytes = 34 << 20

// A restore poll waits restoreIdlePoll; restoreIdlePolls empty polls in a
// row end the restore of the remaining partitions.
const (
	restoreIdlePoll  = 2 * time.Second
	restoreIdlePolls = 3
)

// restore reads every target's changelog partition from its start offset to
// the end offset found when the restore began (the last stable offset under
// exactly once), writing large unsynced Pebble batches. Memory stays bounded
// by the fetch size and one batch per store, whatever the changelog's size.
// Progress is visible through Status (restored / total records per store).
func (j *Job) restore(ctx context.Context, targets []restoreTarget) error {
	if len(targets) == 0 {
		return nil
	}
	start := time.Now()
	opts := append(append([]kgo.Opt{kgo.FetchMaxWait(500 * time.Millisecond)}, j.clientOpts...),
		kgo.FetchMaxBytes(16<<20), kgo.FetchMaxPartitionBytes(8<<20), kgo.WithPools(&restorePools{}))
	if j.cfg.guarantee == ExactlyOnce {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("restore: client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	topics := map[string]bool{}
	for _, t := range targets {
		topics[t.topic] = true
	}
	names := make([]string, 0, len(topics))
	for t := range topics {
		names = append(names, t)
	}
	lctx, cancel := context.WithTimeout(ctx, netTimeout)
	var ends kadm.ListedOffsets
	if j.cfg.guarantee == ExactlyOnce {
		ends, err = adm.ListCommittedOffsets(lctx, names...)
	} else {
		ends, err = adm.ListEndOffsets(lctx, names...)
	}
	cancel()
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("restore: list changelog end offsets: %w", err)
	}
	type state struct {
		t     restoreTarget
		end   int64
		batch *pebble.Batch
	}
	active := map[string]map[int32]*state{}
	consume := map[string]map[int32]kgo.Offset{}
	left := 0
	for _, t := range targets {
		lo, _ := ends.Lookup(t.topic, t.st.partition)
		end := lo.Offset
		from := t.from
		if from > end { // the changelog was deleted or truncated: rebuild from scratch
			j.log.Warn("checkpoint is beyond the changelog's end; rebuilding the store", "store", t.st.def.name, "partition", t.st.partition)
			return fmt.Errorf("restore %s/%d: checkpoint %d is beyond the changelog end %d: wipe the local state (kdeck streams reset)", t.st.def.name, t.st.partition, from, end)
		}
		t.st.restoreTotal.Store(end - from)
		t.st.restored.Store(0)
		if from >= end {
			continue
		}
		t.st.restoring.Store(true)
		if active[t.topic] == nil {
			active[t.topic] = map[int32]*state{}
			consume[t.topic] = map[int32]kgo.Offset{}
		}
		active[t.topic][t.st.partition] = &state{t: t, end: end, batch: t.st.db.NewBatch()}
		consume[t.topic][t.st.partition] = kgo.NewOffset().At(from)
		left++
	}
	if left == 0 {
		return nil
	}
	cl.AddConsumePartitions(consume)
	var total int64
	finish := func(s *state) error {
		if err := s.batch.Commit(pebble.NoSync); err != nil {
			return err
		}
		s.t.st.restoring.Store(false)
		s.t.st.restored.Store(s.end - s.t.from)
		s.t.st.nextChangelog.Store(s.end)
		delete(active[s.t.topic], s.t.st.partition)
		cl.RemoveConsumePartitions(map[string][]int32{s.t.topic: {s.t.st.partition}})
		left--
		return nil
	}
	idle := 0
	for left > 0 {
		pctx, cancel := context.WithTimeout(ctx, restoreIdlePoll)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The last offsets before the end may hold no record to deliver
		// (removed by compaction); the consumer's position is not exposed,
		// so several empty polls in a row (each covering a full fetch wait)
		// mean the remaining partitions are at their end.
		if fs.NumRecords() == 0 {
			if idle++; idle >= restoreIdlePolls {
				for _, ps := range active {
					for _, s := range ps {
						j.log.Warn("restore: no records before the changelog's end offset; taking the store as restored", "store", s.t.st.def.name, "partition", s.t.st.partition, "end", s.end)
						if err := finish(s); err != nil {
							return fmt.Errorf("restore: write store: %w", err)
						}
					}
				}
			}
		} else {
			idle = 0
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				ferr = fmt.Errorf("restore %s/%d: %w", t, p, err)
			}
		})
		if ferr != nil {
			return ferr
		}
		var werr error
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			s := active[fp.Topic][fp.Partition]
			if s == nil || werr != nil || len(fp.Records) == 0 {
				return
			}
			for _, r := range fp.Records {
				if r.Offset >= s.end {
					break
				}
				if !r.Attrs.IsControl() {
					if r.Value == nil {
						werr = s.batch.Delete(r.Key, nil)
					} else {
						werr = s.batch.Set(r.Key, r.Value, nil)
					}
					if werr != nil {
						return
					}
				}
				total++
				if s.batch.Len() >= restoreBatchBytes {
					if werr = s.batch.Commit(pebble.NoSync); werr != nil {
						return
					}
					s.batch = s.t.st.db.NewBatch()
				}
			}
			last := fp.Records[len(fp.Records)-1].Offset
			for _, r := range fp.Records {
				r.Recycle() // the batch holds copies
			}
			s.t.st.restored.Store(min(last+1, s.end) - s.t.from)
			if last+1 >= s.end {
				werr = finish(s)
			}
		})
		if werr != nil {
			return fmt.Errorf("restore: write store: %w", werr)
		}
	}
	j.log.Info("restored stores", "records", total, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
