package ops_test

import (
	"bytes"
	"errors"
	"maps"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// seed makes topic "orders" with 3 partitions of 100 records each and
// group "billing" committed at 10, 50, 90, plus topic "clicks" (2 x 10)
// committed at 5 on partition 0.
func seed(t *testing.T) *kafkatest.Cluster {
	t.Helper()
	c := kafkatest.New(t)
	c.CreateTopic(t, "orders", 3)
	c.ProduceN(t, "orders", 300)
	c.CreateTopic(t, "clicks", 2)
	c.ProduceN(t, "clicks", 20)
	c.Commit(t, "billing", map[string]map[int32]int64{"orders": {0: 10, 1: 50, 2: 90}, "clicks": {0: 5}})
	return c
}

type rowWant struct {
	topic     string
	partition int32
	current   int64
	new       int64
	note      string
}

func checkRows(t *testing.T, p *ops.Plan, want []rowWant) {
	t.Helper()
	if len(p.Rows) != len(want) {
		t.Fatalf("plan has %d rows, want %d: %+v", len(p.Rows), len(want), p.Rows)
	}
	for i, w := range want {
		r := p.Rows[i]
		if r.Topic != w.topic || r.Partition != w.partition || r.Current != w.current || r.New != w.new {
			t.Errorf("row %d = %s/%d %d->%d, want %s/%d %d->%d", i, r.Topic, r.Partition, r.Current, r.New, w.topic, w.partition, w.current, w.new)
		}
		if !strings.Contains(r.Note, w.note) || (w.note == "" && r.Note != "") {
			t.Errorf("row %d note = %q, want %q", i, r.Note, w.note)
		}
	}
}

func TestPlanResetModesAndScopes(t *testing.T) {
	c := seed(t)
	c.Commit(t, "other", map[string]map[int32]int64{"orders": {0: 77, 2: 3}})
	l := newLocal(t, c)
	orders := []ops.TopicScope{{Topic: "orders"}}
	tests := []struct {
		name string
		req  ops.ResetRequest
		want []rowWant
	}{
		{"earliest", ops.ResetRequest{Mode: ops.ResetToEarliest, Scope: orders},
			[]rowWant{{"orders", 0, 10, 0, ""}, {"orders", 1, 50, 0, ""}, {"orders", 2, 90, 0, ""}}},
		{"latest some partitions", ops.ResetRequest{Mode: ops.ResetToLatest, Scope: []ops.TopicScope{{Topic: "orders", Partitions: []int32{0, 2}}}},
			[]rowWant{{"orders", 0, 10, 100, ""}, {"orders", 2, 90, 100, ""}}},
		{"current gives uncommitted partitions the log end", ops.ResetRequest{Mode: ops.ResetToCurrent, Scope: []ops.TopicScope{{Topic: "clicks"}}},
			[]rowWant{{"clicks", 0, 5, 5, ""}, {"clicks", 1, -1, 10, "no commit: log end"}}},
		{"to-offset", ops.ResetRequest{Mode: ops.ResetToOffset, Offset: 42, Scope: orders},
			[]rowWant{{"orders", 0, 10, 42, ""}, {"orders", 1, 50, 42, ""}, {"orders", 2, 90, 42, ""}}},
		{"to-offset clamps to log end", ops.ResetRequest{Mode: ops.ResetToOffset, Offset: 1000, Scope: []ops.TopicScope{{Topic: "orders", Partitions: []int32{1}}}},
			[]rowWant{{"orders", 1, 50, 100, "clamped to log end 100 (asked 1000)"}}},
		{"shift-by back clamps to log start", ops.ResetRequest{Mode: ops.ResetShiftBy, Offset: -20, Scope: orders},
			[]rowWant{{"orders", 0, 10, 0, "clamped to log start 0 (asked -10)"}, {"orders", 1, 50, 30, ""}, {"orders", 2, 90, 70, ""}}},
		{"shift-by far back says it clamped", ops.ResetRequest{Mode: ops.ResetShiftBy, Offset: -100000, Scope: orders},
			[]rowWant{{"orders", 0, 10, 0, "clamped to log start 0 (asked -99990)"}, {"orders", 1, 50, 0, "clamped to log start 0"}, {"orders", 2, 90, 0, "clamped to log start 0"}}},
		{"shift-by max saturates", ops.ResetRequest{Mode: ops.ResetShiftBy, Offset: math.MaxInt64, Scope: orders},
			[]rowWant{{"orders", 0, 10, 100, "clamped to log end 100 (asked 9223372036854775807)"}, {"orders", 1, 50, 100, "clamped to log end 100"}, {"orders", 2, 90, 100, "clamped to log end 100"}}},
		{"shift-by min saturates", ops.ResetRequest{Mode: ops.ResetShiftBy, Offset: math.MinInt64, Scope: orders},
			[]rowWant{{"orders", 0, 10, 0, "clamped to log start 0 (asked -9223372036854775798)"}, {"orders", 1, 50, 0, "clamped to log start 0"}, {"orders", 2, 90, 0, "clamped to log start 0"}}},
		{"shift-by forward clamps", ops.ResetRequest{Mode: ops.ResetShiftBy, Offset: 20, Scope: orders},
			[]rowWant{{"orders", 0, 10, 30, ""}, {"orders", 1, 50, 70, ""}, {"orders", 2, 90, 100, "clamped to log end"}}},
		{"all topics", ops.ResetRequest{Mode: ops.ResetToEarliest, AllTopics: true},
			[]rowWant{{"clicks", 0, 5, 0, ""}, {"orders", 0, 10, 0, ""}, {"orders", 1, 50, 0, ""}, {"orders", 2, 90, 0, ""}}},
		{"to-group", ops.ResetRequest{Mode: ops.ResetToGroup, FromGroup: "other", Scope: orders},
			[]rowWant{{"orders", 0, 10, 77, ""}, {"orders", 1, 50, 50, `group "other" has no commit here`}, {"orders", 2, 90, 3, ""}}},
		{"to-group all topics takes the source's partitions", ops.ResetRequest{Mode: ops.ResetToGroup, FromGroup: "other", AllTopics: true},
			[]rowWant{{"orders", 0, 10, 77, ""}, {"orders", 2, 90, 3, ""}}},
		{"from-file", ops.ResetRequest{Mode: ops.ResetFromFile, FileOffsets: []ops.FileOffset{{Topic: "orders", Partition: 1, Offset: 7}, {Group: "else", Topic: "orders", Partition: 0, Offset: 1}, {Group: "billing", Topic: "clicks", Partition: 1, Offset: 500}}},
			[]rowWant{{"clicks", 1, -1, 10, "clamped to log end"}, {"orders", 1, 50, 7, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Group = "billing"
			p, err := l.PlanReset(ctx(t), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != ops.PlanReset || p.Group != "billing" || p.Cluster != "local" {
				t.Errorf("plan header = %+v", p)
			}
			checkRows(t, p, tt.want)
		})
	}
	// Nothing changed by planning.
	if got := c.Committed(t, "billing"); got["orders"][0] != 10 || got["orders"][2] != 90 || len(got["clicks"]) != 1 {
		t.Errorf("planning changed offsets: %v", got)
	}
}

func TestPlanTotals(t *testing.T) {
	c := seed(t)
	l := newLocal(t, c)
	p, err := l.PlanReset(ctx(t), ops.ResetRequest{Group: "billing", Mode: ops.ResetToOffset, Offset: 50, Scope: []ops.TopicScope{{Topic: "orders"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := ops.PlanTotals{Partitions: 3, Changed: 2, Reread: 40, Skipped: 40}
	if p.Totals != want {
		t.Errorf("totals = %+v, want %+v", p.Totals, want)
	}
	if r := p.Rows[2]; r.Delta != -40 || r.Reread != 40 || r.Skipped != 0 {
		t.Errorf("row 2 = %+v", r)
	}
}

func TestPlanResetDatetime(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "events", 2)
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	c.ProduceAt(t, "events", 0, base, base.Add(time.Minute), base.Add(2*time.Minute), base.Add(3*time.Minute))
	c.ProduceAt(t, "events", 1, base, base.Add(30*time.Second))
	c.Commit(t, "g", map[string]map[int32]int64{"events": {0: 4, 1: 2}})
	l := newLocal(t, c)
	at := base.Add(90 * time.Second)
	p, err := l.PlanReset(ctx(t), ops.ResetRequest{Group: "g", Mode: ops.ResetToDatetime, Time: at, Scope: []ops.TopicScope{{Topic: "events"}}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Instant == nil || !p.Instant.Equal(at) {
		t.Errorf("instant = %v, want %v", p.Instant, at)
	}
	checkRows(t, p, []rowWant{{"events", 0, 4, 2, ""}, {"events", 1, 2, 2, "no record at or after 2026-11-25T10:01:30Z: log end"}})

	// By duration: relative to the Local's clock.
	l2 := newLocal(t, c, ops.WithClock(func() time.Time { return base.Add(4 * time.Minute) }))
	p, err = l2.PlanReset(ctx(t), ops.ResetRequest{Group: "g", Mode: ops.ResetByDuration, Duration: 3*time.Minute + 30*time.Second, Scope: []ops.TopicScope{{Topic: "events", Partitions: []int32{0}}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := base.Add(30 * time.Second); p.Instant == nil || !p.Instant.Equal(want) {
		t.Errorf("duration instant = %v, want %v", p.Instant, want)
	}
	checkRows(t, p, []rowWant{{"events", 0, 4, 1, ""}})
}

func TestPlanResetBadInput(t *testing.T) {
	c := seed(t)
	l := newLocal(t, c)
	tests := []struct {
		name string
		req  ops.ResetRequest
		is   error
		msg  string
	}{
		{"no mode", ops.ResetRequest{Group: "billing", AllTopics: true}, ops.ErrInvalid, "no reset mode"},
		{"no scope", ops.ResetRequest{Group: "billing", Mode: ops.ResetToEarliest}, ops.ErrInvalid, "no topics given"},
		{"unknown topic", ops.ResetRequest{Group: "billing", Mode: ops.ResetToEarliest, Scope: []ops.TopicScope{{Topic: "nope"}}}, ops.ErrInvalid, `topic "nope" does not exist`},
		{"unknown partition", ops.ResetRequest{Group: "billing", Mode: ops.ResetToEarliest, Scope: []ops.TopicScope{{Topic: "orders", Partitions: []int32{7}}}}, ops.ErrInvalid, `topic "orders" has no partition 7`},
		{"shift-by without commit", ops.ResetRequest{Group: "billing", Mode: ops.ResetShiftBy, Offset: -1, Scope: []ops.TopicScope{{Topic: "clicks"}}}, ops.ErrRefused, "clicks/1"},
		{"all topics of an unknown group", ops.ResetRequest{Group: "ghost", Mode: ops.ResetToEarliest, AllTopics: true}, ops.ErrInvalid, "no committed offsets"},
		{"to-group unknown", ops.ResetRequest{Group: "billing", Mode: ops.ResetToGroup, FromGroup: "ghost", AllTopics: true}, ops.ErrNotFound, `"ghost" has no committed offsets`},
		{"file rows for other groups only", ops.ResetRequest{Group: "billing", Mode: ops.ResetFromFile, FileOffsets: []ops.FileOffset{{Group: "x", Topic: "orders", Offset: 1}}}, ops.ErrInvalid, "no rows for group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := l.PlanReset(ctx(t), tt.req)
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want %v containing %q", err, tt.is, tt.msg)
			}
		})
	}
}

func TestResetRefusesActiveGroup(t *testing.T) {
	for _, kip848 := range []bool{false, true} {
		t.Run(map[bool]string{false: "classic", true: "kip848"}[kip848], func(t *testing.T) {
			c := kafkatest.New(t)
			c.CreateTopic(t, "orders", 2)
			c.ProduceN(t, "orders", 10)
			stop := c.ActiveMember(t, "live", kip848, "orders")
			l := newLocal(t, c)
			req := ops.ResetRequest{Group: "live", Mode: ops.ResetToEarliest, Scope: []ops.TopicScope{{Topic: "orders"}}}
			_, err := l.PlanReset(ctx(t), req)
			var ae *ops.ActiveGroupError
			if !errors.As(err, &ae) || !errors.Is(err, ops.ErrGroupActive) || !errors.Is(err, ops.ErrRefused) {
				t.Fatalf("err = %v, want ActiveGroupError", err)
			}
			if len(ae.Members) != 1 || !strings.Contains(err.Error(), "kafkatest-member") || !strings.Contains(err.Error(), "host ") {
				t.Errorf("message does not name the member and host: %v", err)
			}
			// Replaying into a new group is allowed while the group runs.
			p, err := l.PlanReset(ctx(t), ops.ResetRequest{Group: "live", TargetGroup: "live-replay", Mode: ops.ResetToEarliest, Scope: []ops.TopicScope{{Topic: "orders"}}})
			if err != nil {
				t.Fatal(err)
			}
			// The plan made, the group comes back: execute refuses too.
			stop()
			kafkatest.WaitFor(t, 20*time.Second, "group empty", func() bool {
				_, err := l.PlanReset(ctx(t), req)
				return err == nil
			})
			p2, err := l.PlanReset(ctx(t), req)
			if err != nil {
				t.Fatal(err)
			}
			c.ActiveMember(t, "live", kip848, "orders")
			if _, err := l.ExecutePlan(ctx(t), p2); !errors.As(err, &ae) {
				t.Errorf("execute on active group: err = %v", err)
			}
			if _, err := l.ExecutePlan(ctx(t), p); err != nil {
				t.Errorf("replay into new group: %v", err)
			}
		})
	}
}

func TestExecuteResetAndUndoRoundTrip(t *testing.T) {
	c := seed(t)
	// Commit with leader epochs and metadata: undo must restore them too.
	adm := c.Admin(t)
	var os kadm.Offsets
	os.Add(kadm.Offset{Topic: "orders", Partition: 0, At: 10, LeaderEpoch: 0, Metadata: "consumer-meta"})
	os.Add(kadm.Offset{Topic: "orders", Partition: 1, At: 50, LeaderEpoch: 0, Metadata: "m1"})
	if _, err := adm.CommitOffsets(ctx(t), "billing", os); err != nil {
		t.Fatal(err)
	}
	before, err := adm.FetchOffsets(ctx(t), "billing")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := before.Lookup("orders", 0); o.Metadata != "consumer-meta" || o.LeaderEpoch != 0 {
		t.Fatalf("the cluster did not keep commit metadata and epoch (%+v): the round trip would prove less", o)
	}
	l := newLocal(t, c)
	p, err := l.PlanReset(ctx(t), ops.ResetRequest{Group: "billing", Mode: ops.ResetToEarliest, AllTopics: true, Command: "kdeck offsets reset billing --all-topics --to-earliest --execute"})
	if err != nil {
		t.Fatal(err)
	}
	entry, err := l.ExecutePlan(ctx(t), p)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Committed(t, "billing"); got["orders"][0] != 0 || got["orders"][1] != 0 || got["orders"][2] != 0 || got["clicks"][0] != 0 {
		t.Fatalf("after reset: %v", got)
	}
	if entry.Action != ops.ActionOffsetsReset || entry.Outcome != "ok" || len(entry.Before) != 4 || len(entry.After) != 4 || entry.User == "" || entry.Host == "" || entry.Command == "" {
		t.Errorf("audit entry = %+v", entry)
	}
	stored, err := l.AuditEntry(ctx(t), entry.ID)
	if err != nil || stored.Group != "billing" || stored.Details["mode"] != "to-earliest" {
		t.Errorf("stored entry = %+v, %v", stored, err)
	}

	undo, err := l.PlanUndo(ctx(t), entry.ID)
	if err != nil {
		t.Fatal(err)
	}
	if undo.Kind != ops.PlanUndo || undo.UndoOf != entry.ID || undo.Totals.Changed != 4 {
		t.Errorf("undo plan = %+v", undo)
	}
	ue, err := l.ExecutePlan(ctx(t), undo)
	if err != nil {
		t.Fatal(err)
	}
	if ue.Action != ops.ActionOffsetsUndo || ue.UndoOf != entry.ID {
		t.Errorf("undo entry = %+v", ue)
	}
	after, err := adm.FetchOffsets(ctx(t), "billing")
	if err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(before, after, func(a, b map[int32]kadm.OffsetResponse) bool {
		return maps.EqualFunc(a, b, func(x, y kadm.OffsetResponse) bool { return x.Offset == y.Offset && x.Err == nil && y.Err == nil })
	}) {
		t.Errorf("offsets after undo differ:\nbefore %+v\nafter  %+v", before, after)
	}
	// Undoing again is refused: the group changed since the first entry.
	if _, err := l.PlanUndo(ctx(t), entry.ID); !errors.Is(err, ops.ErrGroupMoved) {
		t.Errorf("second undo: err = %v, want ErrGroupMoved", err)
	}
	// The undo entry itself can be undone (a redo).
	redo, err := l.PlanUndo(ctx(t), ue.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, redo, []rowWant{{"clicks", 0, 5, 0, ""}, {"orders", 0, 10, 0, ""}, {"orders", 1, 50, 0, ""}, {"orders", 2, 90, 0, ""}})

	list, err := l.Audit(ctx(t), ops.AuditFilter{Group: "billing", Action: "offsets"})
	if err != nil || len(list) != 2 || list[0].ID != ue.ID {
		t.Errorf("audit list = %+v, %v", list, err)
	}
	if list, _ := l.Audit(ctx(t), ops.AuditFilter{Group: "other"}); len(list) != 0 {
		t.Errorf("group filter: %+v", list)
	}
	if list, _ := l.Audit(ctx(t), ops.AuditFilter{Since: time.Now().Add(time.Hour)}); len(list) != 0 {
		t.Errorf("since filter: %+v", list)
	}
}

func TestUndoOfANewCommitDeletesIt(t *testing.T) {
	c := seed(t)
	l := newLocal(t, c)
	p, err := l.PlanReset(ctx(t), ops.ResetRequest{Group: "billing", Mode: ops.ResetToEarliest, Scope: []ops.TopicScope{{Topic: "clicks"}}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := l.ExecutePlan(ctx(t), p)
	if err != nil {
		t.Fatal(err)
	}
	u, err := l.PlanUndo(ctx(t), e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.ExecutePlan(ctx(t), u); err != nil {
		t.Fatal(err)
	}
	got := c.Committed(t, "billing")
	if len(got["clicks"]) != 1 || got["clicks"][0] != 5 {
		t.Errorf("clicks after undo = %v, want only partition 0 at 5", got["clicks"])
	}
}

func TestExecuteRefusesMovedGroup(t *testing.T) {
	c := seed(t)
	l := newLocal(t, c)
	p, err := l.PlanReset(ctx(t), ops.ResetRequest{Group: "billing", Mode: ops.ResetToLatest, Scope: []ops.TopicScope{{Topic: "orders"}}})
	if err != nil {
		t.Fatal(err)
	}
	c.Commit(t, "billing", map[string]map[int32]int64{"orders": {1: 51}})
	_, err = l.ExecutePlan(ctx(t), p)
	if !errors.Is(err, ops.ErrGroupMoved) || !strings.Contains(err.Error(), "orders/1 was 50, is now 51") {
		t.Fatalf("err = %v, want ErrGroupMoved naming orders/1", err)
	}
	if got := c.Committed(t, "billing")["orders"]; got[0] != 10 || got[1] != 51 || got[2] != 90 {
		t.Errorf("offsets changed after a refused execute: %v", got)
	}
	if list, _ := l.Audit(ctx(t), ops.AuditFilter{}); len(list) != 0 {
		t.Errorf("a refused execute was audited as a change: %+v", list)
	}
}

func TestReplayIntoNewGroup(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "events", 1)
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	c.ProduceAt(t, "events", 0, base, base.Add(10*time.Minute), base.Add(20*time.Minute))
	c.Commit(t, "app", map[string]map[int32]int64{"events": {0: 3}})
	l := newLocal(t, c)
	p, err := l.PlanReset(ctx(t), ops.ResetRequest{Group: "app", TargetGroup: "app-v2", Mode: ops.ResetToDatetime, Time: base.Add(5 * time.Minute), AllTopics: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.Group != "app-v2" || p.SourceGroup != "app" {
		t.Errorf("plan groups = %q from %q", p.Group, p.SourceGroup)
	}
	checkRows(t, p, []rowWant{{"events", 0, -1, 1, ""}})
	e, err := l.ExecutePlan(ctx(t), p)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Committed(t, "app-v2"); got["events"][0] != 1 {
		t.Errorf("app-v2 = %v", got)
	}
	if got := c.Committed(t, "app"); got["events"][0] != 3 {
		t.Errorf("original group touched: %v", got)
	}
	if e.Group != "app-v2" || e.Details["source_group"] != "app" {
		t.Errorf("entry = %+v", e)
	}
}

func TestDeleteOffsetsAndGroupWithUndo(t *testing.T) {
	c := seed(t)
	l := newLocal(t, c)
	p, err := l.PlanDeleteOffsets(ctx(t), "", "billing", []ops.TopicScope{{Topic: "orders", Partitions: []int32{1}}})
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, p, []rowWant{{"orders", 1, 50, -1, "commit deleted"}})
	if got := c.Committed(t, "billing")["orders"]; len(got) != 3 {
		t.Fatalf("preview deleted offsets: %v", got)
	}
	e, err := l.ExecutePlan(ctx(t), p)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Committed(t, "billing")["orders"]; len(got) != 2 {
		t.Errorf("after delete offsets: %v", got)
	}
	if e.Action != ops.ActionOffsetsDelete || len(e.Before) != 1 || e.Before[0].Offset != 50 {
		t.Errorf("entry = %+v", e)
	}
	u, err := l.PlanUndo(ctx(t), e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.ExecutePlan(ctx(t), u); err != nil {
		t.Fatal(err)
	}
	if got := c.Committed(t, "billing")["orders"]; got[1] != 50 {
		t.Errorf("after undo of delete offsets: %v", got)
	}

	before := c.Committed(t, "billing")
	gp, err := l.PlanDeleteOffsets(ctx(t), "", "billing", nil)
	if err != nil {
		t.Fatal(err)
	}
	if gp.Kind != ops.PlanDeleteGroup || len(gp.Rows) != 4 {
		t.Errorf("delete group plan = %+v", gp)
	}
	ge, err := l.ExecutePlan(ctx(t), gp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.DescribeGroup(ctx(t), "", "billing"); !errors.Is(err, ops.ErrGroupNotFound) {
		t.Errorf("describe deleted group: %v", err)
	}
	gu, err := l.PlanUndo(ctx(t), ge.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.ExecutePlan(ctx(t), gu); err != nil {
		t.Fatal(err)
	}
	if got := c.Committed(t, "billing"); !maps.EqualFunc(got, before, maps.Equal) {
		t.Errorf("after undo of delete group: %v, want %v", got, before)
	}

	if _, err := l.PlanDeleteOffsets(ctx(t), "", "billing", []ops.TopicScope{{Topic: "nope"}}); !errors.Is(err, ops.ErrInvalid) {
		t.Errorf("delete offsets of an uncommitted topic: %v", err)
	}
	if _, err := l.PlanDeleteOffsets(ctx(t), "", "ghost", nil); !errors.Is(err, ops.ErrNotFound) {
		t.Errorf("delete unknown group: %v", err)
	}
}

func TestUndoRefusals(t *testing.T) {
	c := seed(t)
	l := newLocal(t, c)
	if err := l.CreateTopic(ctx(t), "", ops.CreateTopicRequest{Name: "fresh", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	list, err := l.Audit(ctx(t), ops.AuditFilter{Action: "topics"})
	if err != nil || len(list) != 1 {
		t.Fatalf("audit = %+v, %v", list, err)
	}
	if _, err := l.PlanUndo(ctx(t), list[0].ID); !errors.Is(err, ops.ErrRefused) || !strings.Contains(err.Error(), "not an offsets change") {
		t.Errorf("undo of topics.create: %v", err)
	}
	if _, err := l.PlanUndo(ctx(t), "nope"); !errors.Is(err, ops.ErrNotFound) {
		t.Errorf("undo of unknown id: %v", err)
	}
	c.ProduceN(t, "fresh", 3)
	c.Commit(t, "live", map[string]map[int32]int64{"fresh": {0: 3}})
	p, err := l.PlanReset(ctx(t), ops.ResetRequest{Group: "live", Mode: ops.ResetToEarliest, AllTopics: true})
	if err != nil {
		t.Fatal(err)
	}
	e, err := l.ExecutePlan(ctx(t), p)
	if err != nil {
		t.Fatal(err)
	}
	c.ActiveMember(t, "live", false, "fresh")
	var ae *ops.ActiveGroupError
	if _, err := l.PlanUndo(ctx(t), e.ID); !errors.As(err, &ae) {
		t.Errorf("undo on active group: %v", err)
	}
}

func TestReadOnlyRefusesMutations(t *testing.T) {
	c := seed(t)
	cfg := &config.Config{Clusters: map[string]*config.Cluster{c.Name(): c.Config()}, Ops: config.Ops{DataDir: t.TempDir(), ReadOnly: true}}
	l, err := ops.NewLocal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p, err := l.PlanReset(ctx(t), ops.ResetRequest{Group: "billing", Mode: ops.ResetToEarliest, AllTopics: true})
	if err != nil {
		t.Fatalf("a dry run works in read-only mode: %v", err)
	}
	if _, err := l.ExecutePlan(ctx(t), p); !errors.Is(err, ops.ErrReadOnly) {
		t.Errorf("execute: %v", err)
	}
	dp, err := l.PlanDeleteOffsets(ctx(t), "", "billing", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.ExecutePlan(ctx(t), dp); !errors.Is(err, ops.ErrReadOnly) {
		t.Errorf("delete group: %v", err)
	}
	if got := c.Committed(t, "billing")["orders"]; got[0] != 10 {
		t.Errorf("read-only changed offsets: %v", got)
	}
	if _, err := l.DescribeGroup(ctx(t), "", "billing"); err != nil {
		t.Errorf("inspection in read-only mode: %v", err)
	}
}

func TestAuditTopic(t *testing.T) {
	c := seed(t)
	c.CreateTopic(t, "_kdeck_audit", 1)
	cfg := &config.Config{Clusters: map[string]*config.Cluster{c.Name(): c.Config()}, Ops: config.Ops{DataDir: t.TempDir(), AuditTopic: "_kdeck_audit"}}
	l, err := ops.NewLocal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p, err := l.PlanReset(ctx(t), ops.ResetRequest{Group: "billing", Mode: ops.ResetToEarliest, AllTopics: true})
	if err != nil {
		t.Fatal(err)
	}
	e, err := l.ExecutePlan(ctx(t), p)
	if err != nil {
		t.Fatal(err)
	}
	var got []ops.Record
	err = l.ReadRecords(ctx(t), "", ops.ReadRequest{Topic: "_kdeck_audit", From: ops.FromEarliest, Count: 1}, func(r ops.Record) error {
		got = append(got, r)
		return nil
	})
	if err != nil || len(got) != 1 || string(got[0].Key) != "billing" || !bytes.Contains(got[0].Value, []byte(e.ID)) {
		t.Errorf("audit topic = %+v, %v", got, err)
	}
}

func TestResetCreatesANewGroup(t *testing.T) {
	c := seed(t)
	l := newLocal(t, c)
	p, err := l.PlanReset(ctx(t), ops.ResetRequest{Group: "fresh", Mode: ops.ResetToOffset, Offset: 3, Scope: []ops.TopicScope{{Topic: "orders", Partitions: []int32{1}}}})
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, p, []rowWant{{"orders", 1, -1, 3, ""}})
	if _, err := l.ExecutePlan(ctx(t), p); err != nil {
		t.Fatal(err)
	}
	if got := c.Committed(t, "fresh"); len(got["orders"]) != 1 || got["orders"][1] != 3 {
		t.Errorf("fresh = %v", got)
	}
}
