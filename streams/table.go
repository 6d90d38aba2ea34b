package streams

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// CDCDecoder turns a record of a table's topic into a table change: the key,
// the new value, or del for a deletion.
type CDCDecoder func(r Record) (key, value []byte, del bool, err error)

// WithCDC reads a table's topic as change data capture events decoded by
// dec, instead of as a compacted topic of key → latest value (where a
// tombstone, a nil value, deletes its key).
func WithCDC(dec CDCDecoder) SourceOpt { return sourceOptFunc(func(c *sourceCfg) { c.cdc = dec }) }

// CDCJSON decodes change events shaped as Debezium's and kdeck's PostgreSQL
// source emit them: a JSON object with "op" (c/r/u/d, or insert, snapshot,
// update, delete) and "after" (the new row). The table key is the record
// key, or when absent the JSON "key" field. A tombstone deletes the key.
func CDCJSON() CDCDecoder {
	return func(r Record) ([]byte, []byte, bool, error) {
		if r.Value == nil {
			return r.Key, nil, true, nil
		}
		var ev struct {
			Op      string          `json:"op"`
			After   json.RawMessage `json:"after"`
			Key     json.RawMessage `json:"key"`
			Payload *struct {
				Op    string          `json:"op"`
				After json.RawMessage `json:"after"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(r.Value, &ev); err != nil {
			return nil, nil, false, fmt.Errorf("change event is not JSON: %w", err)
		}
		if ev.Payload != nil && ev.Op == "" {
			ev.Op, ev.After = ev.Payload.Op, ev.Payload.After
		}
		key := r.Key
		if len(key) == 0 && len(ev.Key) > 0 {
			var s string
			if json.Unmarshal(ev.Key, &s) == nil {
				key = []byte(s)
			} else {
				key = ev.Key
			}
		}
		switch ev.Op {
		case "c", "r", "u", "insert", "snapshot", "update", "read", "create":
			if len(ev.After) == 0 || string(ev.After) == "null" {
				return nil, nil, false, fmt.Errorf("change event %q has no \"after\" row", ev.Op)
			}
			return key, ev.After, false, nil
		case "d", "delete":
			return key, nil, true, nil
		default:
			return nil, nil, false, fmt.Errorf("change event op %q is unknown: want c, r, u or d", ev.Op)
		}
	}
}

type tableDef struct {
	name  string
	topic string
	cdc   CDCDecoder
}

// Table is a table materialised from a compacted or change-data-capture
// topic. Every instance holds the whole table in a local Pebble store under
// DATA/APP/tables/NAME, refreshed continuously from the topic (the topic is
// its own changelog; the offsets read are stored with the rows). Joins read
// this local cache: never a per-record external look-up.
type Table struct {
	top *Topology
	def *tableDef
}

// Table declares a table named name over topic. Before processing any
// stream record the job reads the table up to the topic's end offsets, so a
// join sees every row that existed when the job started.
func (t *Topology) Table(name, topic string, opts ...SourceOpt) *Table {
	var cfg sourceCfg
	for _, o := range opts {
		o.applySource(&cfg)
	}
	t.step(nil, name, "table")
	if topic == "" {
		t.errs = append(t.errs, fmt.Errorf("table %q has no topic: name its compacted or CDC topic", name))
	}
	d := &tableDef{name: name, topic: topic, cdc: cfg.cdc}
	t.tables = append(t.tables, d)
	return &Table{top: t, def: d}
}

// JoinTable joins each record with the table row under the key keyFn
// returns (the record's key when keyFn is nil). fn receives the row, or nil
// with found false when the table has no such key; it returns the record to
// emit and whether to emit it (an inner join emits only when found).
func (s *Stream) JoinTable(name string, tbl *Table, keyFn func(Record) ([]byte, error), fn func(r Record, row []byte, found bool) (Record, bool, error)) *Stream {
	n := s.top.step(s.n, name, "table-join")
	td := tbl.def
	n.proc = func(tk *task, r Record) error {
		k := r.Key
		if keyFn != nil {
			var err error
			if k, err = keyFn(r); err != nil {
				return fmt.Errorf("join %s: key: %w", name, err)
			}
		}
		tr := tk.j.table(td)
		row, found, err := tr.get(k)
		if err != nil {
			return fmt.Errorf("join %s: %w", name, err)
		}
		out, emit, err := fn(r, row, found)
		if err != nil {
			return fmt.Errorf("join %s: %w", name, err)
		}
		if !emit {
			return nil
		}
		return n.forward(tk, out)
	}
	return &Stream{top: s.top, n: n}
}

// tableRuntime is a running table: its store and its follower client.
type tableRuntime struct {
	def *tableDef
	db  *pebble.DB
	cl  *kgo.Client
	j   *Job
	// caught is set once the table has read up to the end offsets seen at
	// start.
	caught atomic.Bool
}

func (j *Job) table(d *tableDef) *tableRuntime {
	for _, t := range j.tables {
		if t.def == d {
			return t
		}
	}
	return nil
}

func offsetKey(p int32) []byte {
	b := []byte{'o', 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(p))
	return b
}

// openTable opens the table's store and reads its topic up to the end
// offsets seen now (blocking), resuming from the offsets stored in the
// store.
func (j *Job) openTable(ctx context.Context, d *tableDef) (*tableRuntime, error) {
	dir := filepath.Join(j.cfg.dataDir, j.top.appID, "tables", d.name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("table %s: %w", d.name, err)
	}
	db, err := pebble.Open(dir, storeOptions(j.cache))
	if err != nil {
		return nil, fmt.Errorf("table %s: open store: %w", d.name, err)
	}
	tr := &tableRuntime{def: d, db: db, j: j}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.FetchMaxWait(500 * time.Millisecond)}, j.clientOpts...)...)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("table %s: client: %w", d.name, err)
	}
	adm := kadm.NewClient(cl)
	lctx, cancel := context.WithTimeout(ctx, netTimeout)
	ends, err := adm.ListEndOffsets(lctx, d.topic)
	cancel()
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		cl.Close()
		db.Close()
		return nil, fmt.Errorf("table %s: topic %q: %w", d.name, d.topic, err)
	}
	from := map[int32]kgo.Offset{}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		off := int64(0)
		if v, c, err := db.Get(offsetKey(o.Partition)); err == nil {
			off = int64(binary.BigEndian.Uint64(v))
			c.Close()
		}
		from[o.Partition] = kgo.NewOffset().At(off)
		if off < o.Offset {
			want[o.Partition] = o.Offset
		}
	})
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{d.topic: from})
	tr.cl = cl
	// Caught up when every partition delivered a record at or past the end
	// offset seen above; the tail may hold nothing deliverable
	// (transaction markers, compacted records), so several empty polls in a
	// row (each covering a full fetch wait) count as caught up too.
	for idle := 0; len(want) > 0 && idle < restoreIdlePolls; {
		pctx, cancel := context.WithTimeout(ctx, restoreIdlePoll)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			tr.close()
			return nil, ctx.Err()
		}
		if fs.NumRecords() == 0 {
			idle++
		} else {
			idle = 0
		}
		if err := tr.apply(fs); err != nil {
			tr.close()
			return nil, err
		}
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			if len(fp.Records) > 0 && fp.Records[len(fp.Records)-1].Offset+1 >= want[fp.Partition] {
				delete(want, fp.Partition)
			}
		})
	}
	tr.caught.Store(true)
	return tr, nil
}

// apply writes a poll's changes and offsets in one batch.
func (tr *tableRuntime) apply(fs kgo.Fetches) error {
	var ferr error
	fs.EachError(func(t string, p int32, err error) {
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			ferr = fmt.Errorf("table %s: fetch %s/%d: %w", tr.def.name, t, p, err)
		}
	})
	if ferr != nil {
		return ferr
	}
	if fs.NumRecords() == 0 {
		return nil
	}
	b := tr.db.NewBatch()
	var werr error
	fs.EachPartition(func(fp kgo.FetchTopicPartition) {
		if len(fp.Records) == 0 || werr != nil {
			return
		}
		for _, r := range fp.Records {
			key, val, del := r.Key, r.Value, r.Value == nil
			if tr.def.cdc != nil {
				var err error
				key, val, del, err = tr.def.cdc(Record{Key: r.Key, Value: r.Value, Time: r.Timestamp, Topic: r.Topic, Partition: r.Partition, Offset: r.Offset})
				if err != nil {
					tr.j.errCount.Add(1)
					tr.j.log.Warn("table: skipped undecodable change event", "table", tr.def.name, "partition", r.Partition, "offset", r.Offset, "err", err)
					continue
				}
			}
			if del {
				werr = b.Delete(plainKey(key), nil)
			} else {
				werr = b.Set(plainKey(key), val, nil)
			}
			if werr != nil {
				return
			}
		}
		var ob [8]byte
		binary.BigEndian.PutUint64(ob[:], uint64(fp.Records[len(fp.Records)-1].Offset+1))
		werr = b.Set(offsetKey(fp.Partition), ob[:], nil)
	})
	if werr != nil {
		b.Close()
		return werr
	}
	return b.Commit(pebble.NoSync)
}

// follow keeps the table up to date until ctx ends.
func (tr *tableRuntime) follow(ctx context.Context) {
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, 2*netTimeout)
		fs := tr.cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil || fs.IsClientClosed() {
			return
		}
		if err := tr.apply(fs); err != nil {
			tr.j.log.Warn("table refresh failed", "table", tr.def.name, "err", err)
		}
	}
}

func (tr *tableRuntime) get(key []byte) ([]byte, bool, error) {
	v, c, err := tr.db.Get(plainKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := append([]byte(nil), v...)
	c.Close()
	return out, true, nil
}

func (tr *tableRuntime) close() {
	if tr.cl != nil {
		tr.cl.Close()
	}
	tr.db.Close()
}
