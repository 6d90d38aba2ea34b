package ops_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

func TestMirrorJobLifecycleAndFailover(t *testing.T) {
	a := kafkatest.New(t, kafkatest.Name("a"))
	b := kafkatest.New(t, kafkatest.Name("b"))
	a.CreateTopic(t, "orders", 2)
	a.ProduceN(t, "orders", 100)
	cfg := &config.Config{
		Clusters: map[string]*config.Cluster{"a": a.Config(), "b": b.Config()},
		Ops:      config.Ops{DataDir: t.TempDir()},
		Mirrors: []config.Job{{Table: map[string]any{
			"name": "ab", "source": "a", "target": "b", "topics": []any{"orders"},
			"commit_interval": "100ms", "checkpoint_interval": "200ms", "refresh_interval": "200ms",
		}}},
	}
	l := hostJobs(t, cfg)
	ctx := context.Background()
	kafkatest.WaitFor(t, 20*time.Second, "100 records mirrored", func() bool {
		js, err := l.Job(ctx, "ab")
		return err == nil && js.State == ops.StateRunning && js.Metrics.RecordsOut >= 100 && js.Metrics.Lag == 0
	})
	js, _ := l.Job(ctx, "ab")
	parts := 0
	for _, ts := range js.Tasks {
		if ts.Detail["topic"] == "orders" {
			parts++
			if ts.Detail["remote_topic"] != "a.orders" || ts.Detail["position"] != "50" {
				t.Fatalf("task detail %v", ts.Detail)
			}
		}
	}
	if parts != 2 || js.Kind != ops.KindMirror || js.Cluster != "b" || js.Class != "a->b" {
		t.Fatalf("status %+v", js)
	}
	if _, err := l.JobAction(ctx, "ab", ops.ActionPause, ops.JobActionOptions{}); err != nil {
		t.Fatal(err)
	}
	if js, _ := l.Job(ctx, "ab"); js.State != ops.StatePaused {
		t.Fatalf("state after pause %s", js.State)
	}
	if _, err := l.JobAction(ctx, "ab", ops.ActionResume, ops.JobActionOptions{}); err != nil {
		t.Fatal(err)
	}

	// Fail the billing group over to b.
	a.Commit(t, "billing", map[string]map[int32]int64{"orders": {0: 20, 1: 50}})
	var plan *ops.Plan
	kafkatest.WaitFor(t, 20*time.Second, "a failover plan", func() bool {
		var err error
		plan, err = l.PlanMirrorFailover(ctx, "ab", "billing")
		return err == nil && len(plan.Rows) == 2
	})
	// Never past the first unconsumed record (20 and 50: the topics line
	// up), at most offset_lag_max (100) records before it; exact for the
	// caught-up partition 1.
	if plan.Cluster != "b" || plan.Group != "billing" || plan.Rows[0].Topic != "a.orders" || plan.Rows[0].New > 20 || plan.Rows[1].New != 50 {
		t.Fatalf("plan %+v", plan)
	}
	stop := b.ActiveMember(t, "billing", false, "a.orders")
	if _, err := l.ExecutePlan(ctx, plan); !errors.Is(err, ops.ErrGroupActive) {
		t.Fatalf("failover of a group active in the target = %v, want ErrGroupActive", err)
	}
	stop()
	if e, err := l.ExecutePlan(ctx, plan); err != nil || e.ID == "" {
		t.Fatalf("execute failover: %v", err)
	}
	if c := b.Committed(t, "billing")["a.orders"]; c[0] != plan.Rows[0].New || c[1] != 50 {
		t.Fatalf("target group offsets after failover %v", c)
	}
	if _, err := l.PlanMirrorFailover(ctx, "nope", "billing"); !errors.Is(err, ops.ErrNotFound) || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown flow = %v", err)
	}
}

func TestValidateMirrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kdeck.toml")
	text := `[clusters.a]
brokers = ["127.0.0.1:1"]

[[mirrors]]
name = "ab"
source = "a"
target = "bb"
naming = "prefx"

[[mirrors]]
name = "ab"
source = "a"
target = "a"
`
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	err = ops.ValidateMirrors(cfg)
	var ce *config.Errors
	if !errors.As(err, &ce) {
		t.Fatalf("ValidateMirrors = %v", err)
	}
	for _, want := range []string{
		"kdeck.toml:7: mirrors[0].target: cluster \"bb\" is not defined",
		"kdeck.toml:8: mirrors[0].naming: is \"prefx\"",
		"kdeck.toml:11: mirrors[1].name: \"ab\" is already the name of mirrors[0]",
		"mirrors[1].target: must differ from source \"a\"",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
			for _, e := range ce.List {
				t.Log(e)
			}
		}
	}
}

func TestEmbeddedDemoMirror(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	e, err := ops.StartEmbedded(context.Background(), ops.EmbeddedOptions{Port: 0, Demo: true, DemoRate: 100})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ops.NewLocal(&config.Config{Ops: config.Ops{DataDir: t.TempDir()}}, ops.WithEmbedded(e))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	if err := l.StartJobs(ctx); err != nil {
		t.Fatal(err)
	}
	kafkatest.WaitFor(t, 30*time.Second, "demo mirror running into dr", func() bool {
		js, err := l.Job(ctx, ops.DemoMirrorName)
		if err != nil || js.State != ops.StateRunning || js.Metrics.RecordsOut == 0 {
			return false
		}
		td, err := l.DescribeTopic(ctx, ops.DemoDRCluster, "local."+ops.DemoOrdersTopic)
		return err == nil && len(td.Partitions) == 6
	})
}
