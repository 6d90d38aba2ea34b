package mirror

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// loopTxn is the exactly-once loop: each poll's records and the progress
// they reach go to the target in one transaction. A failed transaction is
// aborted and fails the flow; the next Run resumes from the progress the
// target committed.
func (r *run) loopTxn(ctx, pctx context.Context) {
	topic := r.cfg.progressTopic()
	for {
		fs, ok := r.poll(ctx)
		if !ok {
			return
		}
		if err := r.tgt.BeginTransaction(); err != nil {
			r.fail(fmt.Errorf("%w: begin: %w", ErrTransaction, err))
			return
		}
		r.txnErr.Store(nil)
		progress := map[*partition]int64{}
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			ps := r.f.partition(fp.Topic, fp.Partition)
			if ps == nil || len(fp.Records) == 0 {
				return
			}
			ps.mu.Lock()
			r.setEnd(ps, fp)
			ps.mu.Unlock()
			slab := make([]kgo.Record, len(fp.Records))
			for i, rec := range fp.Records {
				progress[ps] = rec.Offset + 1
				out := &slab[i]
				if !r.translate(ps, rec, out) {
					continue
				}
				r.produceSince.Store(time.Now().UnixNano())
				r.tgt.Produce(pctx, out, r.txnPromise(ps, rec.Offset, r.isHeartbeat(rec), len(rec.Key)+len(rec.Value)))
				r.produceSince.Store(0)
			}
		})
		for ps, next := range progress {
			r.tgt.Produce(pctx, &kgo.Record{Topic: topic, Partition: 0, Key: progressKey(ps.topic, ps.part),
				Value: strconv.AppendInt(nil, next, 10)}, r.txnPromise(nil, 0, false, 0))
		}
		fctx, cancel := context.WithTimeout(context.Background(), r.cfg.Producer.DeliveryTimeout)
		ferr := r.tgt.Flush(fctx)
		cancel()
		if e := r.txnErr.Load(); e != nil && ferr == nil {
			ferr = *e
		}
		ectx, cancel := context.WithTimeout(context.Background(), r.f.adminTimeout)
		if ferr != nil {
			_ = r.tgt.AbortBufferedRecords(ectx)
			_ = r.tgt.EndTransaction(ectx, kgo.TryAbort)
			cancel()
			r.fail(fmt.Errorf("%w: %w", ErrDeliveryFailed, ferr))
			return
		}
		err := r.tgt.EndTransaction(ectx, kgo.TryCommit)
		cancel()
		if err != nil {
			r.fail(fmt.Errorf("%w: commit: %w", ErrTransaction, err))
			return
		}
		for ps, next := range progress {
			ps.mu.Lock()
			ps.acked = max(ps.acked, next)
			ps.mu.Unlock()
		}
	}
}

// txnPromise is the produce callback under exactly once: it records the
// first error (the transaction is then aborted) and, for a mirrored record,
// its target offset for offset syncs. ps is nil for progress records.
func (r *run) txnPromise(ps *partition, off int64, heartbeat bool, size int) func(*kgo.Record, error) {
	return func(out *kgo.Record, err error) {
		if err != nil {
			r.txnErr.CompareAndSwap(nil, &err)
			return
		}
		if ps == nil {
			return
		}
		ps.mu.Lock()
		ps.lastSrc, ps.lastTgt = off, out.Offset
		if ps.lastSyncSrc < 0 || off-ps.lastSyncSrc >= r.cfg.OffsetLagMax {
			ps.addSync(offsetSync{Source: off, Target: out.Offset})
		}
		ps.mu.Unlock()
		r.f.records.Add(1)
		r.f.bytes.Add(int64(size))
		if heartbeat {
			r.f.mu.Lock()
			r.f.latency, r.f.latencyAt = time.Since(out.Timestamp), time.Now()
			r.f.mu.Unlock()
		}
	}
}

func progressKey(topic string, p int32) []byte {
	return []byte(topic + "\x00" + strconv.Itoa(int(p)))
}

// readProgress reads the committed progress of an exactly-once flow from the
// target's progress topic (read_committed, up to the last stable offset: an
// open transaction of a killed instance holds only progress that was never
// committed).
func readProgress(ctx context.Context, tgtOpts []kgo.Opt, topic string) (map[topicPartition]int64, error) {
	adm, err := kgo.NewClient(tgtOpts...)
	if err != nil {
		return nil, err
	}
	ends, err := kadm.NewClient(adm).ListCommittedOffsets(ctx, topic)
	adm.Close()
	if err != nil {
		return nil, err
	}
	out := map[topicPartition]int64{}
	end := int64(0)
	if o, ok := ends.Lookup(topic, 0); ok && o.Err == nil {
		end = o.Offset
	}
	if end == 0 {
		return out, nil
	}
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, tgtOpts...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	idle := 0
	for idle < 3 {
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		n, done := 0, false
		fs.EachRecord(func(rec *kgo.Record) {
			n++
			t, p, ok := strings.Cut(string(rec.Key), "\x00")
			pn, err1 := strconv.Atoi(p)
			off, err2 := strconv.ParseInt(string(rec.Value), 10, 64)
			if ok && err1 == nil && err2 == nil {
				out[topicPartition{t, int32(pn)}] = off
			}
			if rec.Offset+1 >= end {
				done = true
			}
		})
		for _, fe := range fs.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) {
				return nil, fe.Err
			}
		}
		if done {
			break
		}
		if n == 0 {
			idle++
		}
	}
	return out, nil
}
