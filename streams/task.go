package streams

import (
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"
)

// task is one partition of the job: its stores and counters.
type task struct {
	j         *Job
	partition int32
	stores    []*store
	recordsIn atomic.Int64
	late      atomic.Int64
	lag       atomic.Int64
}

func (t *task) produce(topic string, partition int32, r Record) {
	kr := &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: r.Headers, Timestamp: r.Time, Partition: partition}
	if !t.j.internal[topic] {
		t.j.recordsOut.Add(1)
	}
	t.j.cl.Produce(t.j.pctx, kr, t.j.promise)
}

func (j *Job) promise(_ *kgo.Record, err error) {
	if err != nil {
		j.prodErr.CompareAndSwap(nil, &err)
	}
}

// flush ends a batch for the task: stateful steps emit, then staged store
// writes become changelog records.
func (t *task) flush() error {
	for _, n := range t.j.top.nodes {
		if n.flush != nil {
			if err := n.flush(t); err != nil {
				return err
			}
		}
	}
	for _, st := range t.stores {
		st := st
		// The stream time goes first: a crash part-way through the
		// batch's changelog records (at least once) then never leaves a
		// closed window's tombstone without the stream time that closed it.
		keys := make([]string, 0, len(st.cache))
		if _, ok := st.cache[string(metaStreamTime)]; ok {
			keys = append(keys, string(metaStreamTime))
		}
		for k := range st.cache {
			if k != string(metaStreamTime) {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			e := st.cache[k]
			kr := &kgo.Record{Topic: st.def.changelog, Key: []byte(k), Partition: t.partition}
			if !e.del {
				kr.Value = e.val
			}
			t.j.cl.Produce(t.j.pctx, kr, func(r *kgo.Record, err error) {
				if err != nil {
					t.j.prodErr.CompareAndSwap(nil, &err)
					return
				}
				for {
					cur := st.nextChangelog.Load()
					if r.Offset+1 <= cur || st.nextChangelog.CompareAndSwap(cur, r.Offset+1) {
						return
					}
				}
			})
		}
	}
	return nil
}

func (t *task) apply() error {
	for _, st := range t.stores {
		if err := st.apply(); err != nil {
			return err
		}
	}
	return nil
}

func (t *task) discard() error {
	for _, st := range t.stores {
		if err := st.discard(); err != nil {
			return err
		}
	}
	return nil
}

func (t *task) close(clean bool) {
	for _, st := range t.stores {
		if err := st.close(clean); err != nil {
			t.j.log.Warn("close store", "store", st.def.name, "partition", t.partition, "err", err)
		}
	}
	t.stores = nil
}
