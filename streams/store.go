package streams

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// storeDef declares a state store of the topology.
type storeDef struct {
	name      string
	changelog string
	kind      string // "aggregate", "window", "join"
	numeric   bool
	windows   *Windows
	idx       int
}

// Key prefixes inside a store.
const (
	prefixKey    = 'k' // plain key -> value
	prefixWindow = 'w' // window start (8 bytes) + key -> value
	prefixJoin   = 'j' // join buffer entries
	prefixMeta   = 'm' // store metadata (stream time)
)

var metaStreamTime = []byte{prefixMeta, 's', 't'}

// entry is a staged write: the value, or a deletion.
type entry struct {
	val []byte
	del bool
	ts  time.Time
}

// store is one store of one partition: a Pebble database plus the writes
// staged by the current batch of records (the cache). Staged writes reach
// Pebble only after the batch's outputs, changelog records and offsets are
// committed, so a failed or aborted batch leaves the database as it was.
type store struct {
	def       *storeDef
	partition int32
	dir       string
	db        *pebble.DB
	cache     map[string]*entry
	// hot holds committed values read or written recently, so hot keys
	// skip Pebble; it is dropped whole when it reaches hotMax entries.
	hot map[string][]byte
	// streamTime is the largest event time seen (windowed and join
	// stores); persisted under metaStreamTime.
	streamTime    int64
	streamTimeSet bool
	// closedThrough: windows starting at or before it were already
	// deleted (valid when closedSet), so closing scans start after it
	// instead of walking the deleted windows' tombstones.
	closedThrough int64
	closedSet     bool
	// nextChangelog is one past the last acknowledged changelog offset.
	nextChangelog atomic.Int64
	restored      atomic.Int64
	restoreTotal  atomic.Int64
	restoring     atomic.Bool
}

type checkpoint struct {
	ChangelogOffset int64     `json:"changelog_offset"`
	Written         time.Time `json:"written"`
}

func (s *store) checkpointPath() string { return filepath.Join(s.dir, "checkpoint") }

// openStore opens the store's database under dir. It returns the changelog
// offset to restore from: the checkpoint's when one was left by a clean
// close, else 0 after wiping whatever state was there (it may be ahead of or
// behind the changelog). The checkpoint is removed, so that a crash before
// the next clean close does not reuse it.
func openStore(def *storeDef, partition int32, dir string, cache *pebble.Cache) (*store, int64, error) {
	s := &store{def: def, partition: partition, dir: dir, cache: map[string]*entry{}, hot: map[string][]byte{}}
	var from int64
	b, err := os.ReadFile(s.checkpointPath())
	valid := false
	if err == nil {
		var cp checkpoint
		if json.Unmarshal(b, &cp) == nil && cp.ChangelogOffset >= 0 {
			from, valid = cp.ChangelogOffset, true
		}
	}
	if !valid {
		if err := os.RemoveAll(filepath.Join(dir, "db")); err != nil {
			return nil, 0, fmt.Errorf("store %s partition %d: wipe stale state: %w", def.name, partition, err)
		}
	}
	// State is private (0700); Pebble would create its directory 0755.
	if err := os.MkdirAll(filepath.Join(dir, "db"), 0o700); err != nil {
		return nil, 0, fmt.Errorf("store %s partition %d: %w", def.name, partition, err)
	}
	if err := os.Remove(s.checkpointPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("store %s partition %d: remove checkpoint: %w", def.name, partition, err)
	}
	db, err := pebble.Open(filepath.Join(dir, "db"), storeOptions(cache))
	if err != nil {
		return nil, 0, fmt.Errorf("store %s partition %d: open: %w", def.name, partition, err)
	}
	s.db = db
	s.nextChangelog.Store(from)
	return s, from, nil
}

// loadMeta reads the persisted stream time.
func (s *store) loadMeta() error {
	v, closer, err := s.db.Get(metaStreamTime)
	s.streamTime, s.streamTimeSet = 0, false
	if errors.Is(err, pebble.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	defer closer.Close()
	if n, ok := DecodeNumber(v); ok {
		s.streamTime, s.streamTimeSet = int64(n), true
	}
	return nil
}

// close writes a checkpoint when clean is true, then closes the database.
func (s *store) close(clean bool) error {
	err := s.db.Flush()
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	if err == nil && clean {
		b, _ := json.Marshal(checkpoint{ChangelogOffset: s.nextChangelog.Load(), Written: time.Now().UTC()})
		tmp := s.checkpointPath() + ".tmp"
		if err = os.WriteFile(tmp, b, 0o600); err == nil {
			err = os.Rename(tmp, s.checkpointPath())
		}
	}
	return err
}

// get reads key through the cache.
func (s *store) get(key []byte) ([]byte, bool, error) {
	if e, ok := s.cache[string(key)]; ok {
		if e.del {
			return nil, false, nil
		}
		return e.val, true, nil
	}
	if v, ok := s.hot[string(key)]; ok {
		return v, v != nil, nil
	}
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		s.remember(string(key), nil)
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store %s: get: %w", s.def.name, err)
	}
	out := append([]byte(nil), v...)
	closer.Close()
	s.remember(string(key), out)
	return out, true, nil
}

