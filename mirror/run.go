package mirror

// Why this file is long (~610 lines): it is one flow's run, the poll loop,
// delivery, acknowledgement and commit path, and the housekeeping that
// reads the same partition state under the same locks (Flow.mu, then
// partition.mu); kept in one file so the lock order reads in one place
// (docs/mirror.md, "Locks").

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kslog"
)

// run is the state of one Run: its clients and goroutines.
type run struct {
	f          *Flow
	cfg        Config
	src, tgt   *kgo.Client
	aux        *kgo.Client // target, not transactional: offset syncs and checkpoints
	sadm, tadm *kadm.Client

	failed  atomic.Bool
	failMu  sync.Mutex
	failErr error
	cancel  context.CancelFunc // stops the loop
	pcancel context.CancelFunc // fails records still waiting for buffer space

	produceSince atomic.Int64 // unix nanos when a blocking Produce began, 0 when none
	clock        atomic.Int64 // unix nanos, updated every second by housekeeping (a cheap clock)
	progress     map[topicPartition]int64
	dctx         context.Context // owned by the loop
	dctxAt       time.Time
	dcancels     []deliveryCancel
	outs         []*kgo.Record            // reused by the loop
	prom         func(*kgo.Record, error) // r.promise, bound once
	identity     bool                     // NamingIdentity
	origin       []byte                   // OriginHeader value of records first written to the source
	txnErr       atomic.Pointer[error]
}

// fail records the first fatal error and stops the loop. Nothing is committed
// after it.
func (r *run) fail(err error) {
	r.failMu.Lock()
	first := r.failErr == nil
	if first {
		r.failErr = err
		r.failed.Store(true)
	}
	r.failMu.Unlock()
	if first {
		r.cancel()
	}
}

func (r *run) err() error {
	r.failMu.Lock()
	defer r.failMu.Unlock()
	return r.failErr
}

