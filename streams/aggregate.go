package streams

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Grouped is a stream grouped by key, ready for aggregation. Its records
// live, per key, on one partition: GroupByKey keeps the input's
// partitioning, GroupBy repartitions through a topic.
type Grouped struct {
	top *Topology
	n   *node
}

// GroupByKey groups the stream by its current key. The records must
// already be partitioned by that key (as produced with a key-hashing
// partitioner); after a Map that changes keys use GroupBy.
func (s *Stream) GroupByKey() *Grouped { return &Grouped{top: s.top, n: s.n} }

// GroupBy groups the stream by the key fn returns. Records are produced to
// the repartition topic APP-NAME-repartition, partitioned by the new key,
// and aggregated by the task that owns that partition: so every key's state
// lives in exactly one instance (multi-phase processing). The repartition
// topic has the input topics' partition count.
func (s *Stream) GroupBy(name string, fn func(Record) ([]byte, error)) *Grouped {
	r := s.Repartition(name, fn)
	return &Grouped{top: r.top, n: r.n}
}

// Repartition re-keys the stream with fn and moves every record to the
// partition of its new key through the topic APP-NAME-repartition (the
// input topics' partition count). The record's event time travels as its
// timestamp.
func (s *Stream) Repartition(name string, fn func(Record) ([]byte, error)) *Stream {
	t := s.top
	topic := t.appID + "-" + name + "-repartition"
	sink := t.step(s.n, name, "repartition")
	sink.proc = func(tk *task, r Record) error {
		k, err := fn(r)
		if err != nil {
			return fmt.Errorf("repartition %s: %w", name, err)
		}
		r.Key = k
		tk.produce(topic, -1, r)
		return nil
	}
	src := &node{name: name + "-source", kind: "repartition-source"}
	src.proc = func(tk *task, r Record) error { return src.forward(tk, r) }
	t.repartitions = append(t.repartitions, topic)
	t.sources[topic] = append(t.sources[topic], src)
	return &Stream{top: t, n: src}
}

// Aggregator folds the records of a key into an aggregate value. Count,
// Sum, Min, Max, Reduce and Aggregate build the common ones.
type Aggregator struct {
	op      string
	numeric bool
	// init returns the initial aggregate; nil init means the first
	// record's contribution is the aggregate (Reduce, Min, Max).
	init  func() []byte
	first func(r Record) ([]byte, error)
	add   func(agg []byte, r Record) ([]byte, error)
}

// Op returns the aggregator's name: count, sum, min, max, reduce, aggregate.
func (a Aggregator) Op() string { return a.op }

// Count counts records. Its value is a number (EncodeNumber).
func Count() Aggregator {
	return Aggregator{op: "count", numeric: true,
		init: func() []byte { return EncodeNumber(0) },
		add: func(agg []byte, _ Record) ([]byte, error) {
			n, err := decodeAggregate(agg)
			if err != nil {
				return nil, err
			}
			return EncodeNumber(n + 1), nil
		}}
}

// Sum adds the number field returns for each record.
func Sum(field func(Record) (float64, error)) Aggregator {
	return Aggregator{op: "sum", numeric: true,
		init: func() []byte { return EncodeNumber(0) },
		add: func(agg []byte, r Record) ([]byte, error) {
			v, err := field(r)
			if err != nil {
				return nil, err
			}
			n, err := decodeAggregate(agg)
			if err != nil {
				return nil, err
			}
			return EncodeNumber(n + v), nil
		}}
}

func extremum(op string, field func(Record) (float64, error), better func(a, b float64) bool) Aggregator {
	return Aggregator{op: op, numeric: true,
		first: func(r Record) ([]byte, error) {
			v, err := field(r)
			if err != nil {
				return nil, err
			}
			return EncodeNumber(v), nil
		},
		add: func(agg []byte, r Record) ([]byte, error) {
			v, err := field(r)
			if err != nil {
				return nil, err
			}
			n, err := decodeAggregate(agg)
			if err != nil {
				return nil, err
			}
			if better(v, n) {
				return EncodeNumber(v), nil
			}
			return agg, nil
		}}
}

// Min keeps the smallest number field returns.
func Min(field func(Record) (float64, error)) Aggregator {
	return extremum("min", field, func(a, b float64) bool { return a < b || math.IsNaN(b) })
}

// Max keeps the largest number field returns.
func Max(field func(Record) (float64, error)) Aggregator {
	return extremum("max", field, func(a, b float64) bool { return a > b || math.IsNaN(b) })
}