// hotMax bounds the hot map of a store.
const hotMax = 200_000

// remember caches a committed value (nil: absent).
func (s *store) remember(k string, v []byte) {
	if len(s.hot) >= hotMax {
		clear(s.hot)
	}
	s.hot[k] = v
}

func (s *store) put(key, val []byte, ts time.Time) {
	if e, ok := s.cache[string(key)]; ok {
		e.val, e.del, e.ts = val, false, ts
		return
	}
	s.cache[string(key)] = &entry{val: val, ts: ts}
}

func (s *store) del(key []byte) {
	if e, ok := s.cache[string(key)]; ok {
		e.val, e.del = nil, true
		return
	}
	s.cache[string(key)] = &entry{del: true}
}

// observe advances the stream time.
func (s *store) observe(t time.Time) {
	ms := t.UnixMilli()
	if !s.streamTimeSet || ms > s.streamTime {
		s.streamTime, s.streamTimeSet = ms, true
		s.put(metaStreamTime, EncodeNumber(float64(ms)), time.Time{})
	}
}

// scan returns the entries with lo <= key < hi, merging the cache over the
// database, in key order.
func (s *store) scan(lo, hi []byte) ([]kv, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	var out []kv
	for ok := it.First(); ok; ok = it.Next() {
		k := string(it.Key())
		if _, staged := s.cache[k]; staged {
			continue
		}
		out = append(out, kv{key: []byte(k), val: append([]byte(nil), it.Value()...)})
	}
	if err := it.Close(); err != nil {
		return nil, err
	}
	for k, e := range s.cache {
		if e.del || k < string(lo) || k >= string(hi) {
			continue
		}
		out = append(out, kv{key: []byte(k), val: e.val})
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i].key, out[j].key) < 0 })
	return out, nil
}

type kv struct{ key, val []byte }

// apply writes the staged entries to the database without sync (the
// changelog is the durable copy) and clears the cache.
func (s *store) apply() error {
	if len(s.cache) == 0 {
		return nil
	}
	b := s.db.NewBatch()
	for k, e := range s.cache {
		var err error
		if e.del {
			err = b.Delete([]byte(k), nil)
			delete(s.hot, k)
		} else {
			err = b.Set([]byte(k), e.val, nil)
			s.remember(k, e.val)
		}
		if err != nil {
			b.Close()
			return err
		}
	}
	clear(s.cache)
	return b.Commit(pebble.NoSync)
}

// discard drops the staged entries and reloads the stream time.
func (s *store) discard() error {
	clear(s.cache)
	s.closedSet = false
	return s.loadMeta()
}

func (s *store) sizeBytes() int64 { return int64(s.db.Metrics().DiskSpaceUsage()) }

// storeDir is where a store's partition lives under the data dir.
func storeDir(dataDir, appID, storeName string, partition int32) string {
	return filepath.Join(dataDir, appID, storeName, strconv.Itoa(int(partition)))
}

// quietLogger keeps Pebble's informational logs out of the terminal.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// Key encodings.

func plainKey(k []byte) []byte {
	out := make([]byte, 1+len(k))
	out[0] = prefixKey
	copy(out[1:], k)
	return out
}

func encTime(b []byte, ms int64) []byte {
	u := uint64(ms) ^ (1 << 63) // order negative times first
	return append(b, byte(u>>56), byte(u>>48), byte(u>>40), byte(u>>32), byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
}

func decTime(b []byte) int64 {
	u := uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	return int64(u ^ (1 << 63))
}

func windowKey(startMs int64, k []byte) []byte {
	out := make([]byte, 0, 9+len(k))
	out = append(out, prefixWindow)
	out = encTime(out, startMs)
	return append(out, k...)
}

func pebbleCache(n int64) *pebble.Cache { return pebble.NewCache(n) }

// storeOptions are the Pebble options of a store. The write-ahead log is
// disabled: a store is trusted only after a clean close (which flushes the
// memtable and writes the checkpoint); after a crash it is wiped and rebuilt
// from its changelog, the durable copy, so a WAL would only cost writes.
func storeOptions(cache *pebble.Cache) *pebble.Options {
	// L0 takes up to 8 tables before compacting, so that a restore (a few
	// flushed 34 MiB batches) is not slowed by compactions it triggers:
	// what RocksDB's bulk-load mode does for Kafka Streams' restores.
	o := &pebble.Options{Cache: cache, MemTableSize: 64 << 20, DisableWAL: true,
		L0CompactionThreshold: 8, L0StopWritesThreshold: 24, Logger: quietLogger{}}
	o.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionNone })
	for i := range o.Levels {
		o.Levels[i].BlockSize = 32 << 10
	}
	return o
}
