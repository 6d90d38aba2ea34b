package ops_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// fakeClock is a settable clock for WithClock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestLagStatusFromSamples(t *testing.T) {
	c := seed(t)
	clock := &fakeClock{t: time.Now()}
	l := newLocal(t, c, ops.WithClock(clock.now))
	d, err := l.DescribeGroup(ctx(t), "", "billing")
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != "" || d.TimeLagEstimate != 0 && d.TimeLagEstimate != -1 {
		t.Errorf("first sample: status %q, estimate %v; want unknown", d.Status, d.TimeLagEstimate)
	}
	// A stopped consumer: same offsets, lag, no members.
	clock.add(10 * time.Second)
	gs, err := l.ListGroups(ctx(t), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 1 || gs[0].Status != ops.StatusStop {
		t.Fatalf("groups = %+v, want billing STOP", gs)
	}
	if gs[0].TimeLagEstimate < 10 {
		t.Errorf("time lag estimate = %v, want at least 10s (the window's age)", gs[0].TimeLagEstimate)
	}
	// It catches up on orders/0 and commits: lag zero in the window is OK
	// there, but orders/1 and orders/2 still STOP, so the group is STOP.
	c.Commit(t, "billing", map[string]map[int32]int64{"orders": {0: 100}})
	clock.add(10 * time.Second)
	d, err = l.DescribeGroup(ctx(t), "", "billing")
	if err != nil {
		t.Fatal(err)
	}
	st := map[string]string{}
	for _, o := range d.Offsets {
		st[fmt.Sprintf("%s/%d", o.Topic, o.Partition)] = o.Status
	}
	if st["orders/0"] != ops.StatusOK || st["orders/1"] != ops.StatusStop || d.Status != ops.StatusStop {
		t.Errorf("statuses = %v, group %q", st, d.Status)
	}
	if len(d.LagHistory) != 3 || d.LagHistory[0].Lag != 90+50+10+5 || d.LagHistory[2].Lag != 50+10+5 {
		t.Errorf("lag history = %+v", d.LagHistory)
	}
	// A rewind is flagged.
	c.Commit(t, "billing", map[string]map[int32]int64{"orders": {1: 0}})
	clock.add(10 * time.Second)
	gs, _ = l.ListGroups(ctx(t), "")
	if gs[0].Status != ops.StatusRewind {
		t.Errorf("after rewind: %q", gs[0].Status)
	}
}

func TestHealth(t *testing.T) {
	c := seed(t)
	clock := &fakeClock{t: time.Now()}
	l := newLocal(t, c, ops.WithClock(clock.now))
	rep, err := l.Health(ctx(t))
	if err != nil || !rep.OK || len(rep.Problems) != 0 {
		t.Fatalf("first health = %+v, %v; want OK (no status yet)", rep, err)
	}
	clock.add(time.Minute)
	rep, err = l.Health(ctx(t))
	if err != nil || rep.OK || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], `group "billing" on cluster "local" is STOP`) {
		t.Errorf("health = %+v, %v; want billing STOP", rep, err)
	}

	down := &config.Cluster{Name: "down", Brokers: []string{"127.0.0.1:1"}, DialTimeout: config.Duration{Duration: 200 * time.Millisecond}, RequestTimeout: config.Duration{Duration: time.Second}}
	cfg := &config.Config{DefaultCluster: c.Name(), Clusters: map[string]*config.Cluster{c.Name(): c.Config(), "down": down}, Ops: config.Ops{DataDir: t.TempDir()}}
	l2, err := ops.NewLocal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	rep, err = l2.Health(ctx(t))
	if err != nil || rep.OK || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], `cluster "down" does not answer`) {
		t.Errorf("health with a cluster down = %+v, %v", rep, err)
	}
}

func TestLagSamplingGoroutine(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "orders", 1)
	c.ProduceN(t, "orders", 10)
	c.Commit(t, "g", map[string]map[int32]int64{"orders": {0: 2}})
	cfg := &config.Config{Clusters: map[string]*config.Cluster{c.Name(): c.Config()}, Ops: config.Ops{DataDir: t.TempDir()}}
	l, err := ops.NewLocal(cfg, ops.WithLagSampling(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	// The sampler alone fills the window: nothing else here samples.
	kafkatest.WaitFor(t, 10*time.Second, "a status from background samples", func() bool {
		return ops.SampledStatus(l, "local", "g") == ops.StatusStop
	})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}
