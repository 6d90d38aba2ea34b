// Package audit is kdeck's audit log: the append-only JSON-lines file in the
// data dir where every mutation is recorded twice under one id, its intent
// before and its outcome after, and the entries ops.Service returns.
//
// One Log serves every face of a data dir; appends and rotation are
// serialised across processes by an flock, and reads are incremental:
//
//	log := audit.New(dataDir, 0, 0) // default rotation
//	e := audit.Entry{Action: "offsets.reset", Group: "billing"}
//	audit.Fill(&e, time.Now())
//	e.Outcome = audit.OutcomePending
//	if err := log.Append(e); err != nil { ... } // must not mutate
//	... mutate, then append e again with OutcomeOK or OutcomeFailed ...
//	_ = log.List(func(e audit.Entry) bool { fmt.Println(audit.Resolve(e.Clone()).Outcome); return true })
package audit

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// FileName is the audit log's file name in the data dir. Rotated files
// are FileName.1 (the newest) to FileName.N.
const FileName = "audit.jsonl"

// lockName is the lock file that serialises appends and rotation
// across processes sharing a data dir.
const lockName = "audit.lock"

// Defaults of the audit log's rotation.
const (
	// DefaultMaxBytes is the size past which audit.jsonl is rotated.
	DefaultMaxBytes = 64 << 20
	// DefaultKeep is how many rotated files are kept.
	DefaultKeep = 5
)

// Outcomes of an audit entry.
const (
	// OutcomeOK: the mutation succeeded.
	OutcomeOK = "ok"
	// OutcomeFailed: the mutation failed; Error says why.
	OutcomeFailed = "failed"
	// OutcomePending: the intent is written and the process that writes
	// the outcome is still running.
	OutcomePending = "pending"
	// OutcomeUnknown: the intent is written but the process ended before
	// writing the outcome; the mutation may or may not have happened.
	OutcomeUnknown = "unknown"
)

// Log is the append-only JSON-lines audit file of a data dir. Each
// mutation writes two lines with one id: the intent (outcome "pending")
// before the mutation and the outcome after; both are fsynced. Readers merge
// them by id. Appends and rotation are serialised across processes by an
// flock on audit.lock, and each append is one write with O_APPEND.
//
// Reading is incremental: the current file's entries are kept in memory and
// only the bytes appended since the last read are parsed; rotated files are
// read on demand (a lookup by id builds an id-to-offset index per rotated
// file once). It is safe for concurrent use.
type Log struct {
	mu       sync.Mutex
	dir      string
	path     string
	maxBytes int64
	keep     int

	// Index of the current file: its identity, the bytes consumed, and
	// the merged entries in order of first appearance.
	cur os.FileInfo
	off int64
	idx index

	// rotated holds the id index of each rotated file, by path.
	rotated map[string]*rotatedIndex
}

type rotatedIndex struct {
	fi  os.FileInfo
	ids map[string]int64 // id -> offset of its last line in the file
}

func New(dir string, maxBytes int64, keep int) *Log {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if keep <= 0 {
		keep = DefaultKeep
	}
	return &Log{dir: dir, path: filepath.Join(dir, FileName), maxBytes: maxBytes, keep: keep, rotated: map[string]*rotatedIndex{}}
}

// NewID returns a time-ordered unique id such as 20261125-181502-3fa9c1.
func NewID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// host is this process's host name, recorded with its pid in each
// entry so a reader can tell an intent in flight from one whose process
// ended.
var host = func() string { h, _ := os.Hostname(); return h }()

// Fill sets the who/when fields of an entry that are still empty: the id,
// the time, the user (the process's), the SSH client, the host, the command
// line and the process ("host:pid"). A caller that knows who asked (an
// actor) sets User and Host before calling it.
func Fill(e *Entry, now time.Time) {
	if e.ID == "" {
		e.ID = NewID(now)
	}
	if e.Time.IsZero() {
		e.Time = now.UTC()
	}
	if e.User == "" {
		if u, err := user.Current(); err == nil {
			e.User = u.Username
		} else {
			e.User = os.Getenv("USER")
		}
	}
	if e.SSHClient == "" {
		e.SSHClient = os.Getenv("SSH_CLIENT")
		if e.SSHClient == "" {
			e.SSHClient = os.Getenv("SSH_CONNECTION")
		}
	}
	if e.Host == "" {
		e.Host = host
	}
	if e.Command == "" {
		e.Command = strings.Join(os.Args, " ")
	}
	if e.Process == "" {
		e.Process = host + ":" + strconv.Itoa(os.Getpid())
	}
}

