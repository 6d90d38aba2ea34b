package connect

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// offsetTracker decides which source offsets may be saved: per source
// partition, the offset of the last record such that it and every record
// before it were acknowledged by Kafka (or filtered, or acknowledged in the
// dead-letter topic). Records are tracked per poll batch and partition, so
// the cost is one entry per batch rather than per record.
type offsetTracker struct {
	mu    sync.Mutex
	parts map[string]*partTrack
}

type partTrack struct {
	partition map[string]any
	queue     []*pendingBatch
	saveable  map[string]any // nil until something is acknowledged
	dirty     bool
}

// pendingBatch is the records of one poll batch for one source partition:
// offset is the last one's, remaining counts unacknowledged records plus a
// hold released when the batch is fully handed to the producer.
type pendingBatch struct {
	offset    map[string]any
	remaining atomic.Int64
	done      bool
}

func newOffsetTracker() *offsetTracker { return &offsetTracker{parts: map[string]*partTrack{}} }

// begin starts a batch of a partition, holding it open.
func (o *offsetTracker) begin(part map[string]any, key string) (*pendingBatch, *partTrack) {
	o.mu.Lock()
	defer o.mu.Unlock()
	pt := o.parts[key]
	if pt == nil {
		pt = &partTrack{partition: part}
		o.parts[key] = pt
	}
	b := &pendingBatch{}
	b.remaining.Store(1)
	pt.queue = append(pt.queue, b)
	return b, pt
}

// release drops one count of b and advances pt when b is complete.
func (o *offsetTracker) release(pt *partTrack, b *pendingBatch) {
	if b.remaining.Add(-1) != 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	b.done = true
	n := 0
	for n < len(pt.queue) && pt.queue[n].done {
		pt.saveable, pt.dirty = pt.queue[n].offset, true
		n++
	}
	if n > 0 {
		pt.queue = append(pt.queue[:0], pt.queue[n:]...)
	}
}

// take returns the offsets that changed since the last take.
func (o *offsetTracker) take() []SourceOffset {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []SourceOffset
	for _, pt := range o.parts {
		if pt.dirty {
			out = append(out, SourceOffset{Partition: pt.partition, Offset: pt.saveable})
			pt.dirty = false
		}
	}
	return out
}

// untake marks offsets dirty again after a failed save.
func (o *offsetTracker) untake(offs []SourceOffset) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, so := range offs {
		if pt := o.parts[partitionKey(so.Partition)]; pt != nil {
			pt.dirty = true
		}
	}
}