func (f *Flow) clients() (*kgo.Client, *kgo.Client, error) {
	c := f.cfg
	lg := kgo.WithLogger(kslog.New(f.log))
	iso := kgo.ReadCommitted()
	if c.Consumer.Isolation == "read_uncommitted" {
		iso = kgo.ReadUncommitted()
	}
	so := append(append([]kgo.Opt{lg}, f.source...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(iso),
		kgo.FetchMaxBytes(c.Consumer.FetchMaxBytes),
		kgo.FetchMaxPartitionBytes(c.Consumer.FetchMaxPartitionBytes),
		kgo.FetchMaxWait(c.Consumer.FetchMaxWait),
		kgo.MaxConcurrentFetches(c.Consumer.MaxConcurrentFetches),
	)
	src, err := kgo.NewClient(so...)
	if err != nil {
		return nil, nil, fmt.Errorf("mirror %q: source client: %w", c.Name, err)
	}
	codec, _ := compressionCodec(c.Producer.Compression)
	to := append(append([]kgo.Opt{lg}, f.target...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(c.Producer.Linger),
		kgo.ProducerBatchMaxBytes(c.Producer.BatchMaxBytes),
		kgo.ProducerBatchCompression(codec...),
		kgo.MaxBufferedRecords(c.Producer.MaxBufferedRecords),
		kgo.MaxBufferedBytes(c.Producer.MaxBufferedBytes),
		// No kgo.RecordDeliveryTimeout: franz-go measures it from the
		// record's timestamp, which a mirror preserves (old records would
		// time out at once). The budget is enforced by deliveryCtx instead.
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	)
	if c.ExactlyOnce {
		to = append(to, kgo.TransactionalID(c.TransactionalID), kgo.TransactionTimeout(time.Minute))
	}
	tgt, err := kgo.NewClient(to...)
	if err != nil {
		src.Close()
		return nil, nil, fmt.Errorf("mirror %q: target client: %w", c.Name, err)
	}
	return src, tgt, nil
}

func (f *Flow) run(ctx context.Context) error {
	src, tgt, err := f.clients()
	if err != nil {
		return err
	}
	aux, err := kgo.NewClient(append(append([]kgo.Opt{kgo.WithLogger(kslog.New(f.log))}, f.target...), kgo.ProducerLinger(10*time.Millisecond))...)
	if err != nil {
		src.Close()
		tgt.Close()
		return fmt.Errorf("mirror %q: target client: %w", f.cfg.Name, err)
	}
	r := &run{f: f, cfg: f.cfg, src: src, tgt: tgt, aux: aux, sadm: kadm.NewClient(src), tadm: kadm.NewClient(aux)}
	r.prom = r.promise
	r.identity, r.origin = f.cfg.Naming == NamingIdentity, []byte(f.cfg.Source)
	defer src.Close()
	defer aux.Close()
	defer tgt.Close() // closed first (LIFO): fails what is still buffered, after a failure

	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.cancel = cancel
	pctx, pcancel := context.WithCancel(context.Background())
	defer pcancel() // also ends every delivery context
	r.pcancel = pcancel

	r.clock.Store(time.Now().UnixNano())
	if err := r.setup(lctx); err != nil {
		return err
	}

	hctx, hcancel := context.WithCancel(context.Background())
	var hk sync.WaitGroup
	hk.Add(1)
	go func() { defer hk.Done(); r.housekeep(hctx, lctx) }()

	if r.cfg.ExactlyOnce {
		r.loopTxn(lctx, pctx)
	} else {
		r.loop(lctx, pctx)
	}

	hcancel()
	hk.Wait()
	if err := r.err(); err != nil {
		return err
	}
	if !r.cfg.ExactlyOnce {
		fctx, fcancel := context.WithTimeout(context.Background(), r.cfg.ShutdownTimeout)
		ferr := tgt.Flush(fctx)
		fcancel()
		if ferr != nil {
			f.noteError(fmt.Errorf("final flush: %w", ferr))
		}
		if err := r.err(); err != nil {
			return err
		}
		cctx, ccancel := context.WithTimeout(context.Background(), f.adminTimeout)
		err := r.commit(cctx)
		ccancel()
		if err != nil {
			f.noteError(err)
		}
	}
	// The last offset syncs, their flush bounded: the run is stopping.
	fctx, fcancel := context.WithTimeout(context.Background(), f.adminTimeout)
	r.produceSyncs()
	_ = aux.Flush(fctx)
	fcancel()
	return ctx.Err()
}

// setup creates the internal topics, discovers the topics to mirror, creates
// their remote topics and starts consuming at the committed progress.
func (r *run) setup(ctx context.Context) error {
	c := r.cfg
	actx, cancel := context.WithTimeout(ctx, 3*r.f.adminTimeout)
	defer cancel()
	compact := "compact"
	for _, t := range []struct {
		adm     *kadm.Client
		topic   string
		cleanup *string
		skip    bool
	}{
		{r.sadm, HeartbeatTopic, &compact, false},
		{r.tadm, c.offsetSyncsTopic(), nil, false},
		{r.tadm, c.CheckpointsTopic(), &compact, false},
		{r.tadm, c.progressTopic(), &compact, !c.ExactlyOnce},
	} {
		if t.skip {
			continue
		}
		if err := ensureTopic(actx, t.adm, t.topic, 1, c.ReplicationFactor, map[string]*string{"cleanup.policy": t.cleanup}); err != nil {
			if t.adm == r.sadm {
				// The source may be read-only to the flow: mirror without heartbeats.
				r.f.noteError(fmt.Errorf("heartbeats disabled: %w", err))
				continue
			}
			return fmt.Errorf("mirror %q: create internal topic %s in %s: %w", c.Name, t.topic, c.Target, err)
		}
	}
	if c.ExactlyOnce {
		p, err := readProgress(actx, r.f.target, c.progressTopic())
		if err != nil {
			return fmt.Errorf("mirror %q: read progress from %s: %w", c.Name, c.Target, err)
		}
		r.progress = p
	}
	if err := r.discover(actx, true); err != nil {
		return err
	}
	if err := r.loadSyncs(actx); err != nil {
		r.f.noteError(fmt.Errorf("read offset syncs back from %s: %w", c.Target, err))
	}
	return nil
}

// loop is the at-least-once loop: fetch, forward, let promises advance the
// acknowledged positions that housekeeping commits.
func (r *run) loop(ctx, pctx context.Context) {
	for {
		fs, ok := r.poll(ctx)
		if !ok {
			return
		}
		dctx := r.deliveryCtx(pctx)
		r.produceSince.Store(time.Now().UnixNano())
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			ps := r.f.partition(fp.Topic, fp.Partition)
			if ps == nil {
				return
			}
			pc := &partCtx{Context: dctx, ps: ps}
			outs := r.outs[:0]
			// One allocation for the poll's records of this partition; it
			// is freed once their promises ran.
			slab := make([]kgo.Record, len(fp.Records))
			ps.mu.Lock()
			r.setEnd(ps, fp)
			for i, rec := range fp.Records {
				out := &slab[i]
				if !r.translate(ps, rec, out) {
					ps.skipLocked(rec.Offset)
					continue
				}
				out.Context = pc
				if ps.inflight() == 0 {
					ps.progressAt = r.clock.Load()
				}
				ps.queue = append(ps.queue, rec.Offset)
				outs = append(outs, out)
			}
			ps.mu.Unlock()
			for i, out := range outs {
				r.tgt.Produce(dctx, out, r.prom) // blocks while the producer buffer is full
				outs[i] = nil
			}
			r.outs = outs[:0]
		})
		r.produceSince.Store(0)
	}
}

