package streams

import (
	"encoding/binary"
	"fmt"
	"time"
)

// JoinKind is the kind of a windowed stream-stream join.
type JoinKind int

const (
	// InnerJoin emits a pair for every left and right record with the same
	// key whose event times differ by at most the window.
	InnerJoin JoinKind = iota
	// LeftJoin also emits every left record that had no match when it
	// arrived, with a nil right record (Kafka Streams' eager left join of
	// versions before 3.1: a match arriving later is emitted as a pair too).
	LeftJoin
)

// Join joins s (the left side) with other (the right side) on the record
// key: records whose event times differ by at most window are paired and
// fn builds the output (right is nil for an unmatched left record of a
// LeftJoin). Both sides must be partitioned by the join key over inputs
// with the same partition count (use GroupBy... or produce them keyed).
// Each side is buffered in a store (NAME-left and NAME-right, with
// changelogs) for window plus grace of stream time; a record older than
// that is late: dropped and counted. A pair's event time is the later of
// its two records' times.
func (s *Stream) Join(name string, other *Stream, window, grace time.Duration, kind JoinKind, fn func(left Record, right *Record) (Record, error)) *Stream {
	t := s.top
	out := t.step(nil, name, "join")
	out.proc = func(tk *task, r Record) error { return out.forward(tk, r) }
	if window < 0 || grace < 0 {
		t.errs = append(t.errs, fmt.Errorf("join %q: window and grace must not be negative", name))
	}
	left := t.addStore(name+"-left", "join", false, nil)
	right := t.addStore(name+"-right", "join", false, nil)
	winMs, keepMs := window.Milliseconds(), (window + grace).Milliseconds()
	side := func(this, that *storeDef, isLeft bool) *node {
		n := &node{name: name, kind: "join-side"}
		n.proc = func(tk *task, r Record) error {
			st, ot := tk.stores[this.idx], tk.stores[that.idx]
			ms := r.Time.UnixMilli()
			st.observe(r.Time)
			if ms < st.streamTime-keepMs {
				tk.late.Add(1)
				return nil
			}
			st.put(joinKey(r.Key, ms, r.Offset), r.Value, r.Time)
			matches, err := ot.scan(joinKey(r.Key, ms-winMs, 0), joinKey(r.Key, ms+winMs+1, 0))
			if err != nil {
				return err
			}
			for _, m := range matches {
				o := Record{Key: r.Key, Value: m.val, Time: time.UnixMilli(joinTime(m.key, len(r.Key))).UTC(), Partition: r.Partition}
				l, rr := r, o
				if !isLeft {
					l, rr = o, r
				}
				res, err := fn(l, &rr)
				if err != nil {
					return fmt.Errorf("join %s: %w", name, err)
				}
				res.Time = maxTime(l.Time, rr.Time)
				if err := out.proc(tk, res); err != nil {
					return err
				}
			}
			if len(matches) == 0 && isLeft && kind == LeftJoin {
				res, err := fn(r, nil)
				if err != nil {
					return fmt.Errorf("join %s: %w", name, err)
				}
				return out.proc(tk, res)
			}
			return nil
		}
		// Expire buffered records older than window + grace of stream
		// time, at most every few seconds (a full scan of the buffer).
		var lastSweep time.Time
		n.flush = func(tk *task) error {
			if time.Since(lastSweep) < 5*time.Second {
				return nil
			}
			lastSweep = time.Now()
			st := tk.stores[this.idx]
			if !st.streamTimeSet {
				return nil
			}
			all, err := st.scan([]byte{prefixJoin}, []byte{prefixJoin + 1})
			if err != nil {
				return err
			}
			for _, e := range all {
				kl := int(binary.BigEndian.Uint32(e.key[1:5]))
				if joinTime(e.key, kl) < st.streamTime-keepMs {
					st.del(e.key)
				}
			}
			return nil
		}
		t.nodes = append(t.nodes, n)
		return n
	}
	s.n.next = append(s.n.next, side(left, right, true))
	other.n.next = append(other.n.next, side(right, left, false))
	return &Stream{top: t, n: out}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// joinKey is 'j', key length (4 bytes), key, event time, offset.
func joinKey(k []byte, ms, offset int64) []byte {
	b := make([]byte, 0, 1+4+len(k)+16)
	b = append(b, prefixJoin)
	b = binary.BigEndian.AppendUint32(b, uint32(len(k)))
	b = append(b, k...)
	b = encTime(b, ms)
	return binary.BigEndian.AppendUint64(b, uint64(offset))
}

func joinTime(key []byte, keyLen int) int64 { return decTime(key[5+keyLen:]) }
