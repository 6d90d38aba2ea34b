package connect

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// FieldTopics is the key naming a sink connector's input topics; every sink
// plugin declares it in its spec.
const FieldTopics = "topics"

// runSink runs one attempt of a sink task: poll a batch from the group
// connect-NAME, convert and transform it, put it, flush it, send failed
// records to the DLQ and wait for their acks, and only then commit the
// batch's offsets. Rebalances wait for the batch in hand
// (BlockRebalanceOnPoll), so partitions are handed over without loss.
func (rt *runtime) runSink(ctx context.Context, t *task) error {
	j := rt.j
	topics := j.p.Strings(FieldTopics)
	if len(topics) == 0 {
		return fmt.Errorf("sink connector %q has no topics", j.name)
	}
	cl, instance, err := rt.newSinkClient(t, topics)
	if err != nil {
		return err
	}
	defer rt.leaveSinkGroup(t, cl, instance)
	sk, err := j.sink.NewTask(t.conf)
	if err != nil {
		return fmt.Errorf("building task %d: %w", t.id, err)
	}
	if err := sk.Start(ctx, &taskContext{id: t.id, name: j.name}); err != nil {
		return fmt.Errorf("starting task %d: %w", t.id, err)
	}
	t.setDetailer(sk)
	defer t.setDetailer(nil)
	defer func() {
		if cerr := sk.Close(); cerr != nil {
			j.log.Warn("closing task", "task", t.id, "err", cerr)
		}
	}()
	batch := int(j.p.Int(FieldBatchSize))
	paused := false
	for {
		if j.paused.Load() {
			if !paused {
				cl.PauseFetchTopics(topics...)
				paused = true
			}
			cl.AllowRebalance()
			j.waitResumed(ctx, time.Second)
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		if paused {
			cl.ResumeFetchTopics(topics...)
			paused = false
		}
		fs := cl.PollRecords(ctx, batch)
		if ctx.Err() != nil {
			return nil
		}
		if err := rt.sinkFetchErrors(t, fs); err != nil {
			return err
		}
		recs := fs.Records()
		if len(recs) == 0 {
			cl.AllowRebalance()
			continue
		}
		if err := rt.sinkBatch(ctx, t, sk, recs); err != nil {
			return err
		}
		if err := rt.commitSinkBatch(t, cl, recs); err != nil {
			return err
		}
		cl.AllowRebalance()
	}
}

// newSinkClient builds the consumer of sink task t in the group
// connect-NAME: offsets committed by hand after each batch, rebalances held
// while a batch is in hand, and a static member id (returned as instance,
// "" when the worker has none) when the worker runs in a group.
func (rt *runtime) newSinkClient(t *task, topics []string) (cl *kgo.Client, instance string, err error) {
	j := rt.j
	opts := append([]kgo.Opt(nil), j.cfg.clientOpts...)
	opts = append(opts,
		kgo.ConsumerGroup(j.Group()),
		kgo.ConsumeTopics(topics...),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(250*time.Millisecond),
		kgo.ClientID(fmt.Sprintf("kdeck-connect-%s-%d", j.name, t.id)),
	)
	if j.cfg.member != "" {
		instance = fmt.Sprintf("%s-%d-%s", j.name, t.id, j.cfg.member)
		opts = append(opts, kgo.InstanceID(instance))
	}
	if j.cfg.session > 0 {
		opts = append(opts, kgo.SessionTimeout(j.cfg.session))
	}
	cl, err = kgo.NewClient(opts...)
	if err != nil {
		return nil, "", err
	}
	return cl, instance, nil
}

// leaveSinkGroup leaves the sink group and closes cl, within 5 s. A static
// member (instance != "") is also removed by its instance id, since its
// Close does not leave.
func (rt *runtime) leaveSinkGroup(t *task, cl *kgo.Client, instance string) {
	j := rt.j
	cl.AllowRebalance()
	lctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = cl.LeaveGroupContext(lctx)
	cl.Close()
	if instance != "" {
		// A static member's Close does not leave: leave by instance id
		// so the group hands its partitions over at once.
		if _, err := kadm.NewClient(rt.producer).LeaveGroup(lctx, kadm.LeaveGroup(j.Group()).InstanceIDs(instance).Reason("kdeck sink task stopping")); err != nil {
			j.log.Warn("could not leave the sink group; others take the task's partitions after the session timeout", "task", t.id, "err", err)
		}
	}
}

// sinkFetchErrors counts and logs the fetch errors of one poll (not those of
// a cancelled context) and returns the one that ends the attempt: the
// client being closed. Other fetch errors are retried by the client.
func (rt *runtime) sinkFetchErrors(t *task, fs kgo.Fetches) error {
	var fatal error
	fs.EachError(func(topic string, p int32, err error) {
		if errors.Is(err, context.Canceled) {
			return
		}
		t.errs.Add(1)
		rt.j.log.Warn("fetch error", "task", t.id, "topic", topic, "partition", p, "err", err)
		if errors.Is(err, kgo.ErrClientClosed) {
			fatal = err
		}
	})
	return fatal
}

// commitSinkBatch commits the offsets of a batch that was put, flushed and
// dead-lettered, retrying for up to 30 s.
func (rt *runtime) commitSinkBatch(t *task, cl *kgo.Client, recs []*kgo.Record) error {
	cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := rt.withRetry(cctx, t, "commit", func() error {
		if err := cl.CommitRecords(cctx, recs...); err != nil {
			return Retriable(err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("committing offsets of group %s: %w", rt.j.Group(), err)
	}
	return nil
}

// sinkBatch converts, transforms, puts and flushes one batch, with failed
// records sent to the DLQ (acknowledged before it returns).
func (rt *runtime) sinkBatch(ctx context.Context, t *task, sk SinkTask, recs []*kgo.Record) error {
	j := rt.j
	var dlq []*kgo.Record
	reject := func(kr *kgo.Record, stage, class string, err error) error {
		t.errs.Add(1)
		if !j.tolerateAll {
			return fmt.Errorf("record %s/%d@%d failed in %s: %w", kr.Topic, kr.Partition, kr.Offset, stage, err)
		}
		if j.dlqTopic != "" {
			t.dlq.Add(1)
			dlq = append(dlq, sinkDLQRecord(j, t.id, kr, stage, class, err))
		}
		return nil
	}
	good := make([]*Record, 0, len(recs))
	origin := make([]*kgo.Record, 0, len(recs))
	var bytesIn int64
	for _, kr := range recs {
		bytesIn += int64(len(kr.Key) + len(kr.Value))
		r, stage, class, err := rt.fromKafka(kr)
		if err != nil {
			if rerr := reject(kr, stage, class, err); rerr != nil {
				return rerr
			}
			continue
		}
		if r == nil {
			continue
		}
		good = append(good, r)
		origin = append(origin, kr)
	}
	t.recsIn.Add(int64(len(recs)))
	t.bytesIn.Add(bytesIn)
	t.touch()
	for len(good) > 0 {
		err := rt.withRetry(ctx, t, "put", func() error { return sk.Put(ctx, good) })
		var re *RecordError
		if errors.As(err, &re) && re.Index >= 0 && re.Index < len(good) {
			if rerr := reject(origin[re.Index], StageTaskPut, j.plugin.Name, re.Err); rerr != nil {
				return rerr
			}
			// Put the records after the bad one again; the ones before
			// were accepted.
			good, origin = good[re.Index+1:], origin[re.Index+1:]
			continue
		}
		if err != nil {
			return fmt.Errorf("put: %w", err)
		}
		break
	}
	if err := rt.withRetry(ctx, t, "flush", func() error { return sk.Flush(ctx) }); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	var outBytes int64
	for _, kr := range origin {
		outBytes += int64(len(kr.Value))
	}
	t.recsOut.Add(int64(len(recs) - len(dlq)))
	t.bytesOut.Add(outBytes)
	if len(dlq) > 0 {
		dctx, cancel := context.WithTimeout(ctx, max(j.retryTimeout, 5*time.Second))
		err := rt.producer.ProduceSync(dctx, dlq...).FirstErr()
		cancel()
		if err != nil {
			return fmt.Errorf("dead-letter topic %s is not writable: %w", j.dlqTopic, err)
		}
	}
	return nil
}

// fromKafka converts and transforms a consumed record; nil when a
// transform dropped it.
func (rt *runtime) fromKafka(kr *kgo.Record) (*Record, string, string, error) {
	j := rt.j
	k, err := convertFrom(j.keyC, kr.Topic, kr.Key)
	if err != nil {
		return nil, StageKeyConverter, converterName(j, FieldKeyConverter), err
	}
	v, err := convertFrom(j.valC, kr.Topic, kr.Value)
	if err != nil {
		return nil, StageValueConverter, converterName(j, FieldValueConverter), err
	}
	r := &Record{Topic: kr.Topic, Partition: kr.Partition, Offset: kr.Offset, Key: k, Value: v, Timestamp: kr.Timestamp}
	for _, h := range kr.Headers {
		r.Headers = append(r.Headers, Header{Key: h.Key, Value: h.Value})
	}
	out, tname, err := j.chain.apply(r)
	if err != nil {
		return nil, StageTransformation, tname, err
	}
	return out, "", "", nil
}

func converterName(j *Job, field string) string {
	if n := j.p.String(field); n != "" {
		return n
	}
	if field == FieldKeyConverter && j.plugin.KeyConverter != "" {
		return j.plugin.KeyConverter
	}
	if field == FieldValueConverter && j.plugin.ValueConverter != "" {
		return j.plugin.ValueConverter
	}
	return ConverterJSON
}
