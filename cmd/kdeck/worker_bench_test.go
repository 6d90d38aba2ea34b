package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

// BenchmarkMirrorWorkers mirrors KDECK_BENCH_RECORDS (default 300,000)
// records of 100 bytes, produced beforehand to 12 partitions, with one flow
// of tasks_max = 12 on 1, 2 and 3 'kdeck run' workers of a group, and
// reports records/s from the workers' start until the target holds them all
// (group join and topic discovery included). Both clusters are kfake in the
// benchmark's process.
func BenchmarkMirrorWorkers(b *testing.B) {
	total := 300_000
	if v, err := strconv.Atoi(os.Getenv("KDECK_BENCH_RECORDS")); err == nil && v > 0 {
		total = v
	}
	bin := buildKdeck(b)
	for _, workers := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			for range b.N {
				src := kafkatest.New(b, kafkatest.Name("a"))
				dst := kafkatest.New(b, kafkatest.Name("b"))
				src.CreateTopic(b, "orders", 12)
				// The remote topic exists beforehand so that the admin
				// client watching it has its metadata (an unknown topic's is
				// refreshed only every 5s).
				dst.CreateTopic(b, "a.orders", 12)
				p := src.Client(b, kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(100_000))
				val := make([]byte, 100)
				ctx := context.Background()
				for i := range total {
					p.Produce(ctx, &kgo.Record{Topic: "orders", Partition: int32(i % 12), Value: val}, nil)
				}
				if err := p.Flush(ctx); err != nil {
					b.Fatal(err)
				}
				dir := b.TempDir()
				b.ResetTimer()
				began := time.Now()
				var ws []*groupWorker
				for i := range workers {
					name := fmt.Sprintf("w%d", i+1)
					path := filepath.Join(dir, name+".toml")
					cfg := fmt.Sprintf("default_cluster = \"a\"\n[clusters.a]\nbrokers = [%q]\n[clusters.b]\nbrokers = [%q]\n[ops]\ndata_dir = %q\n[worker]\ngroup = \"bench\"\n[[mirrors]]\nname = \"ab\"\nsource = \"a\"\ntarget = \"b\"\ntopics = [\"orders\"]\ntasks_max = 12\n",
						src.Addr(), dst.Addr(), filepath.Join(dir, "data-"+name))
					if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
						b.Fatal(err)
					}
					ws = append(ws, startGroupWorker(b, bin, name, path))
				}
				adm := dst.Admin(b)
				for {
					ends, err := adm.ListEndOffsets(ctx, "a.orders")
					var n int64
					if err == nil {
						ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
					}
					if n >= int64(total) {
						break
					}
					if time.Since(began) > 5*time.Minute {
						b.Fatalf("only %d of %d records mirrored", n, total)
					}
					time.Sleep(20 * time.Millisecond)
				}
				el := time.Since(began)
				b.StopTimer()
				b.ReportMetric(float64(total)/el.Seconds(), "records/s")
				for _, w := range ws {
					_ = w.cmd.Process.Signal(syscall.SIGTERM)
					<-w.done
				}
			}
		})
	}
}