// runSource runs one attempt of a source task.
func (rt *runtime) runSource(ctx context.Context, t *task) (err error) {
	j := rt.j
	st, err := rt.startSourceTask(ctx, t)
	if err != nil {
		return err
	}
	t.setDetailer(st)
	defer t.setDetailer(nil)
	tr := newOffsetTracker()
	rej := &rejections{}
	var prodErr atomic.Pointer[error]
	onErr := func(e error) {
		prodErr.CompareAndSwap(nil, &e)
	}
	// Records are produced under their own context, cancelled only after
	// the stop's flush: cancelling ctx must not fail buffered records.
	pctx, pcancel := context.WithCancel(context.Background())
	defer func() {
		err = rt.stopSource(t, st, tr, rej, onErr, pcancel, err)
		if err == nil {
			if p := prodErr.Load(); p != nil {
				err = *p
			}
		}
	}()
	lastSave := time.Now()
	for {
		if p := prodErr.Load(); p != nil {
			return *p
		}
		rt.deadLetterRejected(pctx, t, tr, rej, onErr)
		if time.Since(lastSave) >= j.flushEvery {
			if err := rt.saveSourceOffsets(ctx, st, tr); err != nil {
				return fmt.Errorf("saving source offsets: %w", err)
			}
			lastSave = time.Now()
		}
		if j.paused.Load() {
			j.waitResumed(ctx, j.flushEvery)
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		var recs []*Record
		err := rt.withRetry(ctx, t, "poll", func() error {
			var perr error
			recs, perr = st.Poll(ctx)
			return perr
		})
		if ctx.Err() != nil {
			return nil // what was read is not saved: the next run reads it again
		}
		if err != nil && !errors.Is(err, ErrEndOfInput) {
			return fmt.Errorf("poll: %w", err)
		}
		if perr := rt.produceBatch(pctx, t, tr, rej, recs, onErr); perr != nil {
			return perr
		}
		if errors.Is(err, ErrEndOfInput) {
			return ErrEndOfInput
		}
	}
}

// startSourceTask builds source task t and starts it from the offsets the
// job's store saved.
func (rt *runtime) startSourceTask(ctx context.Context, t *task) (SourceTask, error) {
	j := rt.j
	st, err := j.source.NewTask(t.conf)
	if err != nil {
		return nil, fmt.Errorf("building task %d: %w", t.id, err)
	}
	saved, err := j.cfg.store.Load(ctx, j.name)
	if err != nil {
		return nil, fmt.Errorf("loading source offsets: %w", err)
	}
	tc := &taskContext{id: t.id, name: j.name, offsets: map[string]map[string]any{}}
	for _, so := range saved {
		tc.offsets[partitionKey(so.Partition)] = so.Offset
	}
	if err := st.Start(ctx, tc); err != nil {
		return nil, fmt.Errorf("starting task %d: %w", t.id, err)
	}
	return st, nil
}

// saveSourceOffsets saves the offsets Kafka acknowledged since the last save
// and tells the task (SourceCommitter); on failure they stay to be saved
// next time.
func (rt *runtime) saveSourceOffsets(ctx context.Context, st SourceTask, tr *offsetTracker) error {
	offs := tr.take()
	if len(offs) == 0 {
		return nil
	}
	if err := rt.j.cfg.store.Save(ctx, rt.j.name, offs); err != nil {
		tr.untake(offs)
		return err
	}
	if sc, ok := st.(SourceCommitter); ok {
		sc.Committed(offs)
	}
	return nil
}

// stopSource ends an attempt of source task t gracefully, within 10 s:
// flush what was produced (dead-lettering records Kafka rejected during the
// flush), cancel the produce context, save what Kafka acknowledged (a failed
// record blocks its partition's offset) and close the task. It returns err,
// or the saving error when err is nil.
func (rt *runtime) stopSource(t *task, st SourceTask, tr *offsetTracker, rej *rejections, onErr func(error), pcancel context.CancelFunc, err error) error {
	j := rt.j
	fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ferr := rt.producer.Flush(fctx); ferr != nil {
		j.log.Warn("flush at stop did not finish", "task", t.id, "err", ferr)
	}
	if rej.pending() {
		// Records Kafka rejected during the flush: dead-letter them
		// too, so that their offsets may be saved.
		rt.deadLetterRejected(fctx, t, tr, rej, onErr)
		if ferr := rt.producer.Flush(fctx); ferr != nil {
			j.log.Warn("flush at stop did not finish", "task", t.id, "err", ferr)
		}
	}
	pcancel()
	if serr := rt.saveSourceOffsets(fctx, st, tr); serr != nil && err == nil {
		err = fmt.Errorf("saving source offsets: %w", serr)
	}
	if cerr := st.Close(); cerr != nil {
		j.log.Warn("closing task", "task", t.id, "err", cerr)
	}
	return err
}

// batchPart is the open pending batch of one source partition within one
// poll batch, with the promise its records are produced with.
type batchPart struct {
	b       *pendingBatch
	pt      *partTrack
	promise func(*kgo.Record, error) // one per batch, not per record
}

// produceBatch transforms, converts and produces one poll batch, tracking
// its offsets; errors go to the DLQ or fail the task.
func (rt *runtime) produceBatch(ctx context.Context, t *task, tr *offsetTracker, rej *rejections, recs []*Record, onErr func(error)) error {
	if len(recs) == 0 {
		return nil
	}
	j := rt.j
	t.recsIn.Add(int64(len(recs)))
	t.touch()
	pool := make([]kgo.Record, len(recs))
	failed := rt.produceFailed(rej, pool, recs, onErr)
	untracked := untrackedPromise(t, failed)
	var lastKey string
	var lastPart map[string]any
	opened := map[string]batchPart{}
	var firstErr error
	for i, r := range recs {
		var ob batchPart
		tracked := r.SourcePartition != nil
		if tracked {
			// Tasks reuse one map per source partition: avoid
			// re-encoding it for every record.
			key := lastKey
			if lastPart == nil || reflect.ValueOf(lastPart).UnsafePointer() != reflect.ValueOf(r.SourcePartition).UnsafePointer() {
				key = partitionKey(r.SourcePartition)
			}
			lastPart = r.SourcePartition
			o, ok := opened[key]
			if !ok {
				o = openBatchPart(t, tr, r.SourcePartition, key, failed)
				opened[key] = o
			}
			if r.SourceOffset != nil {
				o.b.offset = r.SourceOffset
			}
			ob, lastKey = o, key
		}
		origTopic := r.Topic
		out, stage, class, err := rt.prepare(r, &pool[i])
		if err != nil {
			t.errs.Add(1)
			if !j.tolerateAll {
				firstErr = fmt.Errorf("record for %s (source %v at %v) failed in %s: %w", origTopic, r.SourcePartition, r.SourceOffset, stage, err)
				break
			}
			if j.dlqTopic != "" {
				rt.deadLetterUnprepared(ctx, t, tr, r, origTopic, stage, class, err, tracked, ob, onErr)
			}
			continue
		}
		if out == nil {
			continue // filtered: counts as done
		}
		if tracked {
			ob.b.remaining.Add(1)
			rt.producer.Produce(ctx, out, ob.promise)
		} else {
			rt.producer.Produce(ctx, out, untracked)
		}
	}
	for _, o := range opened {
		if firstErr == nil {
			tr.release(o.pt, o.b)
		}
	}
	return firstErr
}

// produceFailed returns the handler of a record of one poll batch that
// Kafka did not take: a rejected one waits for the task's goroutine to
// dead-letter it (its batch is released there) or fails the task
// permanently; any other error fails it. pool holds the batch's produced
// records, recs its source records, index for index.
func (rt *runtime) produceFailed(rej *rejections, pool []kgo.Record, recs []*Record, onErr func(error)) func(*kgo.Record, error, *partTrack, *pendingBatch) {
	j := rt.j
	return func(r *kgo.Record, perr error, pt *partTrack, b *pendingBatch) {
		src := sourceOf(r, pool, recs)
		switch {
		case !rejected(perr):
			onErr(fmt.Errorf("producing to %s: %w", r.Topic, perr))
		case j.tolerateAll:
			rej.add(rejection{rec: r, src: src, err: perr, pt: pt, b: b})
		default:
			re := &RejectedRecordError{Topic: r.Topic, Size: len(r.Key) + len(r.Value), Err: perr}
			if src != nil {
				re.SourcePartition, re.SourceOffset = src.SourcePartition, src.SourceOffset
			}
			onErr(re)
		}
	}
}

// untrackedPromise returns the promise of records without a source
// partition: it counts what Kafka took and hands the rest to failed.
func untrackedPromise(t *task, failed func(*kgo.Record, error, *partTrack, *pendingBatch)) func(*kgo.Record, error) {
	return func(r *kgo.Record, perr error) {
		if perr != nil {
			failed(r, perr, nil, nil)
			return
		}
		t.recsOut.Add(1)
		t.bytesOut.Add(int64(len(r.Key) + len(r.Value)))
	}
}

// openBatchPart begins the pending batch of source partition part (encoded
// as key) within one poll batch, with its promise: it counts what Kafka
// took and releases the batch's hold per record, and hands the rest to
// failed.
func openBatchPart(t *task, tr *offsetTracker, part map[string]any, key string, failed func(*kgo.Record, error, *partTrack, *pendingBatch)) batchPart {
	b, pt := tr.begin(part, key)
	return batchPart{b: b, pt: pt, promise: func(r *kgo.Record, perr error) {
		if perr != nil {
			failed(r, perr, pt, b)
			return
		}
		t.recsOut.Add(1)
		t.bytesOut.Add(int64(len(r.Key) + len(r.Value)))
		tr.release(pt, b)
	}}
}

// deadLetterUnprepared produces source record r, which failed in stage
// (class names the transform or converter), to the dead-letter topic. A
// tracked record holds its partition's batch ob until the dead-letter topic
// acknowledged it; a dead-letter topic that is not writable fails the task.
func (rt *runtime) deadLetterUnprepared(ctx context.Context, t *task, tr *offsetTracker, r *Record, origTopic, stage, class string, err error, tracked bool, ob batchPart, onErr func(error)) {
	j := rt.j
	t.dlq.Add(1)
	d := sourceDLQRecord(j, t.id, r, origTopic, stage, class, err)
	if tracked {
		ob.b.remaining.Add(1)
	}
	rt.producer.Produce(ctx, d, func(_ *kgo.Record, perr error) {
		if perr != nil {
			onErr(fmt.Errorf("dead-letter topic %s is not writable: %w", j.dlqTopic, perr))
			return
		}
		if tracked {
			tr.release(ob.pt, ob.b)
		}
	})
}

// rejected reports whether err is Kafka refusing one record for what it is
// (too large, invalid, corrupt, a bad timestamp): a non-retriable error that
// producing the record again cannot heal. Under errors_tolerance = "all"
// such a record goes to the dead-letter topic, as Kafka Connect 3.2+
// (KIP-779) tolerates producer errors; under "none" it fails the task,
// permanently (RejectedRecordError).
func rejected(err error) bool {
	for _, e := range []error{kerr.MessageTooLarge, kerr.RecordListTooLarge, kerr.InvalidRecord, kerr.CorruptMessage, kerr.InvalidTimestamp} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// RejectedRecordError is the error of a source task whose record Kafka
// rejected under errors_tolerance = "none". It is permanent (Permanent
// reports true): restarting would produce the records before it again and
// fail on it again.
type RejectedRecordError struct {
	Topic           string
	SourcePartition map[string]any
	SourceOffset    map[string]any
	Size            int
	Err             error
}

// Error names the record and what to do.
func (e *RejectedRecordError) Error() string {
	return fmt.Sprintf("Kafka rejected a record of %d bytes for %s (source %v at %v): %v; set errors_tolerance = \"all\" (with dlq_topic) to dead-letter such records and go on, or raise the topic's max.message.bytes", e.Size, e.Topic, e.SourcePartition, e.SourceOffset, e.Err)
}

// Unwrap returns Kafka's error.
func (e *RejectedRecordError) Unwrap() error { return e.Err }

// Permanent reports true.
func (e *RejectedRecordError) Permanent() bool { return true }

// rejection is a record Kafka rejected, waiting to be dead-lettered by the
// task's goroutine (promises must not block on producing).
type rejection struct {
	rec *kgo.Record
	src *Record // nil when not found
	err error
	pt  *partTrack // nil for untracked records
	b   *pendingBatch
}

// rejections collects rejected records from promises; add never blocks.
type rejections struct {
	mu   sync.Mutex
	list []rejection
}

func (r *rejections) add(x rejection) {
	r.mu.Lock()
	r.list = append(r.list, x)
	r.mu.Unlock()
}

func (r *rejections) take() []rejection {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.list
	r.list = nil
	return out
}

func (r *rejections) pending() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.list) > 0
}