// Reduce combines values: the first record's value is the aggregate, then
// fn(agg, value) for each following record.
func Reduce(fn func(agg, value []byte) ([]byte, error)) Aggregator {
	return Aggregator{op: "reduce",
		first: func(r Record) ([]byte, error) { return r.Value, nil },
		add:   func(agg []byte, r Record) ([]byte, error) { return fn(agg, r.Value) }}
}

// Aggregate folds records into an aggregate that starts as init().
func Aggregate(init func() []byte, add func(agg []byte, r Record) ([]byte, error)) Aggregator {
	return Aggregator{op: "aggregate", init: init, add: add}
}

// CorruptStateError reports a stored aggregate that does not decode (a
// numeric aggregate that is not 8 bytes): the store's state is damaged, and
// folding records into it would restart the aggregate at zero. It is
// permanent: restarting the job does not heal it; resetting the job's state
// (kdeck streams reset) rebuilds it from the inputs.
type CorruptStateError struct {
	Store string
	Key   []byte
	Value []byte
}

// Error names the store, the key and what to do.
func (e *CorruptStateError) Error() string {
	return fmt.Sprintf("store %s: the aggregate under key %q is corrupt (%d bytes, want an 8-byte number): reset the job's state ('kdeck streams reset') to rebuild it from the inputs", e.Store, e.Key, len(e.Value))
}

// Permanent reports true.
func (e *CorruptStateError) Permanent() bool { return true }

func decodeAggregate(b []byte) (float64, error) {
	n, ok := DecodeNumber(b)
	if !ok {
		return 0, &CorruptStateError{Value: b}
	}
	return n, nil
}

func (a Aggregator) apply(old []byte, found bool, r Record) ([]byte, error) {
	switch {
	case found:
		return a.add(old, r)
	case a.init != nil:
		return a.add(a.init(), r)
	default:
		return a.first(r)
	}
}

// into folds r into the aggregate stored under k.
func (a Aggregator) into(st *store, k []byte, r Record, step string) error {
	old, found, err := st.get(k)
	if err != nil {
		return err
	}
	v, err := a.apply(old, found, r)
	if ce, ok := errors.AsType[*CorruptStateError](err); ok {
		ce.Store, ce.Key = st.def.name, r.Key
		return ce
	}
	if err != nil {
		return fmt.Errorf("aggregate %s: %w", step, err)
	}
	st.put(k, v, r.Time)
	return nil
}

func (t *Topology) addStore(name, kind string, numeric bool, w *Windows) *storeDef {
	d := &storeDef{name: name, changelog: t.appID + "-" + name + "-changelog", kind: kind, numeric: numeric, windows: w, idx: len(t.stores)}
	t.stores = append(t.stores, d)
	return d
}

// Aggregate folds each key's records into a table held in the store named
// name (changelog APP-NAME-changelog), and returns the stream of the
// table's updates: each batch of records emits the latest value of every key
// it changed, with the group key as key and the aggregate as value.
func (g *Grouped) Aggregate(name string, agg Aggregator) *Stream {
	t := g.top
	n := t.step(g.n, name, "aggregate")
	sd := t.addStore(name, "aggregate", agg.numeric, nil)
	n.proc = func(tk *task, r Record) error {
		return agg.into(tk.stores[sd.idx], plainKey(r.Key), r, name)
	}
	n.flush = func(tk *task) error {
		st := tk.stores[sd.idx]
		for _, k := range sortedKeys(st.cache) {
			e := st.cache[k]
			if e.del || k[0] != prefixKey {
				continue
			}
			if err := n.forward(tk, Record{Key: []byte(k[1:]), Value: e.val, Time: e.ts, Partition: tk.partition}); err != nil {
				return err
			}
		}
		return nil
	}
	return &Stream{top: t, n: n}
}

// Emit says when a windowed aggregate emits.
type Emit int

const (
	// EmitUpdate emits a window's latest value after every batch that
	// changed it.
	EmitUpdate Emit = iota
	// EmitFinal emits a window's value once, when the window closes (stream
	// time reaches its end plus grace): Kafka Streams' suppress.
	EmitFinal
)

// Windows describes tumbling or hopping windows aligned to the Unix epoch:
// window starts are multiples of Advance; a window covers [start,
// start+Size). Grace is how long after a window's end records are still
// accepted, measured in stream time.
type Windows struct {
	Size    time.Duration
	Advance time.Duration
	Grace   time.Duration
}

