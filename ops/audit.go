package ops

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// AuditFileName is the audit log's file name in the data dir.
const AuditFileName = "audit.jsonl"

// auditLog is an append-only JSON-lines file, fsynced per entry. It is safe
// for concurrent use within a process; entries from several processes are
// appended with O_APPEND, one write each.
type auditLog struct {
	mu   sync.Mutex
	path string
}

func newAuditLog(dir string) *auditLog {
	return &auditLog{path: filepath.Join(dir, AuditFileName)}
}

// newAuditID returns a time-ordered unique id such as 20261125-181502-3fa9c1.
func newAuditID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// fill sets the who/when fields of an entry.
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
		e.Host, _ = os.Hostname()
	}
	if e.Command == "" {
		e.Command = strings.Join(os.Args, " ")
	}
}

// append writes one entry and fsyncs it.
func (a *auditLog) append(e AuditEntry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(a.path), 0o700); err != nil {
		return fmt.Errorf("cannot create the data dir for the audit log: %w", err)
	}
	f, err := os.OpenFile(a.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("cannot open the audit log %s: %w", a.path, err)
	}
	defer f.Close()
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("cannot write the audit log %s: %w", a.path, err)
	}
	return f.Sync()
}

// list reads every entry, oldest first. A torn last line (a crash mid-write)
// is skipped.
func (a *auditLog) list() ([]AuditEntry, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f, err := os.Open(a.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the audit log %s: %w", a.path, err)
	}
	defer f.Close()
	var out []AuditEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	for sc.Scan() {
		var e AuditEntry
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.ID != "" {
			out = append(out, e)
		}
	}
	return out, sc.Err()
}

func (l *Local) audit() *auditLog {
	l.auditOnce.Do(func() {
		dir := l.Info().DataDir
		l.auditLog = newAuditLog(dir)
	})
	return l.auditLog
}

// recordAudit appends an entry for a mutation with its outcome. A failure
// to write the audit log is logged; the mutation has already happened.
func (l *Local) recordAudit(ctx context.Context, e AuditEntry, opErr error) AuditEntry {
	fillWho(ctx, &e, l.now())
	e.Outcome = "ok"
	if opErr != nil {
		e.Outcome, e.Error = "failed", opErr.Error()
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
	all, err := l.audit().list()
	if err != nil {
		return nil, err
	}
	out := make([]AuditEntry, 0, len(all))
	for i := len(all) - 1; i >= 0; i-- {
		e := all[i]
		switch {
		case f.Cluster != "" && e.Cluster != f.Cluster,
			f.Group != "" && e.Group != f.Group,
			f.Job != "" && e.Job != f.Job,
			!matchAction(f.Action, e.Action),
			!f.Since.IsZero() && e.Time.Before(f.Since),
			!f.Until.IsZero() && e.Time.After(f.Until):
			continue
		}
		out = append(out, e)
		if f.Limit > 0 && len(out) >= f.Limit {
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	return out, nil
}

// AuditEntry implements Service.
func (l *Local) AuditEntry(ctx context.Context, id string) (AuditEntry, error) {
	all, err := l.audit().list()
	if err != nil {
		return AuditEntry{}, err
	}
	for _, e := range all {
		if e.ID == id {
			return e, nil
		}
	}
	return AuditEntry{}, notFoundf(ErrNotFound, "audit entry %q not found; list entries with 'kdeck audit'", id)
}
