package connect_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/connect"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// benchRecords is the number of records each benchmark iteration moves;
// override with KDECK_BENCH_RECORDS.
func benchRecords() int {
	n := 1_000_000
	if s := os.Getenv("KDECK_BENCH_RECORDS"); s != "" {
		fmt.Sscan(s, &n)
	}
	return n
}

// runToCount runs a job until its tasks produced n records in total and
// returns the elapsed time.
func runToCount(b *testing.B, c *kafkatest.Cluster, table map[string]any, n int) time.Duration {
	b.Helper()
	j, err := connect.NewJob(connect.Builtins(), table, connect.WithClientOpts(kgo.SeedBrokers(c.Addrs()...)), connect.WithOffsetStore(connect.NewFileOffsetStore(b.TempDir())))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- j.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var out int64
		for _, t := range j.Status().Tasks {
			out += t.Metrics.RecordsOut
		}
		if out >= int64(n) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d records after 5m", out, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
	el := time.Since(start)
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return el
}

func newBenchCluster(b *testing.B) *kafkatest.Cluster {
	return kafkatest.New(b, kafkatest.WithKfake(kfake.DefaultNumPartitions(6)))
}

// BenchmarkDatagen produces benchRecords() records with 100-byte JSON values
// from datagen into an embedded cluster, timed from the job's start to the
// acknowledgement of the last record; it reports the mean and the best
// iteration (the machine is shared and noisy).
func BenchmarkDatagen(b *testing.B) {
	n := benchRecords()
	for _, tasks := range []int64{1, 2} {
		b.Run(fmt.Sprintf("tasks=%d", tasks), func(b *testing.B) {
			var total, fastest time.Duration
			for i := 0; i < b.N; i++ {
				c := newBenchCluster(b)
				topic := fmt.Sprintf("gen-%d", i)
				c.CreateTopic(b, topic, 6)
				d := runToCount(b, c, map[string]any{"name": "bench", "class": "datagen", "topic": topic, "count": int64(n),
					"value_size": int64(100), "tasks_max": tasks, "batch": int64(5000),
					"shape": map[string]any{"id": "seq", "customer": "key", "amount": "float:1:200", "currency": "choice:EUR,USD"}}, n)
				total += d
				if fastest == 0 || d < fastest {
					fastest = d
				}
			}
			b.ReportMetric(float64(n*b.N)/total.Seconds(), "mean-records/s")
			b.ReportMetric(float64(n)/fastest.Seconds(), "best-records/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// writeBenchFile writes n lines of about 100 bytes.
func writeBenchFile(b *testing.B, path string, n int) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	pad := strings.Repeat("x", 80)
	for i := range n {
		fmt.Fprintf(w, "%010d %s\n", i, pad)
	}
	w.Flush()
	f.Close()
}

func topicCount(b *testing.B, c *kafkatest.Cluster, topic string) int64 {
	ends, err := c.Admin(b).ListEndOffsets(context.Background(), topic)
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// BenchmarkFileSourceVsKcat reads a file of benchRecords() lines with
// file-source and with `kcat -P -l` into the same cluster, in the same
// run, and reports both rates and their ratio (file-source / kcat; above
// 1 means kdeck is faster). Each iteration runs both on a fresh cluster,
// alternating which goes first; rates are the best iteration of each, as
// the machine is shared and noisy. Without kcat on PATH it reports
// file-source alone (scripts/bench-connect.sh installs kcat).
func BenchmarkFileSourceVsKcat(b *testing.B) {
	n := benchRecords()
	path := filepath.Join(b.TempDir(), "lines.txt")
	writeBenchFile(b, path, n)
	kcat, kerr := exec.LookPath("kcat")
	var kdeckBest, kcatBest time.Duration
	best := func(cur *time.Duration, d time.Duration) {
		if *cur == 0 || d < *cur {
			*cur = d
		}
	}
	for i := 0; i < b.N; i++ {
		c := newBenchCluster(b)
		runKdeck := func() {
			topic := fmt.Sprintf("file-%d", i)
			c.CreateTopic(b, topic, 6)
			best(&kdeckBest, runToCount(b, c, map[string]any{"name": "bench", "class": "file-source", "path": path, "topic": topic, "batch_lines": int64(10000)}, n))
		}
		runKcat := func() {
			if kerr != nil {
				return
			}
			ktopic := fmt.Sprintf("kcat-%d", i)
			c.CreateTopic(b, ktopic, 6)
			start := time.Now()
			out, err := exec.Command(kcat, "-b", c.Addr(), "-P", "-t", ktopic, "-l", path).CombinedOutput()
			if err != nil {
				b.Fatalf("kcat: %v\n%s", err, out)
			}
			best(&kcatBest, time.Since(start))
			if got := topicCount(b, c, ktopic); got != int64(n) {
				b.Fatalf("kcat produced %d of %d records", got, n)
			}
		}
		if i%2 == 0 {
			runKdeck()
			runKcat()
		} else {
			runKcat()
			runKdeck()
		}
	}
	kdeckRate := float64(n) / kdeckBest.Seconds()
	b.ReportMetric(kdeckRate, "kdeck-records/s")
	if kerr == nil {
		kcatRate := float64(n) / kcatBest.Seconds()
		b.ReportMetric(kcatRate, "kcat-records/s")
		b.ReportMetric(kdeckRate/kcatRate, "ratio")
	}
	b.ReportMetric(0, "ns/op")
}
