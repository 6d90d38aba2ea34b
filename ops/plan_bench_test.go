package ops_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// BenchmarkResetPlanExecute10kPartitions plans and executes a reset of a
// group over 10,000 partitions (one record each) against an embedded
// cluster, alternating --to-earliest and --to-latest so every partition
// changes. It reports the OffsetCommit and ListOffsets requests per op: the
// goal is one batched commit and no per-partition round trips.
func BenchmarkResetPlanExecute10kPartitions(b *testing.B) {
	const parts = 10000
	c := kafkatest.New(b)
	c.CreateTopic(b, "wide", parts)
	recs := make([]*kgo.Record, parts)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "wide", Partition: int32(i), Value: []byte("v")}
	}
	c.Produce(b, recs...)
	var commits, lists atomic.Int64
	c.Fake.ControlKey(int16(kmsg.OffsetCommit), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.Fake.KeepControl()
		commits.Add(1)
		return nil, nil, false
	})
	c.Fake.ControlKey(int16(kmsg.ListOffsets), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.Fake.KeepControl()
		lists.Add(1)
		return nil, nil, false
	})
	cfg := &config.Config{Clusters: map[string]*config.Cluster{c.Name(): c.Config()}, Ops: config.Ops{DataDir: b.TempDir()}}
	l, err := ops.NewLocal(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	modes := []ops.ResetMode{ops.ResetToLatest, ops.ResetToEarliest}
	var planTime, execTime time.Duration
	b.ResetTimer()
	commits.Store(0)
	lists.Store(0)
	for i := 0; i < b.N; i++ {
		start := time.Now()
		p, err := l.PlanReset(b.Context(), ops.ResetRequest{Group: "wide-group", Mode: modes[i%2], Scope: []ops.TopicScope{{Topic: "wide"}}})
		if err != nil {
			b.Fatal(err)
		}
		planTime += time.Since(start)
		if p.Totals.Partitions != parts || (i > 0 && p.Totals.Changed != parts) {
			b.Fatalf("plan covers %d partitions, changes %d", p.Totals.Partitions, p.Totals.Changed)
		}
		start = time.Now()
		if _, err := l.ExecutePlan(b.Context(), p); err != nil {
			b.Fatal(err)
		}
		execTime += time.Since(start)
	}
	b.ReportMetric(float64(planTime.Milliseconds())/float64(b.N), "plan-ms/op")
	b.ReportMetric(float64(execTime.Milliseconds())/float64(b.N), "execute-ms/op")
	b.ReportMetric(float64(commits.Load())/float64(b.N), "commits/op")
	b.ReportMetric(float64(lists.Load())/float64(b.N), "listoffsets/op")
}
