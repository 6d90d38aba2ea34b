package ops_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

func streamTable() map[string]any {
	return map[string]any{
		"name": "per-customer", "cluster": "local", "inputs": []any{"orders"},
		"key": "value.customer", "aggregate": map[string]any{"op": "sum", "field": "value.amount"},
		"output": "totals", "guarantee": "exactly_once",
	}
}

func TestStreamJobLifecycleQueryAndReset(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "orders", 2)
	c.CreateTopic(t, "totals", 1)
	var recs []*kgo.Record
	for i, cust := range []string{"ann", "bob", "ann", "cid", "ann"} {
		b, _ := json.Marshal(map[string]any{"customer": cust, "amount": i + 1})
		recs = append(recs, &kgo.Record{Topic: "orders", Key: []byte(cust), Value: b})
	}
	c.Produce(t, recs...)
	dataDir := t.TempDir()
	cfg := &config.Config{Clusters: map[string]*config.Cluster{c.Name(): c.Config()}, Ops: config.Ops{DataDir: dataDir},
		Streams: []config.Job{{Table: streamTable()}}}
	l, err := ops.NewLocal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if err := l.StartJobs(ctx(t)); err != nil {
		t.Fatal(err)
	}
	// ann = 1+3+5.
	kafkatest.WaitFor(t, 30*time.Second, "ann's total in the store", func() bool {
		res, err := l.QueryStream(ctx(t), ops.StreamQuery{Job: "per-customer", Op: "get", Key: "ann"})
		return err == nil && len(res.Rows) == 1 && res.Rows[0].Number != nil && *res.Rows[0].Number == 9
	})
	js, err := l.Job(ctx(t), "per-customer")
	if err != nil || js.State != ops.StateRunning || js.Kind != ops.KindStream || len(js.Tasks) != 2 || js.Metrics.RecordsIn < 5 {
		t.Fatalf("status %+v, %v", js, err)
	}
	top, err := l.QueryStream(ctx(t), ops.StreamQuery{Job: "per-customer", Op: "top", Limit: 1})
	if err != nil || len(top.Rows) != 1 || top.Rows[0].Key != "ann" {
		t.Fatalf("top 1 = %+v, %v", top, err)
	}
	if _, err := l.PlanStreamReset(ctx(t), ops.StreamResetRequest{Job: "per-customer"}); !errors.Is(err, ops.ErrRefused) {
		t.Fatalf("reset of a running job: %v, want ErrRefused", err)
	}
	if _, err := l.JobAction(ctx(t), "per-customer", ops.ActionStop, ops.JobActionOptions{}); err != nil {
		t.Fatal(err)
	}
	replay, err := l.PlanStreamReset(ctx(t), ops.StreamResetRequest{Job: "per-customer", As: "per-customer-v2"})
	if err != nil {
		t.Fatal(err)
	}
	if replay.Group != "per-customer-v2" || len(replay.DeleteTopics) != 0 || replay.WipeDir != "" || len(replay.Offsets.Rows) != 2 {
		t.Fatalf("--as plan: group %q, delete %v, wipe %q, %d offset rows; want the new group's 2 input partitions only",
			replay.Group, replay.DeleteTopics, replay.WipeDir, len(replay.Offsets.Rows))
	}
	plan, err := l.PlanStreamReset(ctx(t), ops.StreamResetRequest{Job: "per-customer"})
	if err != nil {
		t.Fatal(err)
	}
	wantTopics := "per-customer-aggregate-changelog,per-customer-group-by-repartition"
	if got := strings.Join(plan.DeleteTopics, ","); got != wantTopics || plan.WipeDir == "" || plan.Offsets.Totals.Changed == 0 {
		t.Fatalf("plan: topics %q (want %q), wipe %q, offsets %+v", got, wantTopics, plan.WipeDir, plan.Offsets.Totals)
	}
	entry, err := l.ExecuteStreamReset(ctx(t), plan)
	if err != nil || entry.Action != "streams.reset" || entry.Outcome != "ok" {
		t.Fatalf("execute: %+v, %v", entry, err)
	}
	if _, err := os.Stat(plan.WipeDir); !os.IsNotExist(err) {
		t.Errorf("state dir %s still exists: %v", plan.WipeDir, err)
	}
	kafkatest.WaitFor(t, 10*time.Second, "internal topics deleted", func() bool {
		td, err := c.Admin(t).ListTopics(context.Background(), "per-customer-aggregate-changelog")
		return err == nil && td["per-customer-aggregate-changelog"].Err != nil
	})
	committed := c.Committed(t, "per-customer")
	for _, p := range committed["orders"] {
		if p != 0 {
			t.Errorf("input offsets after reset: %v, want 0", committed["orders"])
		}
	}
	if plan.RepartitionOffsets == nil || len(committed["per-customer-group-by-repartition"]) != 0 {
		t.Errorf("repartition offsets: plan %v, committed after reset %v; want them deleted", plan.RepartitionOffsets, committed["per-customer-group-by-repartition"])
	}
	// Restarted, the job recomputes the same totals from scratch.
	if _, err := l.JobAction(ctx(t), "per-customer", ops.ActionStart, ops.JobActionOptions{}); err != nil {
		t.Fatal(err)
	}
	kafkatest.WaitFor(t, 30*time.Second, "ann's total recomputed", func() bool {
		res, err := l.QueryStream(ctx(t), ops.StreamQuery{Job: "per-customer", Op: "get", Key: "ann"})
		return err == nil && len(res.Rows) == 1 && *res.Rows[0].Number == 9
	})
}

