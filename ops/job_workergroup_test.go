package ops_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestWorkerGroupSpreadsAndRefusesDifferingJobs runs two workers (two
// Locals) in one worker group: a file-source connector's two tasks run one
// per worker, a mirror flow runs on exactly one, and a job whose table
// differs between the workers runs on one and is FAILED with the reason on
// the other.
func TestWorkerGroupSpreadsAndRefusesDifferingJobs(t *testing.T) {
	a := kafkatest.New(t, kafkatest.Name("a"))
	b := kafkatest.New(t, kafkatest.Name("b"))
	a.CreateTopic(t, "orders", 1)
	dir := t.TempDir()
	for _, f := range []string{"x", "y"} {
		if err := os.WriteFile(filepath.Join(dir, f+".log"), []byte("1\n2\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	worker := func(name, otherTopic string) *ops.Local {
		cfg := &config.Config{
			DefaultCluster: "a",
			Clusters:       map[string]*config.Cluster{"a": a.Config(), "b": b.Config()},
			Ops:            config.Ops{DataDir: filepath.Join(dir, name)},
			Worker:         config.Worker{ID: name, Group: "g", SessionTimeout: config.Duration{Duration: 6 * time.Second}},
			Connectors: []config.Job{
				{Table: map[string]any{"name": "logs", "class": "file-source", "cluster": "a", "path": filepath.Join(dir, "*.log"), "topic": "lines", "tasks_max": int64(2)}},
				{Table: map[string]any{"name": "other", "class": "file-source", "cluster": "a", "path": filepath.Join(dir, "x.log"), "topic": otherTopic}},
			},
			Mirrors: []config.Job{{Table: map[string]any{"name": "ab", "source": "a", "target": "b", "topics": []any{"orders"}}}},
		}
		return hostJobs(t, cfg, ops.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("w", name)))
	}
	w1, w2 := worker("w1", "t1"), worker("w2", "t2")
	ctx := context.Background()
	began := time.Now()
	type view struct{ logs, ab, other ops.JobStatus }
	get := func(l *ops.Local) view {
		var v view
		v.logs, _ = l.Job(ctx, "logs")
		v.ab, _ = l.Job(ctx, "ab")
		v.other, _ = l.Job(ctx, "other")
		return v
	}
	running := func(js ops.JobStatus) int {
		n := 0
		for _, ts := range js.Tasks {
			if ts.State == ops.StateRunning && ts.Detail["worker"] != "" {
				n++
			}
		}
		return n
	}
	kafkatest.WaitFor(t, 30*time.Second, "logs' two tasks one per worker, ab on one worker, other refused on one", func() bool {
		v1, v2 := get(w1), get(w2)
		abOn := 0
		for _, v := range []view{v1, v2} {
			if running(v.ab) > 0 {
				abOn++
			}
		}
		failed, otherOn := 0, 0
		for _, v := range []view{v1, v2} {
			if v.other.State == ops.StateFailed && strings.Contains(v.other.LastError, "differs from the one") {
				failed++
			}
			if running(v.other) > 0 {
				otherOn++
			}
		}
		ok := running(v1.logs) == 1 && running(v2.logs) == 1 && abOn == 1 && failed == 1 && otherOn == 1
		if !ok && time.Since(began) > 25*time.Second {
			t.Logf("w1: logs %s %+v; ab %s; other %s %q", v1.logs.State, v1.logs.Tasks, v1.ab.State, v1.other.State, v1.other.LastError)
			t.Logf("w2: logs %s %+v; ab %s; other %s %q", v2.logs.State, v2.logs.Tasks, v2.ab.State, v2.other.State, v2.other.LastError)
		}
		return ok
	})
	v1, v2 := get(w1), get(w2)
	// Each worker shows both tasks (the group's view), its own with its
	// worker detail, the other's on the other worker.
	local := func(js ops.JobStatus) (int, string) {
		for _, ts := range js.Tasks {
			if ts.Detail["worker"] != "" {
				return ts.ID, ts.Worker
			}
		}
		return -1, ""
	}
	t1, on1 := local(v1.logs)
	t2, on2 := local(v2.logs)
	if t1 == t2 || on1 != "w1" || on2 != "w2" || len(v1.logs.Tasks) != 2 || len(v2.logs.Tasks) != 2 {
		t.Fatalf("logs: w1 runs task %d (on %q), w2 runs task %d (on %q); tasks %+v", t1, on1, t2, on2, v1.logs.Tasks)
	}
	for _, v := range []view{v1, v2} {
		if v.other.State != ops.StateFailed && v.other.State != ops.StateRunning {
			t.Fatalf("other is %s on a worker: the agreeing worker runs it, the other refuses it", v.other.State)
		}
	}
	// Starting ab where the group does not run it would run it twice.
	idle := w1
	if running(v1.ab) > 0 {
		idle = w2
	}
	if _, err := idle.JobAction(ctx, "ab", ops.ActionStart, ops.JobActionOptions{}); !errors.Is(err, ops.ErrRefused) || !strings.Contains(err.Error(), "other workers") {
		t.Fatalf("start of ab on the worker without it = %v, want ErrRefused naming the other workers", err)
	}
}

// TestWorkerGroupShardsAMirrorFlow: a flow with tasks_max = 4 over a topic
// of 4 partitions runs on two workers of a group, each mirroring a disjoint
// share of the partitions; together they mirror every record once.
func TestWorkerGroupShardsAMirrorFlow(t *testing.T) {
	a := kafkatest.New(t, kafkatest.Name("a"))
	b := kafkatest.New(t, kafkatest.Name("b"))
	a.CreateTopic(t, "orders", 4)
	a.ProduceN(t, "orders", 400)
	dir := t.TempDir()
	worker := func(name string) *ops.Local {
		cfg := &config.Config{
			DefaultCluster: "a",
			Clusters:       map[string]*config.Cluster{"a": a.Config(), "b": b.Config()},
			Ops:            config.Ops{DataDir: filepath.Join(dir, name)},
			Worker:         config.Worker{ID: name, Group: "g", SessionTimeout: config.Duration{Duration: 6 * time.Second}},
			Mirrors: []config.Job{{Table: map[string]any{"name": "ab", "source": "a", "target": "b", "topics": []any{"orders"},
				"tasks_max": int64(4), "commit_interval": "100ms"}}},
		}
		return hostJobs(t, cfg)
	}
	w1, w2 := worker("w1"), worker("w2")
	ctx := context.Background()
	parts := func(l *ops.Local) map[string]bool {
		js, _ := l.Job(ctx, "ab")
		out := map[string]bool{}
		for _, ts := range js.Tasks {
			if ts.Detail["worker"] == "" {
				continue // a shard another worker runs
			}
			for _, p := range strings.Split(ts.Detail["worker_partitions"], ",") {
				if strings.HasPrefix(p, "orders-") {
					out[p] = true
				}
			}
		}
		return out
	}
	kafkatest.WaitFor(t, 30*time.Second, "both workers mirroring a share of the 4 partitions", func() bool {
		p1, p2 := parts(w1), parts(w2)
		return len(p1) > 0 && len(p2) > 0 && len(p1)+len(p2) == 4
	})
	p1, p2 := parts(w1), parts(w2)
	for p := range p1 {
		if p2[p] {
			t.Fatalf("partition %s is mirrored by both workers (%v, %v)", p, p1, p2)
		}
	}
	adm := b.Admin(t)
	kafkatest.WaitFor(t, 30*time.Second, "400 records in a.orders", func() bool {
		ends, err := adm.ListEndOffsets(ctx, "a.orders")
		if err != nil {
			return false
		}
		var n int64
		ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
		return n == 400
	})
	time.Sleep(500 * time.Millisecond) // a duplicate would land now
	ends, err := adm.ListEndOffsets(ctx, "a.orders")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	if n != 400 {
		t.Fatalf("a.orders holds %d records, want the 400 of orders once", n)
	}
}

// TestWorkerGroupIsNotAConsumerGroup: a worker group joins with kdeck's own
// protocol type, as Connect's workers join with "connect", so neither the
// brokers nor the console take it for a consumer group. With protocol type
// "consumer", Apache Kafka 3.9 and 4.3 parse the workers' metadata as
// consumer subscriptions when a join completes, fail on it and never
// complete the join; and the console listed the group as a consumer group.
func TestWorkerGroupIsNotAConsumerGroup(t *testing.T) {
	a := kafkatest.New(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.log"), []byte("1\n2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := hostJobs(t, &config.Config{
		DefaultCluster: "a",
		Clusters:       map[string]*config.Cluster{"a": a.Config()},
		Ops:            config.Ops{DataDir: filepath.Join(dir, "w1")},
		Worker:         config.Worker{ID: "w1", Group: "solo", SessionTimeout: config.Duration{Duration: 6 * time.Second}},
		Connectors: []config.Job{{Table: map[string]any{"name": "logs", "class": "file-source", "cluster": "a",
			"path": filepath.Join(dir, "*.log"), "topic": "lines"}}},
	})
	ctx := context.Background()
	kafkatest.WaitFor(t, 30*time.Second, "the worker to run logs' task", func() bool {
		js, _ := w.Job(ctx, "logs")
		return len(js.Tasks) == 1 && js.Tasks[0].State == ops.StateRunning && js.Tasks[0].Detail["worker"] == "w1"
	})
	d, err := w.DescribeGroup(ctx, "a", "_kdeck-worker-solo")
	if err != nil {
		t.Fatal(err)
	}
	if d.Protocol != "kdeck-worker" || d.State != "Stable" || d.Members != 1 {
		t.Fatalf("worker group described as protocol %q, state %q, %d members; want kdeck-worker, Stable, 1", d.Protocol, d.State, d.Members)
	}
	gs, err := w.ListGroups(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		if g.Group == "_kdeck-worker-solo" {
			t.Fatalf("the worker group is listed among consumer groups: %+v", g)
		}
	}
}
