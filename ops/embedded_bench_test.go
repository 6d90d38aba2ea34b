package ops_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkEmbeddedProduceSyncWrites measures what fsync per batch (kfake's
// SyncWrites) costs the embedded cluster: 100-byte records produced with
// acks=all from one client, with and without it, on a persisted cluster:
// many in flight (async, batches of many records) and one at a time
// (ProduceSync, one record per batch, as a low-rate producer sends).
//
//	go test ./ops -run '^$' -bench EmbeddedProduceSyncWrites -benchtime 3000x -count 5
func BenchmarkEmbeddedProduceSyncWrites(b *testing.B) {
	for _, bc := range []struct {
		name     string
		oneByOne bool
		sync     bool
	}{
		{"page-cache/async", false, false}, {"fsync/async", false, true},
		{"page-cache/one-by-one", true, false}, {"fsync/one-by-one", true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			opts := []kfake.Opt{kfake.NumBrokers(1), kfake.DataDir(b.TempDir()), kfake.SeedTopics(3, "t")}
			if bc.sync {
				opts = append(opts, kfake.SyncWrites())
			}
			c, err := kfake.NewCluster(opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("t"), kgo.ProducerLinger(5*time.Millisecond))
			if err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			v := make([]byte, 100)
			b.SetBytes(100)
			b.ResetTimer()
			for range b.N {
				if bc.oneByOne {
					if err := cl.ProduceSync(context.Background(), &kgo.Record{Value: v}).FirstErr(); err != nil {
						b.Fatal(err)
					}
					continue
				}
				cl.Produce(context.Background(), &kgo.Record{Value: v}, func(_ *kgo.Record, err error) {
					if err != nil {
						b.Error(err)
					}
				})
			}
			if err := cl.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
		})
	}
}
