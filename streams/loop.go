package streams

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kdeck/kdeck/jobstate"
)

func (j *Job) loop(ctx context.Context) error {
	var (
		fetchPaused bool
		topics      = append(append([]string(nil), j.top.inputs...), j.top.repartitions...)
	)
	j.state.Store(jobstate.Running)
	for {
		if ctx.Err() != nil {
			return nil
		}
		if p := j.paused.Load(); p != fetchPaused {
			if p {
				j.cl.PauseFetchTopics(topics...)
				j.state.Store(jobstate.Paused)
			} else {
				j.cl.ResumeFetchTopics(topics...)
				j.state.Store(jobstate.Running)
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
		j.tickMeters()
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
	b, err := j.processBatch(ctx, fetches)
	if err != nil || b == nil {
		return err
	}
	// Outputs of a batch in flight at shutdown get until the produce
	// context ends (a grace period after ctx) to be acknowledged.
	ectx, cancel := context.WithTimeout(j.pctx, 2*netTimeout)
	defer cancel()
	committed, err := j.endBatch(ectx, fetches, b)
	if err != nil {
		return err
	}
	return j.settleBatch(ectx, b, committed)
}

// batchRun is what processing one batch left: the tasks it touched and,
// when a record failed under OnErrorFail, that record (bad); processing
// stops there and only what came before it is committed: next holds, per
// partition processed, the offset to read next.
type batchRun struct {
	touched map[*task]bool
	bad     *RecordError
	next    map[string]map[int32]kgo.EpochOffset
}

func (b *batchRun) setNext(topic string, p int32, o kgo.EpochOffset) {
	if b.next[topic] == nil {
		b.next[topic] = map[int32]kgo.EpochOffset{}
	}
	b.next[topic][p] = o
}

// processBatch opens newly assigned tasks, runs the fetched records through
// the topology (inside a transaction under exactly once) and flushes the
// touched tasks' outputs. It returns nil, nil for a poll without records;
// on an error it has aborted the transaction.
func (j *Job) processBatch(ctx context.Context, fetches kgo.Fetches) (*batchRun, error) {
	j.mu.Lock()
	if err := j.openPending(ctx); err != nil {
		j.mu.Unlock()
		return nil, err
	}
	if fetches.NumRecords() == 0 {
		j.mu.Unlock()
		return nil, nil
	}
	if j.sess != nil {
		if err := j.sess.Begin(); err != nil {
			j.mu.Unlock()
			return nil, fmt.Errorf("stream job %s: begin transaction: %w", j.top.appID, err)
		}
	}
	b := &batchRun{touched: map[*task]bool{}, next: map[string]map[int32]kgo.EpochOffset{}}
	var procErr error
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if b.bad != nil || procErr != nil || len(fp.Records) == 0 {
			return
		}
		procErr = j.processPartition(b, fp)
	})
	for t := range b.touched {
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
		return nil, procErr
	}
	return b, nil
}

// processPartition runs one fetched partition's records through the
// sources reading its topic, stopping at a record that fails under
// OnErrorFail (b.bad); a corrupt store is returned. Held: mu.
func (j *Job) processPartition(b *batchRun, fp kgo.FetchTopicPartition) error {
	t := j.tasks[fp.Partition]
	if t == nil {
		return nil // revoked (lost) meanwhile; the records will be fetched again by the new owner
	}
	b.touched[t] = true
	srcs := j.top.sources[fp.Topic]
	last := fp.Records[len(fp.Records)-1]
	t.lag.Store(fp.HighWatermark - last.Offset - 1)
	var n int64
	var procErr error
	for _, kr := range fp.Records {
		if err := j.process(t, srcs, kr); err != nil {
			if _, corrupt := errors.AsType[*CorruptStateError](err); corrupt {
				procErr = fmt.Errorf("stream job %s: partition %d: %w", j.top.appID, t.partition, err)
				break
			}
			b.bad = &RecordError{AppID: j.top.appID, Topic: kr.Topic, Partition: kr.Partition, Offset: kr.Offset, Err: err}
			b.setNext(kr.Topic, kr.Partition, kgo.EpochOffset{Epoch: kr.LeaderEpoch, Offset: kr.Offset})
			break
		}
		n++
	}
	t.recordsIn.Add(n)
	j.recordsIn.Add(n)
	if b.bad == nil {
		b.setNext(fp.Topic, fp.Partition, kgo.EpochOffset{Epoch: last.LeaderEpoch, Offset: last.Offset + 1})
	}
	return procErr
}

// endBatch commits the batch's transaction (exactly once) or waits for its
// outputs to be acknowledged (at least once). committed is false when a
// rebalance aborted the transaction.
func (j *Job) endBatch(ectx context.Context, fetches kgo.Fetches, b *batchRun) (committed bool, err error) {
	if j.sess != nil {
		if b.bad != nil {
			// The transaction commits the polled offsets: make the
			// partitions not processed past their first record, and the
			// bad record's partition, look committed where this batch
			// began (they are), so that only the fully processed ones
			// are committed with the outputs.
			j.cl.SetOffsets(batchStarts(fetches, b.next, b.bad))
		}
		ok, err := j.sess.End(ectx, kgo.TryCommit)
		if err != nil {
			return false, fmt.Errorf("stream job %s: commit transaction: %w", j.top.appID, err)
		}
		return ok, nil
	}
	if err := j.cl.Flush(ectx); err != nil {
		return false, fmt.Errorf("stream job %s: flush outputs: %w", j.top.appID, err)
	}
	if perr := j.prodErr.Load(); perr != nil {
		return false, fmt.Errorf("stream job %s: produce: %w", j.top.appID, *perr)
	}
	return true, nil
}

// settleBatch applies (committed) or discards the touched tasks' staged
// store writes and commits the input offsets: up to the bad record, which
// it then returns, or (at least once) the whole batch.
func (j *Job) settleBatch(ectx context.Context, b *batchRun, committed bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.sess == nil {
		j.safe = j.cl.UncommittedOffsets()
		if b.bad != nil {
			j.safe = b.next
		}
	}
	for t := range b.touched {
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
	if b.bad != nil {
		// The bad record's partition: commit up to the bad record (under
		// exactly once this follows the transaction: a crash between the
		// two repeats the records before the bad one, once).
		offs := b.next
		if j.sess != nil {
			offs = map[string]map[int32]kgo.EpochOffset{b.bad.Topic: {b.bad.Partition: b.next[b.bad.Topic][b.bad.Partition]}}
		}
		if err := commitSync(ectx, j.cl, offs); err != nil {
			j.log.Warn("commit before the bad record failed; the records before it will be processed again", "err", err)
		}
		j.safe = nil
		return b.bad
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
