package mirror

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

// BenchmarkMirror mirrors N records of 100 bytes over 8 partitions between
// two embedded clusters three ways in the same run: the mirror flow, a plain
// franz-go consume-then-produce loop (the client's limit) and a
// `kcat -C | kcat -P` pipe. The three run interleaved for
// MIRROR_BENCH_ROUNDS rounds (default 5) and the medians and the best
// rounds are reported, so that load from other processes hits all three
// alike. N is
// MIRROR_BENCH_RECORDS (default 2,000,000; 100,000 with -short). Run it once:
// -benchtime=1x (scripts/mirror-bench.sh).
func BenchmarkMirror(b *testing.B) {
	n, rounds := 2_000_000, 5
	if testing.Short() {
		n, rounds = 100_000, 1
	}
	if s := os.Getenv("MIRROR_BENCH_RECORDS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	if s := os.Getenv("MIRROR_BENCH_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	const parts, size = 8, 100
	src := kafkatest.New(b, kafkatest.Name("a"))
	src.CreateTopic(b, "bench", parts)
	fill(b, src, "bench", parts, n, size)
	_, kcatErr := exec.LookPath("kcat")

	ways := []struct {
		name string
		run  func(b *testing.B, tgt *benchTarget) time.Duration
	}{
		{"flow", func(b *testing.B, tgt *benchTarget) time.Duration { return flowRun(b, src, tgt, n) }},
		{"plain", func(b *testing.B, tgt *benchTarget) time.Duration { return plainLoop(b, src, tgt, n) }},
		{"kcat", func(b *testing.B, tgt *benchTarget) time.Duration { return kcatPipe(b, src, tgt, n) }},
	}
	for range b.N {
		took := map[string][]time.Duration{}
		for r := range rounds {
			for _, w := range ways {
				if w.name == "kcat" && kcatErr != nil {
					continue
				}
				tgt := newBenchTarget(b)
				runtime.GC()
				d := w.run(b, tgt)
				tgt.fc.Close() // and drop it: its records are freed before the next run
				took[w.name] = append(took[w.name], d)
				b.Logf("round %d %-5s %8.0f records/s", r, w.name, float64(n)/d.Seconds())
			}
		}
		rate, best := map[string]float64{}, map[string]float64{}
		for name, ds := range took {
			ds = slices.Clone(ds)
			slices.Sort(ds)
			rate[name] = float64(n) / ds[len(ds)/2].Seconds()
			best[name] = float64(n) / ds[0].Seconds()
			b.ReportMetric(rate[name], name+"_records/s")
			b.ReportMetric(rate[name]*size/1e6, name+"_MB/s")
			b.ReportMetric(best[name], name+"_best_records/s")
		}
		b.ReportMetric(rate["flow"]/rate["plain"], "flow/plain")
		// The median of each round's own ratio: the two runs of a round
		// are seconds apart, so they share the machine's load.
		var paired []float64
		for i := range took["flow"] {
			paired = append(paired, took["plain"][i].Seconds()/took["flow"][i].Seconds())
		}
		slices.Sort(paired)
		b.ReportMetric(paired[len(paired)/2], "paired_flow/plain")
		b.ReportMetric(best["flow"]/best["plain"], "best_flow/plain")
		if rate["kcat"] > 0 {
			b.ReportMetric(rate["flow"]/rate["kcat"], "flow/kcat")
		}
		b.ReportMetric(0, "ns/op")
	}
}

// flowRun mirrors the bench topic with a Flow of default settings until the
// target acknowledged n records.
func flowRun(b *testing.B, src *kafkatest.Cluster, tgt *benchTarget, n int) time.Duration {
	cfg := Config{Name: fmt.Sprintf("bench-%d", time.Now().UnixNano()), Source: "a", Target: "b", Topics: []string{"bench"}, Exclude: []string{HeartbeatTopic}}
	f, err := New(cfg, opts(src), []kgo.Opt{kgo.SeedBrokers(tgt.addrs...), kgo.MetadataMinAge(100 * time.Millisecond)})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	begin := time.Now()
	go func() { done <- f.Run(ctx) }()
	for f.records.Total() < int64(n) { // Status without its locks and copies
		select {
		case err := <-done:
			b.Fatalf("flow stopped: %v", err)
		case <-time.After(2 * time.Millisecond):
		}
	}
	elapsed := time.Since(begin)
	cancel()
	<-done
	return elapsed
}

// kcatPipe copies the bench topic with `kcat -C | kcat -P`.
func kcatPipe(b *testing.B, src *kafkatest.Cluster, tgt *benchTarget, n int) time.Duration {
	begin := time.Now() // creating the target topic counts, as the flow's does
	tgt.createTopic(b, "bench", 8)
	cmd := exec.Command("sh", "-c", fmt.Sprintf("kcat -C -q -e -o beginning -b %s -t bench | kcat -P -b %s -t bench", src.Addr(), strings.Join(tgt.addrs, ",")))
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("kcat pipe: %v", err)
	}
	elapsed := time.Since(begin)
	if got := tgt.records(b, "bench"); got != int64(n) {
		b.Fatalf("kcat pipe delivered %d of %d records", got, n)
	}
	return elapsed
}

