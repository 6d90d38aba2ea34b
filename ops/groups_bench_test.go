package ops_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// BenchmarkListGroups measures 'groups list' with lag for N groups, each
// with committed offsets on all 64 partitions of one of 10 topics (N*64
// committed offsets), against an embedded cluster.
//
//	go test ./ops -run '^$' -bench ListGroups -benchtime 5x
func BenchmarkListGroups(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("groups=%d", n), func(b *testing.B) {
			c := kafkatest.New(b)
			adm := c.Admin(b)
			ctx := context.Background()
			const topics, parts = 10, 64
			for i := range topics {
				c.CreateTopic(b, fmt.Sprintf("t%d", i), parts)
			}
			for i := range topics {
				c.ProduceN(b, fmt.Sprintf("t%d", i), parts*10)
			}
			for g := range n {
				os := kadm.Offsets{}
				topic := fmt.Sprintf("t%d", g%topics)
				for p := range int32(parts) {
					os.Add(kadm.Offset{Topic: topic, Partition: p, At: int64(g % 10), LeaderEpoch: -1})
				}
				if _, err := adm.CommitOffsets(ctx, fmt.Sprintf("group-%05d", g), os); err != nil {
					b.Fatal(err)
				}
			}
			l, err := ops.NewLocal(&config.Config{Clusters: map[string]*config.Cluster{"local": c.Config()}, Ops: config.Ops{DataDir: b.TempDir()}})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			b.ResetTimer()
			for b.Loop() {
				gs, err := l.ListGroups(ctx, "")
				if err != nil {
					b.Fatal(err)
				}
				if len(gs) != n {
					b.Fatalf("%d groups, want %d", len(gs), n)
				}
			}
			b.ReportMetric(float64(n*parts), "offsets")
		})
	}
}
