package ops_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// consumeAll reads with a real consumer group client (kgo with
// ConsumerGroup, as kcat -G does) until it has want records, commits them
// and leaves the group. It returns how many records it read per value.
func consumeAll(t *testing.T, c *kafkatest.Cluster, group, topic string, want int) map[string]int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	cx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	seen := map[string]int{}
	n := 0
	for n < want {
		fs := cl.PollFetches(cx)
		if cx.Err() != nil {
			t.Fatalf("read %d of %d records before the deadline", n, want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			seen[string(r.Value)]++
			n++
		})
		if err := cl.CommitUncommittedOffsets(cx); err != nil {
			t.Fatal(err)
		}
	}
	cl.LeaveGroup()
	cl.Close()
	return seen
}

func TestConsumerRereadsEveryRecordAfterResetToEarliest(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "orders", 3)
	recs := c.ProduceN(t, "orders", 90)
	// The consumer reads everything once (committing the log end).
	c.Commit(t, "reader", map[string]map[int32]int64{"orders": {0: 0, 1: 0, 2: 0}})
	first := consumeAll(t, c, "reader", "orders", 90)
	if len(first) != 90 {
		t.Fatalf("first read saw %d distinct records", len(first))
	}
	l := newLocal(t, c)
	var p *ops.Plan
	kafkatest.WaitFor(t, 20*time.Second, "the consumer to leave the group", func() bool {
		var err error
		p, err = l.PlanReset(ctx(t), ops.ResetRequest{Group: "reader", Mode: ops.ResetToEarliest, Scope: []ops.TopicScope{{Topic: "orders"}}})
		return err == nil
	})
	if p.Totals.Reread != 90 {
		t.Errorf("plan says %d records re-read, want 90", p.Totals.Reread)
	}
	if _, err := l.ExecutePlan(ctx(t), p); err != nil {
		t.Fatal(err)
	}
	again := consumeAll(t, c, "reader", "orders", 90)
	for _, r := range recs {
		if again[string(r.Value)] != 1 {
			t.Errorf("record %s re-read %d times, want once", r.Value, again[string(r.Value)])
		}
	}
}