func TestValidateStreams(t *testing.T) {
	bad := streamTable()
	bad["aggregate"] = map[string]any{"op": "avg"}
	bad["outptu"] = "x"
	cfg := &config.Config{Streams: []config.Job{{Table: streamTable(), Line: 3}, {Table: bad, Line: 12}}}
	err := ops.ValidateStreams(cfg)
	var ce *config.Errors
	if !errors.As(err, &ce) {
		t.Fatalf("ValidateStreams = %v, want *config.Errors", err)
	}
	msg := err.Error()
	for _, want := range []string{"already the name", `outptu: unknown key; did you mean "output"`, `aggregate.op: "avg"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q missing from:\n%s", want, msg)
		}
	}
}

func TestDemoStreamJob(t *testing.T) {
	e, err := ops.StartEmbedded(ctx(t), ops.EmbeddedOptions{Port: 0, Demo: true, DemoRate: 200})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	l, err := ops.NewLocal(&config.Config{Ops: config.Ops{DataDir: t.TempDir()}}, ops.WithEmbedded(e))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if err := l.StartJobs(ctx(t)); err != nil {
		t.Fatal(err)
	}
	kafkatest.WaitFor(t, 30*time.Second, "the demo stream job aggregating demo.orders", func() bool {
		js, err := l.Job(context.Background(), ops.DemoStreamJobName)
		return err == nil && js.State == ops.StateRunning && js.Metrics.RecordsIn > 0 && len(js.Tasks) > 0
	})
	kafkatest.WaitFor(t, 30*time.Second, "open windows in its store", func() bool {
		res, err := l.QueryStream(context.Background(), ops.StreamQuery{Job: ops.DemoStreamJobName, Op: "top", Limit: 3})
		return err == nil && len(res.Rows) > 0 && res.Rows[0].WindowStart != nil
	})
}

// TestStreamJobBadRecordFailsOnce: a [[streams]] job whose input holds a
// non-JSON record among good ones (default on_error = "fail") emits the
// records before it and stays FAILED with the record's coordinates; the
// supervisor does not restart it.
func TestStreamJobBadRecordFailsOnce(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "in", 1)
	c.CreateTopic(t, "out", 1)
	var recs []*kgo.Record
	for i := range 8 {
		v := []byte(`{"n":1}`)
		if i == 5 {
			v = []byte("oops")
		}
		recs = append(recs, &kgo.Record{Topic: "in", Value: v})
	}
	c.Produce(t, recs...)
	cfg := &config.Config{Clusters: map[string]*config.Cluster{c.Name(): c.Config()}, Ops: config.Ops{DataDir: t.TempDir()},
		Streams: []config.Job{{Table: map[string]any{"name": "bad", "cluster": c.Name(), "inputs": []any{"in"}, "value": "value.n", "output": "out"}}}}
	l := hostJobs(t, cfg)
	var js ops.JobStatus
	kafkatest.WaitFor(t, 30*time.Second, "job FAILED", func() bool {
		js, _ = l.Job(ctx(t), "bad")
		return js.State == ops.StateFailed
	})
	if !strings.Contains(js.LastError, "in/0@5") {
		t.Fatalf("last error %q does not name the record in/0@5", js.LastError)
	}
	cl := c.Client(t, kgo.ConsumeTopics("out"))
	kafkatest.WaitFor(t, 30*time.Second, "the five records before the bad one", func() bool {
		fs := cl.PollFetches(ctx(t))
		return len(fs.Records()) > 0 && fs.Records()[len(fs.Records())-1].Offset == 4
	})
	// The supervisor's loop ended (a job waiting to restart would accept a
	// resume), and no restart was counted.
	kafkatest.WaitFor(t, 10*time.Second, "the supervisor gave the job up", func() bool {
		_, err := l.JobAction(ctx(t), "bad", ops.ActionResume, ops.JobActionOptions{})
		return errors.Is(err, ops.ErrRefused)
	})
	js, _ = l.Job(ctx(t), "bad")
	if js.State != ops.StateFailed || len(js.Tasks) > 0 && js.Tasks[0].Detail["job_restarts"] != "" {
		t.Fatalf("state %s, tasks %+v: a bad record must not restart the job", js.State, js.Tasks)
	}
}
