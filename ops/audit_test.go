package ops_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
)

// The console on the embedded default and a CLI process on the same data
// dir read and write one audit log: an entry the console wrote is found by
// the CLI's undo, and the other way round.
func TestAuditOneLogForEmbeddedAndCLI(t *testing.T) {
	dir := t.TempDir()
	e, err := ops.StartEmbedded(context.Background(), ops.EmbeddedOptions{Port: 0, DataDir: filepath.Join(dir, "embedded")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Clusters: map[string]*config.Cluster{}, Ops: config.Ops{DataDir: dir}}
	console, err := ops.NewLocal(cfg, ops.WithEmbedded(e))
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { console.Close() })
	if err := console.CreateTopic(ctx(t), "", ops.CreateTopicRequest{Name: "orders", Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	byConsole, err := console.Audit(ctx(t), ops.AuditFilter{Limit: 1})
	if err != nil || len(byConsole) != 1 {
		t.Fatalf("console audit: %+v, %v", byConsole, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ops.AuditFileName)); err != nil {
		t.Fatalf("the console's entry is not in DATA_DIR/%s: %v", ops.AuditFileName, err)
	}
	cli, err := ops.NewLocal(&config.Config{Clusters: map[string]*config.Cluster{"x": {Name: "x", Brokers: []string{e.Addr()}}}, Ops: config.Ops{DataDir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	got, err := cli.AuditEntry(ctx(t), byConsole[0].ID)
	if err != nil || got.Action != "topics.create" || got.Outcome != ops.OutcomeOK {
		t.Fatalf("the CLI does not find the console's entry %s: %+v, %v", byConsole[0].ID, got, err)
	}
	if err := cli.DeleteTopic(ctx(t), "", "orders"); err != nil {
		t.Fatal(err)
	}
	if es, _ := console.Audit(ctx(t), ops.AuditFilter{}); len(es) != 2 || es[0].Action != "topics.delete" {
		t.Fatalf("the console does not see the CLI's entry: %+v", es)
	}
}

// An intent that cannot be written fails the command before anything
// changes: no topic is created, no offset is committed.
func TestAuditIntentFailureChangesNothing(t *testing.T) {
	c := seed(t)
	dir := t.TempDir()
	// A directory where the log should be: every open for append fails.
	if err := os.Mkdir(filepath.Join(dir, ops.AuditFileName), 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := ops.NewLocal(&config.Config{Clusters: map[string]*config.Cluster{c.Name(): c.Config()}, Ops: config.Ops{DataDir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	err = l.CreateTopic(ctx(t), "", ops.CreateTopicRequest{Name: "never", Partitions: 1})
	if !errors.Is(err, ops.ErrAuditWrite) || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("create with an unwritable audit log: %v, want ErrAuditWrite saying nothing was changed", err)
	}
	if td, err := c.Admin(t).ListTopics(ctx(t), "never"); err != nil || td.Has("never") {
		t.Fatalf("topic created although its intent was not audited: %v", err)
	}
	plan, err := l.PlanReset(ctx(t), ops.ResetRequest{Group: "billing", Mode: ops.ResetToEarliest, Scope: []ops.TopicScope{{Topic: "orders"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.ExecutePlan(ctx(t), plan); !errors.Is(err, ops.ErrAuditWrite) {
		t.Fatalf("execute with an unwritable audit log: %v, want ErrAuditWrite", err)
	}
	if got := c.Committed(t, "billing")["orders"]; got[0] != 10 || got[1] != 50 || got[2] != 90 {
		t.Fatalf("offsets changed although the intent was not audited: %v", got)
	}
}

// An intent without an outcome reads as pending while its process runs and
// as "unknown outcome, process ended" after.
func TestAuditIntentWithoutOutcome(t *testing.T) {
	dir := t.TempDir()
	host, _ := os.Hostname()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	write := func(id string, pid int) {
		b, _ := json.Marshal(ops.AuditEntry{ID: id, Time: time.Now().UTC(), Action: ops.ActionOffsetsReset, Group: "g", Outcome: ops.OutcomePending, Process: host + ":" + strconv.Itoa(pid),
			Before: []ops.OffsetValue{{Topic: "t", Partition: 0, Offset: 5, LeaderEpoch: -1}}, After: []ops.OffsetValue{{Topic: "t", Partition: 0, Offset: 0, LeaderEpoch: -1}}})
		f, err := os.OpenFile(filepath.Join(dir, ops.AuditFileName), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Write(append(b, '\n')); err != nil {
			t.Fatal(err)
		}
	}
	write("crashed", dead.Process.Pid)
	write("inflight", os.Getpid())
	l, err := ops.NewLocal(&config.Config{Clusters: map[string]*config.Cluster{"x": {Name: "x", Brokers: []string{"127.0.0.1:1"}}}, Ops: config.Ops{DataDir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	e, err := l.AuditEntry(ctx(t), "crashed")
	if err != nil || e.Outcome != ops.OutcomeUnknown || !strings.Contains(e.Error, "unknown outcome, process ended") {
		t.Fatalf("intent of an ended process: %+v, %v; want outcome unknown", e, err)
	}
	if e, err := l.AuditEntry(ctx(t), "inflight"); err != nil || e.Outcome != ops.OutcomePending {
		t.Fatalf("intent of a running process: %+v, %v; want pending", e, err)
	}
	if _, err := l.PlanUndo(ctx(t), "crashed"); !errors.Is(err, ops.ErrRefused) {
		t.Fatalf("undo of an unknown outcome: %v, want refused", err)
	}
	// The outcome line, once written, replaces the intent.
	b, _ := json.Marshal(ops.AuditEntry{ID: "inflight", Action: ops.ActionOffsetsReset, Group: "g", Outcome: ops.OutcomeFailed, Error: "boom"})
	f, _ := os.OpenFile(filepath.Join(dir, ops.AuditFileName), os.O_APPEND|os.O_WRONLY, 0o600)
	f.Write(append(b, '\n'))
	f.Close()
	es, err := l.Audit(ctx(t), ops.AuditFilter{})
	if err != nil || len(es) != 2 {
		t.Fatalf("audit after the outcome: %+v, %v; want two entries", es, err)
	}
	for _, e := range es {
		if e.ID == "inflight" && (e.Outcome != ops.OutcomeFailed || e.Error != "boom") {
			t.Fatalf("outcome not merged with its intent: %+v", e)
		}
	}
}

// ExecutePlan records as after only the partitions whose commit succeeded,
// and such a partly failed entry can still be undone.
func TestExecuteRecordsOnlyCommittedPartitions(t *testing.T) {
	c := seed(t)
	c.NeedsFake(t)
	l := newLocal(t, c)
	plan, err := l.PlanReset(ctx(t), ops.ResetRequest{Group: "billing", Mode: ops.ResetToEarliest, Scope: []ops.TopicScope{{Topic: "orders"}}})
	if err != nil {
		t.Fatal(err)
	}
	// The broker loses orders/0 from the next OffsetCommit: it commits the
	// other partitions and does not answer for that one.
	c.Fake.ControlKey(int16(kmsg.OffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		r := req.(*kmsg.OffsetCommitRequest)
		for i := range r.Topics {
			ps := r.Topics[i].Partitions[:0]
			for _, p := range r.Topics[i].Partitions {
				if p.Partition != 0 {
					ps = append(ps, p)
				}
			}
			r.Topics[i].Partitions = ps
		}
		return nil, nil, false
	})
	e, err := l.ExecutePlan(ctx(t), plan)
	if err == nil || !strings.Contains(err.Error(), "orders/0") {
		t.Fatalf("execute with a lost partition: %v, want an error naming orders/0", err)
	}
	if got := c.Committed(t, "billing")["orders"]; got[0] != 10 || got[1] != 0 || got[2] != 0 {
		t.Fatalf("committed %v, want orders/0 unchanged at 10 and the others at 0", got)
	}
	if e.Outcome != ops.OutcomeFailed || len(e.After) != 2 || len(e.Before) != 2 {
		t.Fatalf("entry before %v after %v outcome %s; want the two committed partitions only", e.Before, e.After, e.Outcome)
	}
	for _, a := range e.After {
		if a.Partition == 0 {
			t.Fatalf("after holds orders/0, whose commit failed: %v", e.After)
		}
	}
	stored, err := l.AuditEntry(ctx(t), e.ID)
	if err != nil || len(stored.After) != 2 {
		t.Fatalf("stored entry %+v, %v", stored, err)
	}
	undo, err := l.PlanUndo(ctx(t), e.ID)
	if err != nil {
		t.Fatalf("undo of the partly failed entry: %v", err)
	}
	if _, err := l.ExecutePlan(ctx(t), undo); err != nil {
		t.Fatal(err)
	}
	if got := c.Committed(t, "billing")["orders"]; got[0] != 10 || got[1] != 50 || got[2] != 90 {
		t.Fatalf("after undo %v, want 10 50 90", got)
	}
}