// lockFile takes an exclusive flock on the data dir's audit.lock; the
// returned func releases it. The kernel releases it if the process dies.
func (a *Log) lockFile() (func(), error) {
	f, err := os.OpenFile(filepath.Join(a.dir, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// Append writes one entry and fsyncs it, rotating the file first when the
// entry would take it past maxBytes.
func (a *Log) Append(e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := os.MkdirAll(a.dir, 0o700); err != nil {
		return fmt.Errorf("cannot create the data dir %s for the audit log: %w", a.dir, err)
	}
	unlock, err := a.lockFile()
	if err != nil {
		return fmt.Errorf("cannot lock the audit log in %s: %w", a.dir, err)
	}
	defer unlock()
	fi, err := os.Stat(a.path)
	switch {
	case err == nil && fi.Size() > 0 && fi.Size()+int64(len(b)) > a.maxBytes:
		if err := a.rotate(); err != nil {
			return fmt.Errorf("cannot rotate the audit log %s: %w", a.path, err)
		}
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("cannot open the audit log %s: %w", a.path, err)
	}
	f, err := os.OpenFile(a.path, os.O_CREATE|os.O_APPEND|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("cannot open the audit log %s: %w", a.path, err)
	}
	defer f.Close()
	// A crash mid-write leaves a torn last line: end it, so this entry
	// starts a line of its own.
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			b = append([]byte{'\n'}, b...)
		}
	}
	if _, err := f.Write(b); err != nil {
		return fmt.Errorf("cannot write the audit log %s: %w", a.path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("cannot sync the audit log %s: %w", a.path, err)
	}
	return nil
}

// rotate renames audit.jsonl to audit.jsonl.1, shifting older files up and
// removing the one past keep. The caller holds the lock file.
func (a *Log) rotate() error {
	_ = os.Remove(a.rotatedPath(a.keep))
	for i := a.keep - 1; i >= 1; i-- {
		if err := os.Rename(a.rotatedPath(i), a.rotatedPath(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := os.Rename(a.path, a.rotatedPath(1)); err != nil {
		return err
	}
	if d, err := os.Open(a.dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

func (a *Log) rotatedPath(i int) string { return a.path + "." + strconv.Itoa(i) }

// refresh brings the index of the current file up to date, reading only the
// complete lines appended since the last call. A rotation (another file at
// the path, or a shorter one) starts the index over. The caller holds a.mu.
func (a *Log) refresh() error {
	f, err := os.Open(a.path)
	if errors.Is(err, os.ErrNotExist) {
		a.reset(nil)
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot read the audit log %s: %w", a.path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("cannot read the audit log %s: %w", a.path, err)
	}
	if a.cur == nil || !os.SameFile(a.cur, fi) || fi.Size() < a.off {
		a.reset(fi)
	}
	if fi.Size() == a.off {
		return nil
	}
	if _, err := f.Seek(a.off, io.SeekStart); err != nil {
		return fmt.Errorf("cannot read the audit log %s: %w", a.path, err)
	}
	n, err := scanLines(f, func(line []byte, _ int64) {
		if e, ok := parseLine(line); ok {
			a.idx.merge(e)
		}
	})
	a.off += n
	if err != nil {
		return fmt.Errorf("cannot read the audit log %s: %w", a.path, err)
	}
	return nil
}

func (a *Log) reset(fi os.FileInfo) {
	a.cur, a.off, a.idx = fi, 0, index{}
}

// index holds the entries of one file merged by id, in order of first
// appearance.
type index struct {
	entries []Entry
	byID    map[string]int
}

// merge adds an entry; a later line of the same id (the outcome) replaces
// the earlier one (the intent).
func (x *index) merge(e Entry) {
	if i, ok := x.byID[e.ID]; ok {
		x.entries[i] = e
		return
	}
	if x.byID == nil {
		x.byID = map[string]int{}
	}
	x.byID[e.ID] = len(x.entries)
	x.entries = append(x.entries, e)
}

// scanLines calls fn for every complete line of r with the line's offset
// relative to r's start, and returns the bytes consumed. A last line without
// a newline (being written, or torn by a crash) is not consumed.
func scanLines(r io.Reader, fn func(line []byte, at int64)) (int64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var n int64
	for {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		fn(bytes.TrimSuffix(line, []byte{'\n'}), n)
		n += int64(len(line))
	}
}

func parseLine(line []byte) (Entry, bool) {
	var e Entry
	if len(bytes.TrimSpace(line)) == 0 || json.Unmarshal(line, &e) != nil || e.ID == "" {
		return Entry{}, false
	}
	return e, true
}

// readAll returns the merged entries of one rotated file, oldest first.
func readAll(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var x index
	_, err = scanLines(f, func(line []byte, _ int64) {
		if e, ok := parseLine(line); ok {
			x.merge(e)
		}
	})
	return x.entries, err
}

// List calls fn for every entry, newest file first and, within a file,
// newest first, until fn returns false. Each id is passed once, with its
// latest line (the outcome when there is one). Rotated files are read only
// when fn asks for more than the current file holds.
func (a *Log) List(fn func(Entry) bool) error {
	seen, more, err := a.listCurrent(fn)
	if err != nil || !more {
		return err
	}
	for i := 1; i <= a.keep; i++ {
		es, err := readAll(a.rotatedPath(i))
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cannot read the audit log %s: %w", a.rotatedPath(i), err)
		}
		for j := len(es) - 1; j >= 0; j-- {
			if seen[es[j].ID] {
				continue
			}
			seen[es[j].ID] = true
			if !fn(es[j]) {
				return nil
			}
		}
	}
	return nil
}

// listCurrent calls fn for the current file's entries, newest first, under
// a.mu (fn must not call back into a), and returns their ids and whether fn
// asked for more.
func (a *Log) listCurrent(fn func(Entry) bool) (map[string]bool, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.refresh(); err != nil {
		return nil, false, err
	}
	es := a.idx.entries
	seen := map[string]bool{}
	for i := len(es) - 1; i >= 0; i-- {
		seen[es[i].ID] = true
		if !fn(es[i]) {
			return seen, false, nil
		}
	}
	return seen, true, nil
}

// Get returns the latest line of an entry by id: from the current file's
// index, else from the rotated files' id indexes (built once per file).
func (a *Log) Get(id string) (Entry, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.refresh(); err != nil {
		return Entry{}, false, err
	}
	if i, ok := a.idx.byID[id]; ok {
		return a.idx.entries[i], true, nil
	}
	for i := 1; i <= a.keep; i++ {
		p := a.rotatedPath(i)
		idx, err := a.rotatedIdx(p)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			return Entry{}, false, err
		}
		at, ok := idx.ids[id]
		if !ok {
			continue
		}
		e, err := readLineAt(p, at)
		if err != nil {
			return Entry{}, false, err
		}
		return e, true, nil
	}
	return Entry{}, false, nil
}

// rotatedIdx returns the id index of a rotated file, building it when the
// file is new or was replaced by a rotation. The caller holds a.mu.
func (a *Log) rotatedIdx(path string) (*rotatedIndex, error) {
	f, err := os.Open(path)
	if err != nil {
		delete(a.rotated, path)
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if idx, ok := a.rotated[path]; ok && os.SameFile(idx.fi, fi) && idx.fi.Size() == fi.Size() {
		return idx, nil
	}
	idx := &rotatedIndex{fi: fi, ids: map[string]int64{}}
	var probe struct {
		ID string `json:"id"`
	}
	if _, err := scanLines(f, func(line []byte, at int64) {
		probe.ID = ""
		if json.Unmarshal(line, &probe) == nil && probe.ID != "" {
			idx.ids[probe.ID] = at
		}
	}); err != nil {
		return nil, fmt.Errorf("cannot read the audit log %s: %w", path, err)
	}
	a.rotated[path] = idx
	return idx, nil
}

func readLineAt(path string, at int64) (Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return Entry{}, err
	}
	defer f.Close()
	if _, err := f.Seek(at, io.SeekStart); err != nil {
		return Entry{}, err
	}
	line, err := bufio.NewReaderSize(f, 64<<10).ReadBytes('\n')
	if err != nil && err != io.EOF {
		return Entry{}, err
	}
	e, ok := parseLine(bytes.TrimSuffix(line, []byte{'\n'}))
	if !ok {
		return Entry{}, fmt.Errorf("the audit log %s changed while it was read; try again", path)
	}
	return e, nil
}

// Clone returns e with its own slices and map, so a caller may change the
// entries it got without changing the index.
func (e Entry) Clone() Entry {
	e.Before = append([]OffsetValue(nil), e.Before...)
	e.After = append([]OffsetValue(nil), e.After...)
	if e.Details != nil {
		d := make(map[string]string, len(e.Details))
		for k, v := range e.Details {
			d[k] = v
		}
		e.Details = d
	}
	return e
}

// Resolve turns the intent of an entry without an outcome into
// OutcomePending while its process runs, and OutcomeUnknown once it ended.
func Resolve(e Entry) Entry {
	if e.Outcome != OutcomePending {
		return e
	}
	host, pid, ok := strings.Cut(e.Process, ":")
	n, err := strconv.Atoi(pid)
	switch {
	case !ok || err != nil || n <= 0:
	case host != host:
		e.Outcome, e.Error = OutcomeUnknown, fmt.Sprintf("unknown outcome: process %s on another host wrote the intent and no outcome followed", pid)
		return e
	case n == os.Getpid() || syscall.Kill(n, 0) == nil || errors.Is(syscall.Kill(n, 0), syscall.EPERM):
		return e
	}
	e.Outcome, e.Error = OutcomeUnknown, "unknown outcome, process ended: the change may or may not have been made; check the current state"
	return e
}