// poll waits while the flow is paused, then fetches; records fetched while
// a Pause arrived are held until Resume. It reports false when ctx ended.
func (r *run) poll(ctx context.Context) (kgo.Fetches, bool) {
	for {
		select {
		case <-r.f.resumed():
		case <-ctx.Done():
			return nil, false
		}
		fs := r.src.PollRecords(ctx, r.cfg.Consumer.MaxPollRecords)
		if ctx.Err() != nil {
			return nil, false
		}
		r.fetchErrors(fs)
		if fs.NumRecords() == 0 {
			continue
		}
		select {
		case <-r.f.resumed():
			return fs, true
		case <-ctx.Done():
			return nil, false
		}
	}
}

// setEnd notes the partition's end offset from a fetch (the last stable
// offset under read_committed); the caller holds ps.mu.
func (r *run) setEnd(ps *partition, fp kgo.FetchTopicPartition) {
	ps.end = fp.HighWatermark
	if r.cfg.Consumer.Isolation != "read_uncommitted" && fp.LastStableOffset >= 0 {
		ps.end = fp.LastStableOffset
	}
}

// partCtx is the context of the records of one partition in one poll: the
// delivery deadline, and the partition the promise advances.
type partCtx struct {
	context.Context
	ps *partition
}

type deliveryCancel struct {
	at     time.Time
	cancel context.CancelFunc
}

// deliveryCtx returns the context records handed to the producer now are
// produced with: it is canceled DeliveryTimeout after it was made, which fails
// records not yet sent (the retry budget). One context serves every poll of
// the same second, so at most DeliveryTimeout/1s contexts are alive.
func (r *run) deliveryCtx(parent context.Context) context.Context {
	now := time.Now()
	if r.dctx != nil && now.Sub(r.dctxAt) < time.Second {
		return r.dctx
	}
	ctx, cancel := context.WithTimeout(parent, r.cfg.Producer.DeliveryTimeout)
	keep := r.dcancels[:0]
	for _, d := range r.dcancels {
		if now.Sub(d.at) > r.cfg.Producer.DeliveryTimeout {
			d.cancel() // expired already: release
		} else {
			keep = append(keep, d)
		}
	}
	r.dcancels = append(keep, deliveryCancel{now, cancel})
	r.dctx, r.dctxAt = ctx, now
	return ctx
}

func (r *run) fetchErrors(fs kgo.Fetches) {
	fs.EachError(func(t string, p int32, err error) {
		if errors.Is(err, context.Canceled) || errors.Is(err, kgo.ErrClientClosed) {
			return
		}
		var dl *kgo.ErrDataLoss
		if errors.As(err, &dl) {
			r.f.noteError(fmt.Errorf("source %s[%d]: %w", t, p, err))
			return
		}
		r.f.noteError(fmt.Errorf("fetch %s[%d]: %w", t, p, err))
	})
}

// translate fills out with the target record of rec, or reports it is
// skipped (identity cycle prevention).
func (r *run) translate(ps *partition, rec, out *kgo.Record) bool {
	hdrs := rec.Headers
	if r.identity {
		origin := ""
		for _, h := range rec.Headers {
			if h.Key == OriginHeader {
				origin = string(h.Value)
			}
		}
		if origin == r.cfg.Target {
			r.f.skipped.Add(1)
			return false
		}
		if origin == "" {
			hdrs = append(rec.Headers[:len(rec.Headers):len(rec.Headers)], kgo.RecordHeader{Key: OriginHeader, Value: r.origin})
		}
	}
	*out = kgo.Record{Topic: ps.remote, Partition: rec.Partition, Key: rec.Key, Value: rec.Value,
		Headers: hdrs, Timestamp: rec.Timestamp}
	return true
}

func (r *run) isHeartbeat(rec *kgo.Record) bool {
	return rec.Topic == HeartbeatTopic && string(rec.Key) == string(r.f.hbKey)
}