// sourceOf finds the source record r was made from (error path only).
func sourceOf(r *kgo.Record, pool []kgo.Record, recs []*Record) *Record {
	for i := range pool {
		if &pool[i] == r {
			return recs[i]
		}
	}
	return nil
}

// deadLetterRejected writes the rejected records to the dead-letter topic
// (without their value when it was too large) and releases their offsets
// once it acknowledged them; without a dead-letter topic they are counted
// and skipped.
func (rt *runtime) deadLetterRejected(ctx context.Context, t *task, tr *offsetTracker, rej *rejections, onErr func(error)) {
	j := rt.j
	for _, x := range rej.take() {
		t.errs.Add(1)
		j.log.Warn("Kafka rejected a record; tolerated", "task", t.id, "topic", x.rec.Topic, "err", x.err)
		release := func() {
			if x.pt != nil {
				tr.release(x.pt, x.b)
			}
		}
		if j.dlqTopic == "" {
			release()
			continue
		}
		t.dlq.Add(1)
		src := x.src
		if src == nil {
			src = &Record{}
		}
		d := sourceDLQRecord(j, t.id, &Record{Key: x.rec.Key, Value: x.rec.Value, SourcePartition: src.SourcePartition, SourceOffset: src.SourceOffset, Timestamp: x.rec.Timestamp}, x.rec.Topic, StageKafkaProduce, "producer", x.err)
		if errors.Is(x.err, kerr.MessageTooLarge) || errors.Is(x.err, kerr.RecordListTooLarge) {
			d.Value = nil
			d.Headers = append(d.Headers, kgo.RecordHeader{Key: HeaderErrValueOmitted, Value: []byte(strconv.Itoa(len(x.rec.Value)))})
		}
		rt.producer.Produce(ctx, d, func(_ *kgo.Record, perr error) {
			if perr != nil {
				onErr(fmt.Errorf("dead-letter topic %s is not writable: %w", j.dlqTopic, perr))
				return
			}
			release()
		})
	}
}

// prepare runs the transforms and converters of a source record. A nil
// record with a nil error means the record was filtered out.
func (rt *runtime) prepare(r *Record, kr *kgo.Record) (*kgo.Record, string, string, error) {
	j := rt.j
	r, tname, err := j.chain.apply(r)
	if err != nil {
		return nil, StageTransformation, tname, err
	}
	if r == nil {
		return nil, "", "", nil
	}
	k, err := convertTo(j.keyC, r.Topic, r.Key)
	if err != nil {
		return nil, StageKeyConverter, converterName(j, FieldKeyConverter), err
	}
	v, err := convertTo(j.valC, r.Topic, r.Value)
	if err != nil {
		return nil, StageValueConverter, converterName(j, FieldValueConverter), err
	}
	*kr = kgo.Record{Topic: r.Topic, Key: k, Value: v, Timestamp: r.Timestamp}
	if r.Partition >= 0 {
		kr.Partition = r.Partition
	}
	if len(r.Headers) > 0 {
		kr.Headers = make([]kgo.RecordHeader, len(r.Headers))
		for i, h := range r.Headers {
			kr.Headers[i] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
		}
	}
	return kr, "", "", nil
}
