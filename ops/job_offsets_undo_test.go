package ops_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// Connector offset changes are audited with the real offsets before and
// after, and undone from the entry; an undo is refused once the offsets
// moved since.
func TestConnectorOffsetChangesAuditedAndUndone(t *testing.T) {
	c := kafkatest.New(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.log")
	if err := os.WriteFile(in, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Clusters: map[string]*config.Cluster{c.Name(): c.Config()}, Ops: config.Ops{DataDir: dir},
		Connectors: []config.Job{{Table: map[string]any{"name": "logs", "class": "file-source", "path": in, "topic": "logs", "offsets_topic": "connect-offsets"}}}}
	l, err := ops.NewLocal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	at := func(pos float64, parts ...string) []ops.JobOffset {
		var out []ops.JobOffset
		for _, p := range parts {
			out = append(out, ops.JobOffset{Partition: map[string]any{"path": p}, Offset: map[string]any{"position": pos}})
		}
		return out
	}
	positions := func() map[string]any {
		offs, err := l.JobOffsets(ctx(t), "logs")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]any{}
		for _, o := range offs {
			m[o.Partition["path"].(string)] = o.Offset["position"]
		}
		return m
	}
	e1, err := l.AlterJobOffsets(ctx(t), "logs", ops.AlterOffsetsRequest{Offsets: at(10, in)})
	if err != nil || e1.Details["offsets_before"] != "[]" || e1.Details["offsets_after"] == "" || e1.Details["offsets_after"] == "null" {
		t.Fatalf("first alter: %+v, %v", e1.Details, err)
	}
	e2, err := l.AlterJobOffsets(ctx(t), "logs", ops.AlterOffsetsRequest{Offsets: append(at(20, in), at(5, "other")...)})
	if err != nil {
		t.Fatal(err)
	}
	if m := positions(); m[in] != float64(20) || m["other"] != float64(5) {
		t.Fatalf("offsets after the second alter: %v", m)
	}
	stored, err := l.AuditEntry(ctx(t), e2.ID)
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := l.JobOffsets(ctx(t), "logs")
	undo, err := ops.JobOffsetsUndo(stored, cur)
	if err != nil {
		t.Fatal(err)
	}
	u, err := l.AlterJobOffsets(ctx(t), "logs", undo)
	if err != nil || u.UndoOf != e2.ID {
		t.Fatalf("undo: %+v, %v", u, err)
	}
	if m := positions(); len(m) != 1 || m[in] != float64(10) {
		t.Fatalf("offsets after undo: %v, want only %s at 10 (other removed)", m, in)
	}
	// e2's after is gone now: undoing it again is refused.
	cur, _ = l.JobOffsets(ctx(t), "logs")
	if _, err := ops.JobOffsetsUndo(stored, cur); !errors.Is(err, ops.ErrGroupMoved) {
		t.Fatalf("undo of a moved job: %v, want ErrGroupMoved", err)
	}
	// The offsets match e1's after again, so e1 can be undone: no offsets.
	s1, _ := l.AuditEntry(ctx(t), e1.ID)
	undo, err = ops.JobOffsetsUndo(s1, cur)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.AlterJobOffsets(ctx(t), "logs", undo); err != nil {
		t.Fatal(err)
	}
	if m := positions(); len(m) != 0 {
		t.Fatalf("offsets after undoing the first alter: %v, want none", m)
	}
	if _, err := l.PlanUndo(ctx(t), e1.ID); !errors.Is(err, ops.ErrRefused) {
		t.Fatalf("offsets undo of a job entry: %v, want a refusal pointing at connect offsets --undo", err)
	}
}