// fill produces n records of size bytes (no newline: kcat splits on it).
func fill(b *testing.B, c *kafkatest.Cluster, topic string, parts, n, size int) {
	b.Helper()
	cl := c.Client(b, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(200_000))
	// Random printable values: incompressible like most payloads, and free
	// of newlines, which kcat splits on.
	rng := rand.New(rand.NewPCG(1, 2))
	var failed atomic.Value
	for i := range n {
		val := make([]byte, size)
		for j := range val {
			val[j] = byte(' ' + 1 + rng.IntN(94))
		}
		cl.Produce(context.Background(), &kgo.Record{Topic: topic, Partition: int32(i % parts), Value: val}, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Store(err)
			}
		})
	}
	if err := cl.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
}

// plainLoop is the reference: consume every partition, produce each record
// to the same partition of the target, until n are acknowledged.
func plainLoop(b *testing.B, src *kafkatest.Cluster, tgt *benchTarget, n int) time.Duration {
	b.Helper()
	begin := time.Now() // creating the target topic counts, as the flow's does
	tgt.createTopic(b, "bench", 8)
	// The same client settings as the flow's defaults, so that the ratio
	// measures the flow's own overhead.
	cons, err := kgo.NewClient(kgo.SeedBrokers(src.Addrs()...), kgo.ConsumeTopics("bench"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(16<<20), kgo.FetchMaxPartitionBytes(1<<20),
		kgo.MaxConcurrentFetches(4), kgo.FetchMaxWait(500*time.Millisecond), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		b.Fatal(err)
	}
	defer cons.Close()
	prod, err := kgo.NewClient(kgo.SeedBrokers(tgt.addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(5*time.Millisecond), kgo.ProducerBatchMaxBytes(1<<20), kgo.MaxBufferedRecords(100_000),
		kgo.MaxBufferedBytes(64<<20), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		b.Fatal(err)
	}
	defer prod.Close()
	var acked atomic.Int64
	promise := func(_ *kgo.Record, err error) {
		if err == nil {
			acked.Add(1)
		}
	}
	sent := 0
	for sent < n {
		fs := cons.PollRecords(context.Background(), 10_000)
		fs.EachRecord(func(r *kgo.Record) {
			prod.Produce(context.Background(), &kgo.Record{Topic: "bench", Partition: r.Partition, Key: r.Key, Value: r.Value,
				Headers: r.Headers, Timestamp: r.Timestamp}, promise)
			sent++
		})
	}
	if err := prod.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(begin)
	if acked.Load() != int64(n) {
		b.Fatalf("plain loop acknowledged %d of %d", acked.Load(), n)
	}
	return elapsed
}

// benchTarget is a target cluster of one benchmark run, closed and dropped
// after it (kafkatest keeps its clusters until the benchmark ends, which
// would keep every run's records in memory).
type benchTarget struct {
	fc    *kfake.Cluster
	addrs []string
}

func newBenchTarget(b *testing.B) *benchTarget {
	fc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	if err != nil {
		b.Fatal(err)
	}
	return &benchTarget{fc: fc, addrs: fc.ListenAddrs()}
}

func (t *benchTarget) admin(b *testing.B) (*kadm.Client, func()) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(t.addrs...), kgo.MetadataMinAge(50*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	return kadm.NewClient(cl), cl.Close
}

func (t *benchTarget) createTopic(b *testing.B, topic string, parts int32) {
	adm, done := t.admin(b)
	defer done()
	resp, err := adm.CreateTopic(context.Background(), parts, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		b.Fatal(err)
	}
}

func (t *benchTarget) records(b *testing.B, topic string) int64 {
	adm, done := t.admin(b)
	defer done()
	ends, err := adm.ListEndOffsets(context.Background(), topic)
	if err != nil {
		b.Fatal(err)
	}
	var sum int64
	ends.Each(func(o kadm.ListedOffset) { sum += max(o.Offset, 0) })
	return sum
}
