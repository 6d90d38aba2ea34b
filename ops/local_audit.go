package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/kdeck/kdeck/ops/audit"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The audit log's names that callers of Service use: the entries Audit
// returns, the filter it takes, and the committed offsets an entry records.
type (
	// AuditEntry is one record of the audit log (audit.Entry).
	AuditEntry = audit.Entry
	// AuditFilter selects audit entries (audit.Filter).
	AuditFilter = audit.Filter
	// OffsetValue is a committed offset of a group on one partition
	// (audit.OffsetValue).
	OffsetValue = audit.OffsetValue
)

// AuditFileName is the audit log's file name in the data dir.
const AuditFileName = audit.FileName

// Outcomes of an audit entry (see the audit package).
const (
	OutcomeOK      = audit.OutcomeOK
	OutcomeFailed  = audit.OutcomeFailed
	OutcomePending = audit.OutcomePending
	OutcomeUnknown = audit.OutcomeUnknown
)

// procHost is this process's host name, recorded by the worker lock and
// the group hold.
var procHost = func() string { h, _ := os.Hostname(); return h }()

// fillWho sets the who/when fields of an entry: the actor in ctx (the user
// and host of a remote or SSH caller) first, then what audit.Fill finds.
func fillWho(ctx context.Context, e *AuditEntry, now time.Time) {
	if a, ok := ActorFrom(ctx); ok {
		if e.User == "" {
			e.User = a.User
		}
		if e.Host == "" && a.Host != "" {
			e.Host = a.Host
		}
	}
	audit.Fill(e, now)
}

// audit returns the data dir's audit log. Every face of one data dir writes
// and reads the same file: the configuration's data dir, also when the
// embedded default keeps its cluster under DATA_DIR/embedded.
func (l *Local) audit() *audit.Log {
	l.auditOnce.Do(func() {
		l.auditLog = audit.New(l.cfg.DataDir(), l.lc.auditMaxBytes, l.lc.auditKeep)
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
	if err := l.audit().Append(in); err != nil {
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
	if err := l.audit().Append(e); err != nil {
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

// Audit implements Service.
func (l *Local) Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var out []AuditEntry
	err := l.audit().List(func(e AuditEntry) bool {
		if !f.Match(e) {
			return true
		}
		out = append(out, audit.Resolve(e.Clone()))
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
	e, ok, err := l.audit().Get(id)
	if err != nil {
		return AuditEntry{}, err
	}
	if !ok {
		return AuditEntry{}, notFoundf(ErrNotFound, "audit entry %q not found; list entries with 'kdeck audit'", id)
	}
	return audit.Resolve(e.Clone()), nil
}