// skipLocked marks a record that is not mirrored as done, once every record
// before it is acknowledged; the caller holds ps.mu.
func (ps *partition) skipLocked(off int64) {
	if ps.inflight() == 0 {
		ps.acked = max(ps.acked, off+1)
	} else {
		ps.pendingSkip = off + 1
	}
}

func (ps *partition) inflight() int { return len(ps.queue) - ps.head }

// promise is the produce callback of the at-least-once loop. Promises run
// serially and in order per partition, so the partition's queue yields the
// record's source offset, and the first failure is recorded before any later
// record could advance a position.
func (r *run) promise(out *kgo.Record, err error) {
	ps := out.Context.(*partCtx).ps
	ps.mu.Lock()
	off := ps.queue[ps.head]
	ps.head++
	if ps.head == len(ps.queue) {
		ps.queue, ps.head = ps.queue[:0], 0
	} else if ps.head > 4096 && ps.head*2 > len(ps.queue) {
		ps.queue, ps.head = append(ps.queue[:0], ps.queue[ps.head:]...), 0
	}
	if err != nil {
		ps.mu.Unlock()
		r.fail(fmt.Errorf("%w: %s[%d] at source offset %d: %w", ErrDeliveryFailed, ps.topic, ps.part, off, err))
		return
	}
	if r.failed.Load() {
		ps.mu.Unlock()
		return
	}
	r.ackedLocked(ps, off, out.Offset)
	ps.mu.Unlock()
	r.f.records.Add(1)
	r.f.bytes.Add(int64(len(out.Key) + len(out.Value)))
	if ps.topic == HeartbeatTopic && string(out.Key) == string(r.f.hbKey) {
		r.f.mu.Lock()
		r.f.latency, r.f.latencyAt = time.Since(out.Timestamp), time.Now()
		r.f.mu.Unlock()
	}
}

// ackedLocked advances a partition past source offset off, mirrored at
// target offset to, and queues an offset sync every OffsetLagMax records;
// the caller holds ps.mu.
func (r *run) ackedLocked(ps *partition, off, to int64) {
	ps.progressAt = r.clock.Load()
	ps.acked = max(ps.acked, off+1)
	if ps.inflight() == 0 && ps.pendingSkip > ps.acked {
		ps.acked = ps.pendingSkip
	}
	ps.lastSrc, ps.lastTgt = off, to
	if ps.lastSyncSrc < 0 || off-ps.lastSyncSrc >= r.cfg.OffsetLagMax {
		ps.addSync(offsetSync{Source: off, Target: to})
	}
}

// commit writes the acknowledged positions to the source group. It commits
// nothing once the flow failed.
func (r *run) commit(ctx context.Context) error {
	if r.failed.Load() {
		return nil
	}
	os := kadm.Offsets{}
	var dirty []*partition
	for _, ps := range r.f.allPartitions() {
		ps.mu.Lock()
		if ps.acked > ps.committed || (ps.acked >= 0 && ps.committed < 0) {
			os.Add(kadm.Offset{Topic: ps.topic, Partition: ps.part, At: ps.acked, LeaderEpoch: -1})
			dirty = append(dirty, ps)
		}
		ps.mu.Unlock()
	}
	if len(os) == 0 {
		return nil
	}
	if r.failed.Load() {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, r.f.adminTimeout)
	defer cancel()
	_, err := retryCoordinator(cctx, func() (kadm.OffsetResponses, error) {
		resp, err := r.sadm.CommitOffsets(cctx, r.cfg.GroupID, os)
		if err == nil {
			err = resp.Error()
		}
		return resp, err
	})
	if err != nil {
		return fmt.Errorf("commit progress to group %s in %s: %w", r.cfg.GroupID, r.cfg.Source, err)
	}
	for _, ps := range dirty {
		o, _ := os.Lookup(ps.topic, ps.part)
		ps.mu.Lock()
		ps.committed = max(ps.committed, o.At)
		ps.mu.Unlock()
	}
	return nil
}

