package streams

import (
	"bytes"
	"fmt"
	"sort"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Entry is one row of a store as returned by the queries.
type Entry struct {
	Key   []byte `json:"key"`
	Value []byte `json:"value"`
	// Number is the decoded value of numeric aggregates (count, sum, min,
	// max); nil otherwise.
	Number *float64 `json:"number,omitempty"`
	// Window is set for windowed stores.
	Window    *Window `json:"window,omitempty"`
	Partition int32   `json:"partition"`
}

// StoreInfo describes a queryable store.
type StoreInfo struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"` // aggregate, window, join, table
	Changelog string `json:"changelog,omitempty"`
	Numeric   bool   `json:"numeric"`
}

// Stores lists the job's stores and tables.
func (t *Topology) Stores() []StoreInfo {
	var out []StoreInfo
	for _, s := range t.stores {
		out = append(out, StoreInfo{Name: s.name, Kind: s.kind, Changelog: s.changelog, Numeric: s.numeric})
	}
	for _, tb := range t.tables {
		out = append(out, StoreInfo{Name: tb.name, Kind: "table"})
	}
	return out
}

// scanFn visits a store's committed rows in key order until it returns false.
type scanFn func(e Entry) bool

// visit scans the local partitions of a store (or the table) with keys in
// [from, to) (to nil: no upper bound); for windowed stores the key range
// applies to the group key. It reads committed state only.
func (j *Job) visit(storeName string, from, to []byte, fn scanFn) error {
	j.tasksMu.RLock()
	defer j.tasksMu.RUnlock()
	for _, tr := range j.tables {
		if tr.def.name == storeName {
			_, err := scanDB(tr.db, -1, false, nil, from, to, fn)
			return err
		}
	}
	var def *storeDef
	for _, s := range j.top.stores {
		if s.name == storeName {
			def = s
		}
	}
	if def == nil {
		return fmt.Errorf("%w: %q (the job has %v)", ErrUnknownStore, storeName, j.top.Stores())
	}
	if len(j.tasks) == 0 {
		return ErrNotRunning
	}
	parts := make([]int32, 0, len(j.tasks))
	for p := range j.tasks {
		parts = append(parts, p)
	}
	sort.Slice(parts, func(a, b int) bool { return parts[a] < parts[b] })
	for _, p := range parts {
		st := j.tasks[p].stores[def.idx]
		more, err := scanDB(st.db, p, def.numeric, def.windows, from, to, fn)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func scanDB(db *pebble.DB, part int32, numeric bool, w *Windows, from, to []byte, fn scanFn) (bool, error) {
	var lo, hi []byte
	if w != nil {
		lo, hi = []byte{prefixWindow}, []byte{prefixWindow + 1}
	} else {
		lo = plainKey(from)
		if to != nil {
			hi = plainKey(to)
		} else {
			hi = []byte{prefixKey + 1}
		}
	}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return false, err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		e := Entry{Value: append([]byte(nil), it.Value()...), Partition: part}
		if w != nil {
			gk := k[9:]
			if bytes.Compare(gk, from) < 0 || (to != nil && bytes.Compare(gk, to) >= 0) {
				continue
			}
			start := decTime(k[1:9])
			e.Key = append([]byte(nil), gk...)
			e.Window = &Window{Start: time.UnixMilli(start).UTC(), End: time.UnixMilli(start + w.Size.Milliseconds()).UTC()}
		} else {
			e.Key = append([]byte(nil), k[1:]...)
		}
		if numeric {
			if n, ok := DecodeNumber(e.Value); ok {
				e.Number = &n
			}
		}
		if !fn(e) {
			return false, it.Close()
		}
	}
	return true, it.Error()
}

// Get returns the rows of key in the store: one row for a table or a plain
// aggregate, one per open window for a windowed aggregate. It reads the
// partitions this instance holds; a key of another instance's partition is
// not found here.
func (j *Job) Get(store string, key []byte) ([]Entry, error) {
	var out []Entry
	to := append(append([]byte(nil), key...), 0)
	err := j.visit(store, key, to, func(e Entry) bool {
		if bytes.Equal(e.Key, key) {
			out = append(out, e)
		}
		return true
	})
	return out, err
}

// Range returns up to limit rows (0: no limit) with from <= key < to (to
// nil: no upper bound), in key order per partition.
func (j *Job) Range(store string, from, to []byte, limit int) ([]Entry, error) {
	var out []Entry
	err := j.visit(store, from, to, func(e Entry) bool {
		out = append(out, e)
		return limit <= 0 || len(out) < limit
	})
	return out, err
}

// TopN returns the n rows with the largest numeric values of a numeric
// store (count, sum, min, max), largest first.
func (j *Job) TopN(store string, n int) ([]Entry, error) {
	var out []Entry
	err := j.visit(store, nil, nil, func(e Entry) bool {
		if e.Number != nil {
			out = append(out, e)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(a, b int) bool { return *out[a].Number > *out[b].Number })
	if n >= 0 && len(out) > n {
		out = out[:n]
	}
	return out, nil
}
