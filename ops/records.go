package ops

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/schema"
)

// ReadRecords implements Service. Without Follow it stops at the log end
// offsets seen when it starts; with Count it stops after that many records.
func (l *Local) ReadRecords(ctx context.Context, cluster string, req ReadRequest, fn func(Record) error) error {
	if req.Count < 0 {
		return invalidf("the record count must not be negative, got %d", req.Count)
	}
	c, err := l.client(cluster)
	if err != nil {
		return err
	}
	dec, err := l.decoderFor(cluster, req)
	if err != nil {
		return err
	}
	td, err := l.DescribeTopic(ctx, cluster, req.Topic)
	if err != nil {
		return err
	}
	offsets, remaining, err := l.readStarts(ctx, c, req, td)
	if err != nil {
		return err
	}
	if !req.Follow && len(remaining) == 0 {
		return nil
	}
	opts, err := ClientOpts(c.cfg, l.log)
	if err != nil {
		return err
	}
	opts = append(opts,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{req.Topic: offsets}),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()),
		kgo.FetchMaxWait(250*time.Millisecond),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return l.err(c, err)
	}
	defer cl.Close()
	return l.consumeRecords(ctx, c, cl, req, dec, remaining, fn)
}

// readStarts returns the offset to start each selected partition from and,
// without Follow, the partitions still short of the end offset seen at
// start (with that end offset).
func (l *Local) readStarts(ctx context.Context, c *clusterClient, req ReadRequest, td TopicDetail) (map[int32]kgo.Offset, map[int32]int64, error) {
	parts := map[int32]PartitionDetail{}
	for _, p := range td.Partitions {
		parts[p.Partition] = p
	}
	sel := req.Partitions
	if len(sel) == 0 {
		for _, p := range td.Partitions {
			sel = append(sel, p.Partition)
		}
	}
	var after map[int32]int64 // FromTime: first offset at or after the time
	if req.From == FromTime {
		lo, err := c.adm.ListOffsetsAfterMilli(ctx, req.Time.UnixMilli(), req.Topic)
		if err != nil && !isShardErr(err) {
			return nil, nil, l.err(c, err)
		}
		after = map[int32]int64{}
		lo.Each(func(o kadm.ListedOffset) {
			if o.Err == nil {
				after[o.Partition] = o.Offset
			}
		})
	}
	offsets := map[int32]kgo.Offset{}
	// remaining tracks, without Follow, the partitions still short of the
	// end offset seen at start.
	remaining := map[int32]int64{}
	for _, p := range sel {
		pd, ok := parts[p]
		if !ok {
			return nil, nil, invalidf("topic %q has no partition %d (it has %d partitions)", req.Topic, p, len(td.Partitions))
		}
		var o kgo.Offset
		start := pd.LogStartOffset
		switch req.From {
		case FromEarliest:
			o = kgo.NewOffset().AtStart()
		case FromLatest:
			o = kgo.NewOffset().AtEnd()
			start = pd.LogEndOffset
		case FromOffset:
			if req.Offset < 0 {
				return nil, nil, invalidf("offset %d is negative: use --from -N for the last N records", req.Offset)
			}
			at := min(max(req.Offset, pd.LogStartOffset), pd.LogEndOffset)
			o, start = kgo.NewOffset().At(at), at
		case FromTail:
			at := max(pd.LogEndOffset-req.Offset, pd.LogStartOffset)
			o, start = kgo.NewOffset().At(at), at
		case FromTime:
			at, ok := after[p]
			if !ok || at < 0 {
				at = pd.LogEndOffset
			}
			o, start = kgo.NewOffset().At(at), at
		}
		offsets[p] = o
		if !req.Follow && pd.LogEndOffset > start && pd.LogEndOffset > pd.LogStartOffset {
			remaining[p] = pd.LogEndOffset
		}
	}
	return offsets, remaining, nil
}

// consumeRecords polls cl and hands fn each record, decoded with dec when
// set, until ctx ends (Follow), every partition reached its end in
// remaining (no Follow) or Count records were read.
func (l *Local) consumeRecords(ctx context.Context, c *clusterClient, cl *kgo.Client, req ReadRequest, dec *schema.Decoder, remaining map[int32]int64, fn func(Record) error) error {
	n := 0
	for {
		if !req.Follow && len(remaining) == 0 {
			return nil
		}
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			if req.Follow {
				return nil
			}
			return l.err(c, ctx.Err())
		}
		var stop error
		fs.EachError(func(t string, p int32, err error) {
			if stop == nil && !errors.Is(err, context.Canceled) {
				stop = l.err(c, fmt.Errorf("reading %s/%d: %w", t, p, err))
			}
		})
		if stop != nil {
			return stop
		}
		for it := fs.RecordIter(); !it.Done(); {
			r := it.Next()
			if !req.Follow {
				end, ok := remaining[r.Partition]
				if !ok || r.Offset >= end {
					continue
				}
				if r.Offset+1 >= end {
					delete(remaining, r.Partition)
				}
			}
			rec := toRecord(r)
			if dec != nil {
				decodeRecord(ctx, dec, &rec)
			}
			if err := fn(rec); err != nil {
				return err
			}
			n++
			if req.Count > 0 && n >= req.Count {
				return nil
			}
		}
	}
}