// housekeep owns the periodic duties: commits and offset syncs, rates and
// the buffer watchdog, heartbeats, topic refresh and checkpoints. It returns
// when hctx is canceled.
func (r *run) housekeep(hctx, lctx context.Context) {
	c := r.cfg
	commit := time.NewTicker(c.CommitInterval)
	second := time.NewTicker(time.Second)
	hb := time.NewTicker(c.HeartbeatInterval)
	refresh := time.NewTicker(c.RefreshInterval)
	cp := time.NewTicker(c.CheckpointInterval)
	defer func() { commit.Stop(); second.Stop(); hb.Stop(); refresh.Stop(); cp.Stop() }()
	r.heartbeat(hctx)
	for {
		select {
		case <-hctx.Done():
			return
		case <-commit.C:
			r.produceSyncs()
			if err := r.commit(hctx); err != nil && hctx.Err() == nil {
				r.f.noteError(err)
			}
			r.refreshEnds(hctx)
		case now := <-second.C:
			r.f.records.Tick(now)
			r.f.bytes.Tick(now)
			if since := r.produceSince.Load(); since != 0 && time.Since(time.Unix(0, since)) > c.Producer.BufferTimeout {
				r.fail(fmt.Errorf("%w: the buffer of %d records / %d bytes stayed full for %v; the target is too slow or unreachable",
					ErrBufferOverrun, c.Producer.MaxBufferedRecords, c.Producer.MaxBufferedBytes, c.Producer.BufferTimeout))
				r.pcancel()
			}
			r.clock.Store(now.UnixNano())
			if ps := r.stalled(now); ps != nil {
				r.fail(fmt.Errorf("%w: %s[%d]: no acknowledgement from %s for %v (the retry budget)",
					ErrDeliveryFailed, ps.topic, ps.part, c.Target, c.Producer.DeliveryTimeout))
				r.pcancel()
			}
		case <-hb.C:
			r.heartbeat(hctx)
		case <-refresh.C:
			ctx, cancel := context.WithTimeout(lctx, 3*r.f.adminTimeout)
			if err := r.discover(ctx, false); err != nil && ctx.Err() == nil {
				r.f.noteError(err)
			}
			cancel()
		case <-cp.C:
			ctx, cancel := context.WithTimeout(hctx, 3*r.f.adminTimeout)
			if err := r.checkpoint(ctx); err != nil && ctx.Err() == nil {
				r.f.noteError(err)
			}
			cancel()
		}
	}
}

// stalled returns a partition whose records have waited for the target's
// acknowledgement longer than the retry budget. It backs the delivery
// contexts up: franz-go cannot fail a record once a request carrying it was
// sent without an answer (idempotence), so a hung target would otherwise
// stall the flow without failing it.
func (r *run) stalled(now time.Time) *partition {
	limit := r.cfg.Producer.DeliveryTimeout + time.Second // the clock is coarse
	for _, ps := range r.f.allPartitions() {
		ps.mu.Lock()
		stuck := ps.inflight() > 0 && ps.progressAt > 0 && now.Sub(time.Unix(0, ps.progressAt)) > limit
		ps.mu.Unlock()
		if stuck {
			return ps
		}
	}
	return nil
}

// heartbeat writes one heartbeat into the source; its copy's acknowledgement
// by the target gives the replication latency.
func (r *run) heartbeat(ctx context.Context) {
	now := time.Now()
	r.src.Produce(ctx, &kgo.Record{Topic: HeartbeatTopic, Key: r.f.hbKey, Timestamp: now,
		Value: strconv.AppendInt(nil, now.UnixMilli(), 10)}, func(_ *kgo.Record, err error) {
		if err != nil && ctx.Err() == nil {
			r.f.noteError(fmt.Errorf("heartbeat into %s: %w", r.cfg.Source, err))
		}
	})
}

// refreshEnds updates the source end offsets used for lag.
func (r *run) refreshEnds(ctx context.Context) {
	parts := r.f.allPartitions()
	if len(parts) == 0 {
		return
	}
	topics := map[string]bool{}
	for _, p := range parts {
		topics[p.topic] = true
	}
	list := make([]string, 0, len(topics))
	for t := range topics {
		list = append(list, t)
	}
	cctx, cancel := context.WithTimeout(ctx, r.f.adminTimeout)
	defer cancel()
	var ends kadm.ListedOffsets
	var err error
	if r.cfg.Consumer.Isolation == "read_uncommitted" {
		ends, err = r.sadm.ListEndOffsets(cctx, list...)
	} else {
		ends, err = r.sadm.ListCommittedOffsets(cctx, list...)
	}
	if err != nil {
		return
	}
	for _, p := range parts {
		if o, ok := ends.Lookup(p.topic, p.part); ok && o.Err == nil {
			p.mu.Lock()
			p.end = max(p.end, o.Offset)
			p.mu.Unlock()
		}
	}
}
