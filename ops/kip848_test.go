package ops_test

import (
	"testing"

	"github.com/kdeck/kdeck/ops"
)

// Deletes and undo work on a KIP-848 group too: kdeck holds it with a
// KIP-848 member (and releases the hold for OffsetDelete where kfake refuses
// it with a member present).
func TestDeleteAndUndoOnKIP848Group(t *testing.T) {
	c := seed(t)
	stop := c.ActiveMember(t, "g848", true, "orders")
	stop()
	c.Commit(t, "g848", map[string]map[int32]int64{"orders": {0: 3, 1: 4}})
	l := newLocal(t, c)
	p, err := l.PlanDeleteOffsets(ctx(t), "", "g848", []ops.TopicScope{{Topic: "orders", Partitions: []int32{0}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.ExecutePlan(ctx(t), p); err != nil {
		t.Fatal(err)
	}
	if got := c.Committed(t, "g848")["orders"]; len(got) != 1 || got[1] != 4 {
		t.Fatalf("after deleting orders/0: %v", got)
	}
	p, err = l.PlanDeleteOffsets(ctx(t), "", "g848", nil)
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
	if got := c.Committed(t, "g848")["orders"]; len(got) != 1 || got[1] != 4 {
		t.Fatalf("after undoing the group delete: %v", got)
	}
}
