package ops_test

import (
	"errors"
	"testing"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
)

// TestForActor: a view for a read-only actor says so in Info and is refused
// without any actor in the caller's context; a view for an operator is
// audited under its name and host; closing a view leaves the shared service
// open.
func TestForActor(t *testing.T) {
	c := seed(t)
	cfg := &config.Config{Clusters: map[string]*config.Cluster{c.Name(): c.Config()}, Ops: config.Ops{DataDir: t.TempDir()}}
	l, err := ops.NewLocal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	reader := ops.ForActor(l, ops.Actor{User: "bob (SHA256:x)", Host: "127.0.0.1:5000", ReadOnly: true, Via: "ssh"})
	operator := ops.ForActor(l, ops.Actor{User: "alice (SHA256:y)", Host: "127.0.0.1:5001", Via: "ssh"})
	if !reader.Info().ReadOnly || operator.Info().ReadOnly {
		t.Fatalf("Info().ReadOnly: reader %v, operator %v; want true, false", reader.Info().ReadOnly, operator.Info().ReadOnly)
	}
	p, err := reader.PlanReset(ctx(t), ops.ResetRequest{Group: "billing", Mode: ops.ResetToEarliest, AllTopics: true})
	if err != nil {
		t.Fatalf("a read-only view could not plan (planning changes nothing): %v", err)
	}
	if _, err := reader.ExecutePlan(ctx(t), p); !errors.Is(err, ops.ErrReadOnly) {
		t.Fatalf("a read-only view executed a plan: %v", err)
	}
	if err := reader.Close(); err != nil {
		t.Fatal(err)
	}
	// A read-only view of the operator's view, called in the operator's
	// context, is still read-only: views only restrict.
	asOperator := ops.WithActor(ctx(t), ops.Actor{User: "alice (SHA256:y)", Host: "127.0.0.1:5001", Via: "ssh"})
	if _, err := ops.ForActor(operator, ops.Actor{ReadOnly: true}).ExecutePlan(asOperator, p); !errors.Is(err, ops.ErrReadOnly) {
		t.Fatalf("a read-only view of an operator's view executed a plan: %v", err)
	}
	e, err := operator.ExecutePlan(ctx(t), p)
	if err != nil {
		t.Fatalf("the shared service stopped working after a view was closed: %v", err)
	}
	got, err := l.AuditEntry(ctx(t), e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.User != "alice (SHA256:y)" || got.Host != "127.0.0.1:5001" {
		t.Errorf("audit user/host = %q/%q, want the operator's", got.User, got.Host)
	}
}
