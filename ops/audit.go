package ops

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// AuditFileName is the audit log's file name in the data dir. Rotated files
// are AuditFileName.1 (the newest) to AuditFileName.N.
const AuditFileName = "audit.jsonl"

// auditLockName is the lock file that serialises appends and rotation
// across processes sharing a data dir.
const auditLockName = "audit.lock"

// Defaults of the audit log's rotation.
const (
	// DefaultAuditMaxBytes is the size past which audit.jsonl is rotated.
	DefaultAuditMaxBytes = 64 << 20
	// DefaultAuditKeep is how many rotated files are kept.
	DefaultAuditKeep = 5
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

// auditLog is the append-only JSON-lines audit file of a data dir. Each
// mutation writes two lines with one id: the intent (outcome "pending")
// before the mutation and the outcome after; both are fsynced. Readers merge
// them by id. Appends and rotation are serialised across processes by an
// flock on audit.lock, and each append is one write with O_APPEND.
//
// Reading is incremental: the current file's entries are kept in memory and
// only the bytes appended since the last read are parsed; rotated files are
// read on demand (a lookup by id builds an id-to-offset index per rotated
// file once). It is safe for concurrent use.
type auditLog struct {
	mu       sync.Mutex
	dir      string
	path     string
	maxBytes int64
	keep     int

	// Index of the current file: its identity, the bytes consumed, and
	// the merged entries in order of first appearance.
	cur os.FileInfo
	off int64
	idx auditIndex

	// rotated holds the id index of each rotated file, by path.
	rotated map[string]*rotatedIndex
}

type rotatedIndex struct {
	fi  os.FileInfo
	ids map[string]int64 // id -> offset of its last line in the file
}

func newAuditLog(dir string, maxBytes int64, keep int) *auditLog {
	if maxBytes <= 0 {
		maxBytes = DefaultAuditMaxBytes
	}
	if keep <= 0 {
		keep = DefaultAuditKeep
	}
	return &auditLog{dir: dir, path: filepath.Join(dir, AuditFileName), maxBytes: maxBytes, keep: keep, rotated: map[string]*rotatedIndex{}}
}

// newAuditID returns a time-ordered unique id such as 20261125-181502-3fa9c1.
func newAuditID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// procHost is this process's host name, recorded with its pid in each
// entry so a reader can tell an intent in flight from one whose process
// ended.
var procHost = func() string { h, _ := os.Hostname(); return h }()

// fillWho sets the who/when fields of an entry.
func fillWho(ctx context.Context, e *AuditEntry, now time.Time) {
	if a, ok := ActorFrom(ctx); ok {
		if e.User == "" {
			e.User = a.User
		}
		if e.Host == "" && a.Host != "" {
			e.Host = a.Host
		}
	}
	if e.ID == "" {
		e.ID = newAuditID(now)
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
		e.Host = procHost
	}
	if e.Command == "" {
		e.Command = strings.Join(os.Args, " ")
	}
	if e.Process == "" {
		e.Process = procHost + ":" + strconv.Itoa(os.Getpid())
	}
}

// lockFile takes an exclusive flock on the data dir's audit.lock; the
// returned func releases it. The kernel releases it if the process dies.
func (a *auditLog) lockFile() (func(), error) {
	f, err := os.OpenFile(filepath.Join(a.dir, auditLockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// append writes one entry and fsyncs it, rotating the file first when the
// entry would take it past maxBytes.
func (a *auditLog) append(e AuditEntry) error {
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
func (a *auditLog) rotate() error {
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

func (a *auditLog) rotatedPath(i int) string { return a.path + "." + strconv.Itoa(i) }

// refresh brings the index of the current file up to date, reading only the
// complete lines appended since the last call. A rotation (another file at
// the path, or a shorter one) starts the index over. The caller holds a.mu.
func (a *auditLog) refresh() error {
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
		if e, ok := parseAuditLine(line); ok {
			a.idx.merge(e)
		}
	})
	a.off += n
	if err != nil {
		return fmt.Errorf("cannot read the audit log %s: %w", a.path, err)
	}
	return nil
}

func (a *auditLog) reset(fi os.FileInfo) {
	a.cur, a.off, a.idx = fi, 0, auditIndex{}
}

// auditIndex holds the entries of one file merged by id, in order of first
// appearance.
type auditIndex struct {
	entries []AuditEntry
	byID    map[string]int
}

// merge adds an entry; a later line of the same id (the outcome) replaces
// the earlier one (the intent).
func (x *auditIndex) merge(e AuditEntry) {
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

func parseAuditLine(line []byte) (AuditEntry, bool) {
	var e AuditEntry
	if len(bytes.TrimSpace(line)) == 0 || json.Unmarshal(line, &e) != nil || e.ID == "" {
		return AuditEntry{}, false
	}
	return e, true
}

// readAll returns the merged entries of one rotated file, oldest first.
func readAll(path string) ([]AuditEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var x auditIndex
	_, err = scanLines(f, func(line []byte, _ int64) {
		if e, ok := parseAuditLine(line); ok {
			x.merge(e)
		}
	})
	return x.entries, err
}

// list calls fn for every entry, newest file first and, within a file,
// newest first, until fn returns false. Each id is passed once, with its
// latest line (the outcome when there is one). Rotated files are read only
// when fn asks for more than the current file holds.
func (a *auditLog) list(fn func(AuditEntry) bool) error {
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
func (a *auditLog) listCurrent(fn func(AuditEntry) bool) (map[string]bool, bool, error) {
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

// get returns the latest line of an entry by id: from the current file's
// index, else from the rotated files' id indexes (built once per file).
func (a *auditLog) get(id string) (AuditEntry, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.refresh(); err != nil {
		return AuditEntry{}, false, err
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
			return AuditEntry{}, false, err
		}
		at, ok := idx.ids[id]
		if !ok {
			continue
		}
		e, err := readLineAt(p, at)
		if err != nil {
			return AuditEntry{}, false, err
		}
		return e, true, nil
	}
	return AuditEntry{}, false, nil
}

// rotatedIdx returns the id index of a rotated file, building it when the
// file is new or was replaced by a rotation. The caller holds a.mu.
func (a *auditLog) rotatedIdx(path string) (*rotatedIndex, error) {
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

func readLineAt(path string, at int64) (AuditEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return AuditEntry{}, err
	}
	defer f.Close()
	if _, err := f.Seek(at, io.SeekStart); err != nil {
		return AuditEntry{}, err
	}
	line, err := bufio.NewReaderSize(f, 64<<10).ReadBytes('\n')
	if err != nil && err != io.EOF {
		return AuditEntry{}, err
	}
	e, ok := parseAuditLine(bytes.TrimSuffix(line, []byte{'\n'}))
	if !ok {
		return AuditEntry{}, fmt.Errorf("the audit log %s changed while it was read; try again", path)
	}
	return e, nil
}

// clone returns e with its own slices and map, so a caller may change the
// entries it got without changing the index.
func (e AuditEntry) clone() AuditEntry {
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

// resolvePending turns the intent of an entry without an outcome into
// OutcomePending while its process runs, and OutcomeUnknown once it ended.
func resolvePending(e AuditEntry) AuditEntry {
	if e.Outcome != OutcomePending {
		return e
	}
	host, pid, ok := strings.Cut(e.Process, ":")
	n, err := strconv.Atoi(pid)
	switch {
	case !ok || err != nil || n <= 0:
	case host != procHost:
		e.Outcome, e.Error = OutcomeUnknown, fmt.Sprintf("unknown outcome: process %s on another host wrote the intent and no outcome followed", pid)
		return e
	case n == os.Getpid() || syscall.Kill(n, 0) == nil || errors.Is(syscall.Kill(n, 0), syscall.EPERM):
		return e
	}
	e.Outcome, e.Error = OutcomeUnknown, "unknown outcome, process ended: the change may or may not have been made; check the current state"
	return e
}

// audit returns the data dir's audit log. Every face of one data dir writes
// and reads the same file: the configuration's data dir, also when the
// embedded default keeps its cluster under DATA_DIR/embedded.
func (l *Local) audit() *auditLog {
	l.auditOnce.Do(func() {
		l.auditLog = newAuditLog(l.cfg.DataDir(), l.lc.auditMaxBytes, l.lc.auditKeep)
	})
	return l.auditLog
}

// auditIntent fills the who/when fields of e and writes it as an intent
// (outcome "pending") before the mutation it describes. When the intent
// cannot be written it returns an error and the caller must not mutate.
// Pass the same e to recordAudit afterwards to write the outcome.
func (l *Local) auditIntent(ctx context.Context, e *AuditEntry) error {
	fillWho(ctx, e, l.now())
	in := *e
	in.Outcome = OutcomePending
	if err := l.audit().append(in); err != nil {
		return &wrapped{msg: fmt.Sprintf("%v: nothing was changed, because every change must be audited first; check the data dir's permissions and free space", err), err: ErrAuditWrite}
	}
	return nil
}

// recordAudit appends the outcome of a mutation (after auditIntent wrote
// its intent with the same entry, or alone for a mutation without one). A
// failure to write it is logged: the mutation has already happened, and the
// intent stands as "unknown outcome".
func (l *Local) recordAudit(ctx context.Context, e AuditEntry, opErr error) AuditEntry {
	fillWho(ctx, &e, l.now())
	e.Outcome, e.Error = OutcomeOK, ""
	if opErr != nil {
		e.Outcome, e.Error = OutcomeFailed, opErr.Error()
	}
	if err := l.audit().append(e); err != nil {
		l.log.Error("audit log write failed", "err", err, "id", e.ID)
	}
	if topic := l.cfg.Ops.AuditTopic; topic != "" {
		if err := l.produceAudit(topic, e); err != nil {
			l.log.Error("audit topic write failed", "err", err, "id", e.ID, "topic", topic)
		}
	}
	return e
}

// auditProduceTimeout bounds writing an entry to [ops] audit_topic.
const auditProduceTimeout = 5 * time.Second

// produceAudit writes an entry to the audit topic on the default cluster,
// keyed by its group (or job, or action), and waits for the ack.
func (l *Local) produceAudit(topic string, e AuditEntry) error {
	c, err := l.client("")
	if err != nil {
		return err
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), auditProduceTimeout)
	defer cancel()
	key := firstNonEmpty(e.Group, e.Job, e.Action)
	return c.kgo.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte(key), Value: b, Timestamp: e.Time}).FirstErr()
}

// matchAction reports whether an entry's action matches a filter's.
func matchAction(filter, action string) bool {
	return filter == "" || action == filter || strings.HasPrefix(action, filter+".")
}

// Audit implements Service.
func (l *Local) Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var out []AuditEntry
	err := l.audit().list(func(e AuditEntry) bool {
		switch {
		case f.Cluster != "" && e.Cluster != f.Cluster,
			f.Group != "" && e.Group != f.Group,
			f.Job != "" && e.Job != f.Job,
			!matchAction(f.Action, e.Action),
			!f.Since.IsZero() && e.Time.Before(f.Since),
			!f.Until.IsZero() && e.Time.After(f.Until):
			return true
		}
		out = append(out, resolvePending(e.clone()))
		return f.Limit <= 0 || len(out) < f.Limit
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []AuditEntry{}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	return out, nil
}

// AuditEntry implements Service.
func (l *Local) AuditEntry(ctx context.Context, id string) (AuditEntry, error) {
	if strings.TrimSpace(id) == "" {
		return AuditEntry{}, invalidf("no audit id given: list entries with 'kdeck audit'")
	}
	e, ok, err := l.audit().get(id)
	if err != nil {
		return AuditEntry{}, err
	}
	if !ok {
		return AuditEntry{}, notFoundf(ErrNotFound, "audit entry %q not found; list entries with 'kdeck audit'", id)
	}
	return resolvePending(e.clone()), nil
}
