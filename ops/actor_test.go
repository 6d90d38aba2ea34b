package ops_test

import (
	"errors"
	"testing"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
)

// TestActorReadOnlyAndAudited: a read-only actor is refused on a writable
// service, and an operating actor's name and host are what the audit records.
func TestActorReadOnlyAndAudited(t *testing.T) {
	c := seed(t)
	cfg := &config.Config{Clusters: map[string]*config.Cluster{c.Name(): c.Config()}, Ops: config.Ops{DataDir: t.TempDir()}}
	l, err := ops.NewLocal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p, err := l.PlanReset(ctx(t), ops.ResetRequest{Group: "billing", Mode: ops.ResetToEarliest, AllTopics: true})
	if err != nil {
		t.Fatal(err)
	}
	reader := ops.WithActor(ctx(t), ops.Actor{User: "bob", Host: "10.0.0.2:5000", ReadOnly: true, Via: "ssh"})
	if _, err := l.ExecutePlan(reader, p); !errors.Is(err, ops.ErrReadOnly) {
		t.Fatalf("a read-only actor executed a plan: %v", err)
	}
	if got := c.Committed(t, "billing")["orders"]; got[0] != 10 {
		t.Fatalf("a read-only actor changed offsets: %v", got)
	}
	operator := ops.WithActor(ctx(t), ops.Actor{User: "alice", Host: "10.0.0.1:5000", Via: "ssh"})
	e, err := l.ExecutePlan(operator, p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.AuditEntry(ctx(t), e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.User != "alice" || got.Host != "10.0.0.1:5000" {
		t.Errorf("audit user/host = %q/%q, want alice/10.0.0.1:5000", got.User, got.Host)
	}
}