func toRecord(r *kgo.Record) Record {
	rec := Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp, Key: r.Key, Value: r.Value}
	for _, h := range r.Headers {
		rec.Headers = append(rec.Headers, Header{Key: h.Key, Value: h.Value})
	}
	return rec
}

// Produce implements Service: records are produced asynchronously (batched
// by franz-go) and Produce returns once all are acknowledged.
func (l *Local) Produce(ctx context.Context, cluster, topic string, records iter.Seq2[ProduceRecord, error]) (ProduceResult, error) {
	if err := l.checkWritable(ctx, "produce to "+topic); err != nil {
		return ProduceResult{}, err
	}
	c, err := l.client(cluster)
	if err != nil {
		return ProduceResult{}, err
	}
	opts, err := ClientOpts(c.cfg, l.log)
	if err != nil {
		return ProduceResult{}, err
	}
	opts = append(opts, kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation(), kgo.ProducerLinger(5*time.Millisecond), kgo.RecordPartitioner(manualOrKeyPartitioner{kgo.StickyKeyPartitioner(nil)}))
	// A record that cannot be delivered fails after three request timeouts
	// (the brokers went away mid-stream) instead of being retried forever.
	reqTimeout := c.cfg.RequestTimeout.Or(DefaultRequestTimeout)
	opts = append(opts, kgo.RecordDeliveryTimeout(3*reqTimeout))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return ProduceResult{}, l.err(c, err)
	}
	defer cl.Close()
	// Unreachable brokers answer within the request timeout, before any
	// input is read, as every other command does.
	pctx, cancel := l.reqCtx(ctx, c)
	err = cl.Ping(pctx)
	cancel()
	if err != nil {
		return ProduceResult{}, l.err(c, err)
	}
	var res ProduceResult
	var firstErr error
	errc := make(chan error, 1)
	var acked, bytes atomic.Int64
	for pr, err := range records {
		if err != nil {
			firstErr = err
			break
		}
		rec := &kgo.Record{Key: pr.Key, Value: pr.Value, Partition: pr.Partition}
		for _, h := range pr.Headers {
			rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
		}
		size := int64(len(pr.Key) + len(pr.Value))
		cl.Produce(ctx, rec, func(r *kgo.Record, err error) {
			if err != nil {
				select {
				case errc <- err:
				default:
				}
				return
			}
			acked.Add(1)
			bytes.Add(size)
		})
		select {
		case err := <-errc:
			firstErr = err
		default:
		}
		if firstErr != nil {
			break
		}
	}
	if err := cl.Flush(ctx); err != nil && firstErr == nil {
		firstErr = err
	}
	select {
	case err := <-errc:
		if firstErr == nil {
			firstErr = err
		}
	default:
	}
	res.Records, res.Bytes = acked.Load(), bytes.Load()
	if firstErr != nil {
		return res, l.err(c, firstErr)
	}
	return res, nil
}

// manualOrKeyPartitioner sends a record with Partition >= 0 to that partition
// and partitions the others as Kafka's default partitioner does (murmur2 of
// the key, sticky for records without one).
type manualOrKeyPartitioner struct{ kgo.Partitioner }

func (p manualOrKeyPartitioner) ForTopic(t string) kgo.TopicPartitioner {
	return manualOrKeyTopic{p.Partitioner.ForTopic(t)}
}

type manualOrKeyTopic struct{ kgo.TopicPartitioner }

func (p manualOrKeyTopic) RequiresConsistency(r *kgo.Record) bool {
	return r.Partition >= 0 || p.TopicPartitioner.RequiresConsistency(r)
}

func (p manualOrKeyTopic) Partition(r *kgo.Record, n int) int {
	if r.Partition >= 0 {
		return int(r.Partition)
	}
	return p.TopicPartitioner.Partition(r, n)
}

func (p manualOrKeyTopic) OnNewBatch() {
	if o, ok := p.TopicPartitioner.(kgo.TopicPartitionerOnNewBatch); ok {
		o.OnNewBatch()
	}
}
