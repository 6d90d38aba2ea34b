package ops_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
)

// Two operators execute resets of one group at the same moment, each from
// its own process (two Locals, two sets of connections): they must never
// both report success, and the group ends where the one that succeeded put
// it.
func TestConcurrentExecutesNeverBothSucceed(t *testing.T) {
	for _, kip848 := range []bool{false, true} {
		t.Run(map[bool]string{false: "classic", true: "kip848"}[kip848], func(t *testing.T) { concurrentExecutes(t, kip848) })
	}
}

func concurrentExecutes(t *testing.T, kip848 bool) {
	c := seed(t)
	if kip848 {
		// billing becomes a KIP-848 group, empty again after its member
		// leaves.
		stop := c.ActiveMember(t, "billing", true, "orders")
		stop()
	}
	newOp := func() *ops.Local {
		l, err := ops.NewLocal(&config.Config{Clusters: map[string]*config.Cluster{c.Name(): c.Config()}, Ops: config.Ops{DataDir: t.TempDir()}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	a, b := newOp(), newOp()
	scope := []ops.TopicScope{{Topic: "orders"}}
	wins := 0
	for round := range 12 {
		c.Commit(t, "billing", map[string]map[int32]int64{"orders": {0: 10, 1: 50, 2: 90}})
		pa, err := a.PlanReset(ctx(t), ops.ResetRequest{Group: "billing", Mode: ops.ResetToEarliest, Scope: scope})
		if err != nil {
			t.Fatal(err)
		}
		pb, err := b.PlanReset(ctx(t), ops.ResetRequest{Group: "billing", Mode: ops.ResetToOffset, Offset: 15, Scope: scope})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, 2)
		for i, run := range []struct {
			l *ops.Local
			p *ops.Plan
		}{{a, pa}, {b, pb}} {
			wg.Go(func() {
				<-start
				_, errs[i] = run.l.ExecutePlan(ctx(t), run.p)
			})
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			if err != nil && !errors.Is(err, ops.ErrGroupActive) && !errors.Is(err, ops.ErrGroupMoved) {
				t.Fatalf("round %d: the execute that lost failed with %v, want ErrGroupActive or ErrGroupMoved", round, err)
			}
			if err != nil && round < 3 {
				t.Logf("round %d: %v", round, err)
			}
		}
		got := c.Committed(t, "billing")["orders"]
		state := fmt.Sprintf("round %d: a=%v b=%v, group at %v", round, errs[0], errs[1], got)
		switch {
		case errs[0] == nil && errs[1] == nil:
			t.Fatalf("both executes reported success: %s", state)
		case errs[0] == nil:
			wins++
			if got[0] != 0 || got[1] != 0 || got[2] != 0 {
				t.Fatalf("a (to earliest) succeeded but the group is elsewhere: %s", state)
			}
		case errs[1] == nil:
			wins++
			if got[0] != 15 || got[1] != 15 || got[2] != 15 {
				t.Fatalf("b (to offset 15) succeeded but the group is elsewhere: %s", state)
			}
		default:
			t.Logf("both refused: %s", state)
		}
	}
	if wins == 0 {
		t.Fatal("no round let either execute succeed")
	}
	t.Logf("%d of 12 rounds had one success", wins)
}