// Tumbling returns non-overlapping windows of size.
func Tumbling(size time.Duration) Windows { return Windows{Size: size, Advance: size} }

// Hopping returns windows of size starting every advance.
func Hopping(size, advance time.Duration) Windows { return Windows{Size: size, Advance: advance} }

// WithGrace returns w with a grace period; the default is none.
func (w Windows) WithGrace(grace time.Duration) Windows { w.Grace = grace; return w }

func (w Windows) validate() error {
	switch {
	case w.Size < time.Millisecond:
		return fmt.Errorf("window size %v is below 1ms: give a size", w.Size)
	case w.Advance < time.Millisecond || w.Advance > w.Size:
		return fmt.Errorf("window advance %v must be between 1ms and the size %v", w.Advance, w.Size)
	case w.Grace < 0:
		return fmt.Errorf("window grace %v is negative", w.Grace)
	}
	return nil
}

// starts returns the start (Unix ms) of every window containing ms.
func (w Windows) starts(ms int64) []int64 {
	size, adv := w.Size.Milliseconds(), w.Advance.Milliseconds()
	last := floorDiv(ms, adv) * adv
	var out []int64
	for s := last; s > ms-size; s -= adv {
		out = append(out, s)
	}
	return out
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// WindowedGrouped is a grouped stream with windows.
type WindowedGrouped struct {
	g Grouped
	w Windows
}

// Windowed windows the grouped stream.
func (g *Grouped) Windowed(w Windows) *WindowedGrouped {
	if err := w.validate(); err != nil {
		g.top.errs = append(g.top.errs, err)
	}
	return &WindowedGrouped{g: *g, w: w}
}

// Aggregate folds each key's records per window into the store named name
// (changelog APP-NAME-changelog) and returns the stream of results: records
// keyed by group key, valued by the aggregate, with Window set. A record
// whose every window has closed (stream time >= window end + grace) is
// dropped and counted in Status.LateRecords. Closed windows are removed
// from the store.
func (wg *WindowedGrouped) Aggregate(name string, agg Aggregator, emit Emit) *Stream {
	t := wg.g.top
	w := wg.w
	n := t.step(wg.g.n, name, "window-aggregate")
	sd := t.addStore(name, "window", agg.numeric, &w)
	sizeMs, graceMs := w.Size.Milliseconds(), w.Grace.Milliseconds()
	n.proc = func(tk *task, r Record) error {
		st := tk.stores[sd.idx]
		ms := r.Time.UnixMilli()
		st.observe(r.Time)
		accepted := false
		for _, start := range w.starts(ms) {
			if start+sizeMs+graceMs <= st.streamTime {
				continue // closed
			}
			accepted = true
			if err := agg.into(st, windowKey(start, r.Key), r, name); err != nil {
				return err
			}
		}
		if !accepted {
			tk.late.Add(1)
		}
		return nil
	}
	emitRec := func(tk *task, k string, val []byte) error {
		start := decTime([]byte(k[1:9]))
		win := &Window{Start: time.UnixMilli(start).UTC(), End: time.UnixMilli(start + sizeMs).UTC()}
		return n.forward(tk, Record{Key: []byte(k[9:]), Value: val, Time: win.End.Add(-time.Millisecond), Window: win, Partition: tk.partition})
	}
	n.flush = func(tk *task) error {
		st := tk.stores[sd.idx]
		if !st.streamTimeSet {
			return nil
		}
		cutoff := st.streamTime - sizeMs - graceMs // windows starting at or before cutoff are closed
		if emit == EmitUpdate {
			for _, k := range sortedKeys(st.cache) {
				e := st.cache[k]
				if e.del || k[0] != prefixWindow {
					continue
				}
				if err := emitRec(tk, k, e.val); err != nil {
					return err
				}
			}
		}
		lo := []byte{prefixWindow}
		if st.closedSet {
			if cutoff <= st.closedThrough {
				return nil
			}
			lo = encTime(lo, st.closedThrough+1)
		}
		closed, err := st.scan(lo, encTime([]byte{prefixWindow}, cutoff+1))
		if err != nil {
			return err
		}
		st.closedThrough, st.closedSet = cutoff, true
		for _, c := range closed {
			if emit == EmitFinal {
				if err := emitRec(tk, string(c.key), c.val); err != nil {
					return err
				}
			}
			st.del(c.key)
		}
		return nil
	}
	return &Stream{top: t, n: n}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}
