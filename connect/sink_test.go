package connect_test

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/connect"
	"github.com/kdeck/kdeck/jobstate"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

func runWithRegistry(t *testing.T, c *kafkatest.Cluster, reg *connect.Registry, table map[string]any) (*connect.Job, func() error) {
	t.Helper()
	j, err := connect.NewJob(reg, table, connect.WithClientOpts(kgo.SeedBrokers(c.Addrs()...)), connect.WithOffsetStore(connect.NewFileOffsetStore(t.TempDir())))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	ctx, cancel := contextWithCancel()
	go func() { done <- j.Run(ctx) }()
	stopped := false
	var runErr error
	stop := func() error {
		if !stopped {
			stopped = true
			cancel()
			runErr = <-done
		}
		return runErr
	}
	t.Cleanup(func() { stop() })
	return j, stop
}

// TestSinkTasksShareGroupAndRestartWithoutLoss runs a custom sink with two
// tasks in the group connect-NAME, restarts one task midway (its partitions
// move to the other and back), and checks every record arrived.
func TestSinkTasksShareGroupAndRestartWithoutLoss(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "orders", 4)
	produce := func(from, to int) {
		var recs []*kgo.Record
		for i := from; i < to; i++ {
			recs = append(recs, &kgo.Record{Topic: "orders", Key: []byte(strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))})
		}
		c.Produce(t, recs...)
	}
	produce(0, 500)
	reg := connect.Builtins()
	sink := &memorySink{}
	reg.Register(sink.plugin())
	j, stop := runWithRegistry(t, c, reg, map[string]any{"name": "mem", "class": "memory-sink", "topics": []any{"orders"}, "tasks_max": int64(2), "batch_size": int64(50)})
	waitFor(t, "500 records", func() bool { return len(sink.values()) >= 500 })
	if err := j.RestartTask(1); err != nil {
		t.Fatal(err)
	}
	produce(500, 1000)
	waitFor(t, "1000 distinct records", func() bool { return distinct(sink.values()) == 1000 })
	waitFor(t, "both tasks running", func() bool {
		st := j.Status()
		return st.Tasks[0].State == jobstate.Running && st.Tasks[1].State == jobstate.Running
	})
	if err := j.RestartTask(7); err == nil || !strings.Contains(err.Error(), "no task 7") {
		t.Errorf("RestartTask(7) = %v", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records received for 1000 produced (duplicates come only from a batch in flight at the restart)", len(sink.values()))
	committed := c.Committed(t, "connect-mem")["orders"]
	var sum int64
	for _, o := range committed {
		sum += o
	}
	if sum != 1000 {
		t.Fatalf("committed offsets sum to %d, want 1000: %v", sum, committed)
	}
}

func distinct(vs []string) int {
	m := map[string]bool{}
	for _, v := range vs {
		m[v] = true
	}
	return len(m)
}

// TestSinkPutRecordErrorGoesToDLQ: a sink that rejects one record (by
// index) sends it to the DLQ at stage TASK_PUT and keeps the others.
func TestSinkPutRecordErrorGoesToDLQ(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "in", 1)
	for i := range 20 {
		c.Produce(t, &kgo.Record{Topic: "in", Value: []byte(fmt.Sprint(i))})
	}
	reg := connect.Builtins()
	sink := &memorySink{fail: func(v string) error {
		if v == "7" || v == "13" {
			return fmt.Errorf("value %s violates a constraint", v)
		}
		return nil
	}}
	reg.Register(sink.plugin())
	_, stop := runWithRegistry(t, c, reg, map[string]any{"name": "memdlq", "class": "memory-sink", "topics": []any{"in"}, "errors_tolerance": "all", "dlq_topic": "in.dlq"})
	defer stop()
	dlq := readAll(t, c, "in.dlq", 2)
	waitFor(t, "18 records", func() bool { return len(sink.values()) == 18 })
	var bad []string
	for _, d := range dlq {
		bad = append(bad, string(d.Value))
		for _, h := range d.Headers {
			if h.Key == connect.HeaderErrStage && string(h.Value) != connect.StageTaskPut {
				t.Errorf("stage %s", h.Value)
			}
		}
	}
	sort.Strings(bad)
	if strings.Join(bad, ",") != "13,7" {
		t.Fatalf("DLQ holds %v", bad)
	}
}
