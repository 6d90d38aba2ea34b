package streams

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

// benchRecords is the records per benchmark run: KDECK_BENCH_RECORDS or
// 1,000,000.
func benchRecords() int {
	if n, err := strconv.Atoi(os.Getenv("KDECK_BENCH_RECORDS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// fill produces n records of 100-byte values to topic partition 0, with
// keys from keys distinct values and timestamps advancing 1ms per record.
func fill(b *testing.B, c *kafkatest.Cluster, topic string, n, keys int) {
	b.Helper()
	cl := c.Client(b, kgo.ProducerLinger(0), kgo.MaxBufferedRecords(100_000), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	val := make([]byte, 100)
	for i := range val {
		val[i] = 'a' + byte(i%26)
	}
	start := time.UnixMilli(1_700_000_000_000)
	var perr error
	for i := 0; i < n; i++ {
		cl.Produce(context.Background(), &kgo.Record{Topic: topic, Key: []byte("key-" + strconv.Itoa(i%keys)), Value: val, Timestamp: start.Add(time.Duration(i) * time.Millisecond)},
			func(_ *kgo.Record, err error) {
				if err != nil {
					perr = err
				}
			})
	}
	if err := cl.Flush(context.Background()); err != nil || perr != nil {
		b.Fatal(err, perr)
	}
}

// cpuTime is the process's user plus system CPU time so far: throughput per
// CPU second is the figure that holds on a machine whose cores other
// processes share.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report reports records/s of wall time and records per CPU second.
func report(b *testing.B, n int, wall, cpu time.Duration) {
	b.ReportMetric(float64(n)/wall.Seconds(), "records/s")
	b.ReportMetric(float64(n)/cpu.Seconds(), "records/cpu-s")
}

// runUntil runs the job until it has read n input records and committed
// them, and returns the elapsed wall and CPU time.
func runUntil(b *testing.B, c *kafkatest.Cluster, top *Topology, n int, opts ...Opt) (time.Duration, time.Duration) {
	b.Helper()
	j, err := New(top, []kgo.Opt{kgo.SeedBrokers(c.Addrs()...)}, opts...)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start, cpu0 := time.Now(), cpuTime()
	go func() { done <- j.Run(ctx) }()
	for j.recordsIn.Total() < int64(n) {
		select {
		case err := <-done:
			b.Fatalf("job stopped: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	el, cpu := time.Since(start), cpuTime()-cpu0
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return el, cpu
}

// benchJob runs the topology build returns over n fresh records with keys
// distinct keys, once per b.N, reporting records/s.
func benchJob(b *testing.B, keys int, build func(i int) *Topology) {
	n := benchRecords()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := kafkatest.New(b)
		c.CreateTopic(b, "in", 1)
		c.CreateTopic(b, "out", 1)
		fill(b, c, "in", n, keys)
		top := build(i)
		b.StartTimer()
		el, cpu := runUntil(b, c, top, n, DataDir(b.TempDir()), MaxPollRecords(50_000))
		report(b, n, el, cpu)
	}
}

// BenchmarkStatelessFilterMap measures a filter-and-map job (keeps every
// record, rewrites its value) from one partition to one partition, at
// least once.
func BenchmarkStatelessFilterMap(b *testing.B) {
	benchJob(b, 1000, func(i int) *Topology {
		top := NewTopology(fmt.Sprintf("bench-stateless-%d", i))
		top.Stream("in", []string{"in"}).
			Filter("keep", func(r Record) (bool, error) { return len(r.Value) > 0, nil }).
			Map("upper", func(r Record) (Record, error) { r.Value = r.Value[:50]; return r, nil }).
			To("out", "out")
		return top
	})
}

// BenchmarkTumblingCount measures a tumbling one-minute window count over
// 10,000 keys with Pebble state and its changelog, emitting updates.
func BenchmarkTumblingCount(b *testing.B) {
	benchJob(b, 10_000, func(i int) *Topology {
		top := NewTopology(fmt.Sprintf("bench-window-%d", i))
		top.Stream("in", []string{"in"}).GroupByKey().
			Windowed(Tumbling(time.Minute)).
			Aggregate("counts", Count(), EmitUpdate).
			To("out", "out")
		return top
	})
}

// BenchmarkRestore measures restoring a store from a changelog of n
// records with distinct keys (the worst case: nothing compacts away).
func BenchmarkRestore(b *testing.B) {
	n := benchRecords()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := kafkatest.New(b)
		top := NewTopology("bench-restore")
		top.Stream("in", []string{"in"}).GroupByKey().Aggregate("counts", Count()).To("out", "out")
		c.CreateTopic(b, "bench-restore-counts-changelog", 1, "cleanup.policy", "compact")
		fill(b, c, "bench-restore-counts-changelog", n, n)
		j, err := New(top, []kgo.Opt{kgo.SeedBrokers(c.Addrs()...)}, DataDir(b.TempDir()))
		if err != nil {
			b.Fatal(err)
		}
		j.cache = pebbleCache(j.cfg.cacheBytes)
		st, from, err := openStore(top.stores[0], 0, storeDir(j.cfg.dataDir, "bench-restore", "counts", 0), j.cache)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		if err := j.restore(context.Background(), []restoreTarget{{st: st, topic: top.stores[0].changelog, from: from}}); err != nil {
			b.Fatal(err)
		}
		el, cpu := time.Since(start), cpuTime()-cpu0
		b.StopTimer()
		if got := st.restored.Load(); got != int64(n) {
			b.Fatalf("restored %d records, want %d", got, n)
		}
		report(b, n, el, cpu)
		st.close(false)
		j.cache.Unref()
	}
}
