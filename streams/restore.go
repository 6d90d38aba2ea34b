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
	ends, err := j.restoreEnds(ctx, cl, targets)
	if err != nil {
		return err
	}
	r := &restoreRun{j: j, cl: cl, active: map[string]map[int32]*restorePart{}}
	consume, err := r.add(targets, ends)
	if err != nil || r.left == 0 {
		return err
	}
	cl.AddConsumePartitions(consume)
	idle := 0
	for r.left > 0 {
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
				if err := r.finishAll(); err != nil {
					return fmt.Errorf("restore: write store: %w", err)
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
			if werr == nil {
				werr = r.write(fp)
			}
		})
		if werr != nil {
			return fmt.Errorf("restore: write store: %w", werr)
		}
	}
	j.log.Info("restored stores", "records", r.total, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// restoreEnds lists the end offsets of the targets' changelogs: the last
// stable offsets under exactly once, the log end offsets otherwise.
func (j *Job) restoreEnds(ctx context.Context, cl *kgo.Client, targets []restoreTarget) (kadm.ListedOffsets, error) {
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
	var err error
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
		return nil, fmt.Errorf("restore: list changelog end offsets: %w", err)
	}
	return ends, nil
}

// restorePart is one store partition being restored up to end.
type restorePart struct {
	t     restoreTarget
	end   int64
	batch *pebble.Batch
}

// restoreRun is one restore in progress: the partitions still short of
// their end (left of them) and the records written so far. Only restore's
// goroutine uses it.
type restoreRun struct {
	j      *Job
	cl     *kgo.Client
	active map[string]map[int32]*restorePart
	left   int
	total  int64
}

// add sets every target's progress and returns the offsets to consume the
// partitions short of their end from; a checkpoint beyond the end is an
// error.
func (r *restoreRun) add(targets []restoreTarget, ends kadm.ListedOffsets) (map[string]map[int32]kgo.Offset, error) {
	consume := map[string]map[int32]kgo.Offset{}
	for _, t := range targets {
		lo, _ := ends.Lookup(t.topic, t.st.partition)
		end := lo.Offset
		from := t.from
		if from > end { // the changelog was deleted or truncated: rebuild from scratch
			r.j.log.Warn("checkpoint is beyond the changelog's end; rebuilding the store", "store", t.st.def.name, "partition", t.st.partition)
			return nil, fmt.Errorf("restore %s/%d: checkpoint %d is beyond the changelog end %d: wipe the local state (kdeck streams reset)", t.st.def.name, t.st.partition, from, end)
		}
		t.st.restoreTotal.Store(end - from)
		t.st.restored.Store(0)
		if from >= end {
			continue
		}
		t.st.restoring.Store(true)
		if r.active[t.topic] == nil {
			r.active[t.topic] = map[int32]*restorePart{}
			consume[t.topic] = map[int32]kgo.Offset{}
		}
		r.active[t.topic][t.st.partition] = &restorePart{t: t, end: end, batch: t.st.db.NewBatch()}
		consume[t.topic][t.st.partition] = kgo.NewOffset().At(from)
		r.left++
	}
	return consume, nil
}

// finish commits s's last batch, marks it restored and stops consuming it.
func (r *restoreRun) finish(s *restorePart) error {
	if err := s.batch.Commit(pebble.NoSync); err != nil {
		return err
	}
	s.t.st.restoring.Store(false)
	s.t.st.restored.Store(s.end - s.t.from)
	s.t.st.nextChangelog.Store(s.end)
	delete(r.active[s.t.topic], s.t.st.partition)
	r.cl.RemoveConsumePartitions(map[string][]int32{s.t.topic: {s.t.st.partition}})
	r.left--
	return nil
}

// finishAll takes every partition still restoring as restored: the polls
// found no record before their end offsets.
func (r *restoreRun) finishAll() error {
	for _, ps := range r.active {
		for _, s := range ps {
			r.j.log.Warn("restore: no records before the changelog's end offset; taking the store as restored", "store", s.t.st.def.name, "partition", s.t.st.partition, "end", s.end)
			if err := r.finish(s); err != nil {
				return err
			}
		}
	}
	return nil
}

// write applies one fetched partition's records below its end to its
// store's batch, committing the batch when it reaches restoreBatchBytes, and
// finishes the partition once it reached its end.
func (r *restoreRun) write(fp kgo.FetchTopicPartition) error {
	s := r.active[fp.Topic][fp.Partition]
	if s == nil || len(fp.Records) == 0 {
		return nil
	}
	for _, rec := range fp.Records {
		if rec.Offset >= s.end {
			break
		}
		if !rec.Attrs.IsControl() {
			var err error
			if rec.Value == nil {
				err = s.batch.Delete(rec.Key, nil)
			} else {
				err = s.batch.Set(rec.Key, rec.Value, nil)
			}
			if err != nil {
				return err
			}
		}
		r.total++
		if s.batch.Len() >= restoreBatchBytes {
			if err := s.batch.Commit(pebble.NoSync); err != nil {
				return err
			}
			s.batch = s.t.st.db.NewBatch()
		}
	}
	last := fp.Records[len(fp.Records)-1].Offset
	for _, rec := range fp.Records {
		rec.Recycle() // the batch holds copies
	}
	s.t.st.restored.Store(min(last+1, s.end) - s.t.from)
	if last+1 >= s.end {
		return r.finish(s)
	}
	return nil
}
