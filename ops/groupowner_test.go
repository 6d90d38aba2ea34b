package ops_test

import (
	"testing"
	"time"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestOneStatusPerSample checks that with a sampler, reading groups (the
// overview, the groups screen, a command) adds no sample of its own: every
// reader between two samples sees the same status and history. Before,
// each read sampled, so two screens at the same moment disagreed.
func TestOneStatusPerSample(t *testing.T) {
	c := seed(t)
	cfg := &config.Config{Clusters: map[string]*config.Cluster{c.Name(): c.Config()}, Ops: config.Ops{DataDir: t.TempDir()}}
	l, err := ops.NewLocal(cfg, ops.WithLagSampling(time.Hour)) // one sample at start, then none in this test
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	kafkatest.WaitFor(t, 10*time.Second, "the sampler's first sample", func() bool {
		d, err := l.DescribeGroup(ctx(t), "", "billing")
		return err == nil && len(d.LagHistory) == 1
	})
	var statuses []string
	for range 5 {
		gs, err := l.ListGroups(ctx(t), "")
		if err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, gs[0].Status)
		time.Sleep(10 * time.Millisecond)
	}
	d, err := l.DescribeGroup(ctx(t), "", "billing")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.LagHistory) != 1 {
		t.Errorf("reads added samples: history %+v", d.LagHistory)
	}
	for _, s := range statuses {
		if s != statuses[0] || s != d.Status {
			t.Errorf("statuses differ between reads: %q and describe %q", statuses, d.Status)
		}
	}
}

// TestMirrorGroupOwner checks that a mirror flow's progress group is
// labelled as the flow's and not judged by consumer lag rules (it showed
// STOP).
func TestMirrorGroupOwner(t *testing.T) {
	c := seed(t)
	c.Commit(t, "kdeck-mirror-to-dr", map[string]map[int32]int64{"orders": {0: 1}})
	cfg := &config.Config{Clusters: map[string]*config.Cluster{c.Name(): c.Config(), "dr": c.Config()}, DefaultCluster: c.Name(), Ops: config.Ops{DataDir: t.TempDir()},
		Mirrors: []config.Job{{Table: map[string]any{"name": "to-dr", "source": c.Name(), "target": "dr", "topics": []any{"orders"}}}}}
	clock := &fakeClock{t: time.Now()}
	l, err := ops.NewLocal(cfg, ops.WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for range 3 {
		gs, err := l.ListGroups(ctx(t), "")
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range gs {
			switch g.Group {
			case "kdeck-mirror-to-dr":
				if g.Owner != "mirror to-dr" || g.Status != "" {
					t.Errorf("mirror group: owner %q status %q", g.Owner, g.Status)
				}
			case "billing":
				if g.Owner != "" {
					t.Errorf("billing has an owner: %q", g.Owner)
				}
			}
		}
		clock.add(time.Minute)
	}
	rep, err := l.Health(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		if contains(p, "kdeck-mirror-to-dr") {
			t.Errorf("health judges the mirror's group: %q", p)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
