package connect_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/connect"
	"github.com/kdeck/kdeck/jobstate"
	"github.com/kdeck/kdeck/testing/kafkatest"
	"github.com/kdeck/kdeck/testing/pgtest"
)

// benchPGRows is the number of rows each PostgreSQL benchmark moves;
// override with KDECK_BENCH_PG_ROWS.
func benchPGRows() int {
	n := 200_000
	if s := os.Getenv("KDECK_BENCH_PG_ROWS"); s != "" {
		fmt.Sscan(s, &n)
	}
	return n
}

// benchTable is the row shape of the PostgreSQL benchmarks: about 100
// bytes of values.
const benchTable = "CREATE TABLE items (id int PRIMARY KEY, name text, amount numeric(12,2), at timestamptz, tags text[])"

func benchRowsSQL(from, to int) string {
	return fmt.Sprintf("INSERT INTO items SELECT i, md5(i::text) || md5((i+1)::text), i * 1.25, now(), ARRAY['a', 'b'] FROM generate_series(%d, %d) i", from, to)
}

// recordsOut waits until the job's tasks produced at least n records.
func recordsOut(b *testing.B, j *connect.Job, n int) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var out int64
		for _, t := range j.Status().Tasks {
			if t.State == jobstate.Failed {
				b.Fatalf("task failed: %s", t.Trace)
			}
			out += t.Metrics.RecordsOut
		}
		if out >= int64(n) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d records after 5m", out, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func startBenchJob(b *testing.B, c *kafkatest.Cluster, table map[string]any) (*connect.Job, func()) {
	b.Helper()
	j, err := connect.NewJob(connect.Builtins(), table, connect.WithClientOpts(kgo.SeedBrokers(c.Addrs()...)), connect.WithOffsetStore(connect.NewFileOffsetStore(b.TempDir())))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- j.Run(ctx) }()
	return j, func() {
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPostgresCDCSnapshot: rows/s of postgres-cdc's initial snapshot
// (snapshot_mode initial_only) into an embedded cluster.
func BenchmarkPostgresCDCSnapshot(b *testing.B) {
	n := benchPGRows()
	pg := pgtest.Start(b)
	dsn := pg.CreateDB(b, "bench")
	pg.Exec(b, dsn, benchTable+"; "+benchRowsSQL(1, n))
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := kafkatest.New(b)
		b.StartTimer()
		start := time.Now()
		j, stop := startBenchJob(b, c, map[string]any{"name": "snap", "class": "postgres-cdc", "dsn": dsn, "tables": []any{"public.items"},
			"topic_prefix": "bench", "slot": "snap", "snapshot_mode": "initial_only"})
		recordsOut(b, j, n)
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "rows/s")
		stop()
	}
}

// BenchmarkPostgresCDCStreaming: changes/s of postgres-cdc streaming n
// inserts committed in transactions of 1000 rows, from the first commit to
// the last change acknowledged by Kafka.
func BenchmarkPostgresCDCStreaming(b *testing.B) {
	n := benchPGRows()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		pg := pgtest.Start(b)
		dsn := pg.CreateDB(b, "bench")
		pg.Exec(b, dsn, benchTable)
		c := kafkatest.New(b)
		j, stop := startBenchJob(b, c, map[string]any{"name": "stream", "class": "postgres-cdc", "dsn": dsn, "tables": []any{"public.items"},
			"topic_prefix": "bench", "slot": "stream", "snapshot_mode": "never"})
		kafkatest.WaitFor(b, 30*time.Second, "streaming", func() bool {
			return len(pg.Query(b, dsn, "SELECT 1 FROM pg_stat_replication")) == 1
		})
		var stmts []string
		for from := 1; from <= n; from += 1000 {
			stmts = append(stmts, "BEGIN", benchRowsSQL(from, min(from+999, n)), "COMMIT")
		}
		b.StartTimer()
		start := time.Now()
		pg.Exec(b, dsn, strings.Join(stmts, ";"))
		recordsOut(b, j, n)
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "changes/s")
		stop()
	}
}

// BenchmarkPostgresCDCLatency: commit-to-consumed latency of single-row
// transactions committed 200 a second: the row's commit time (its at
// column, set by clock_timestamp() in the transaction) to the moment a
// consumer of the topic reads it.
func BenchmarkPostgresCDCLatency(b *testing.B) {
	pg := pgtest.Start(b)
	dsn := pg.CreateDB(b, "bench")
	pg.Exec(b, dsn, benchTable)
	c := kafkatest.New(b)
	_, stop := startBenchJob(b, c, map[string]any{"name": "lat", "class": "postgres-cdc", "dsn": dsn, "tables": []any{"public.items"},
		"topic_prefix": "bench", "slot": "lat", "snapshot_mode": "never"})
	defer stop()
	kafkatest.WaitFor(b, 30*time.Second, "streaming", func() bool {
		return len(pg.Query(b, dsn, "SELECT 1 FROM pg_stat_replication")) == 1
	})
	cl := c.Client(b, kgo.ConsumeTopics("bench.public.items"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	const perIter = 1000
	for i := 0; i < b.N; i++ {
		lat := commitLatency(b, dsn, cl, i*perIter+1, perIter)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// commitLatency commits n single-row inserts into items (ids from first) at
// 200 a second on one connection and returns, sorted, the time from each
// row's clock_timestamp() (its at column, set in its transaction) to the
// moment a consumer of cl read its change.
func commitLatency(b *testing.B, dsn string, cl *kgo.Client, first, n int) []time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	werr := make(chan error, 1)
	go func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for k := first; k < first+n; k++ {
			select {
			case <-ctx.Done():
				werr <- ctx.Err()
				return
			case <-tick.C:
			}
			if _, err := conn.Exec(ctx, "INSERT INTO items VALUES ($1, 'x', 1, clock_timestamp(), NULL)", k); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	var lat []time.Duration
	for len(lat) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			b.Fatalf("%d of %d changes consumed", len(lat), n)
		}
		now := time.Now()
		fs.EachRecord(func(r *kgo.Record) {
			var v struct {
				After struct {
					At string `json:"at"`
				} `json:"after"`
			}
			if json.Unmarshal(r.Value, &v) != nil {
				return
			}
			if at, err := time.Parse(time.RFC3339Nano, v.After.At); err == nil {
				lat = append(lat, now.Sub(at))
			}
		})
	}
	if err := <-werr; err != nil {
		b.Fatalf("writer: %v", err)
	}
	sort.Slice(lat, func(a, c int) bool { return lat[a] < lat[c] })
	return lat
}

// BenchmarkPostgresSinkVsCopy: rows/s of postgres-sink (upsert, batches of
// batch_size 5000) writing n records from a topic into an empty table,
// beside psql \copy of the same rows from a CSV file (the physical limit).
func BenchmarkPostgresSinkVsCopy(b *testing.B) {
	n := benchPGRows()
	pg := pgtest.Start(b)
	dsn := pg.CreateDB(b, "bench")
	c := kafkatest.New(b)
	c.CreateTopic(b, "items", 1)
	csv := filepath.Join(b.TempDir(), "items.csv")
	var sb strings.Builder
	recs := make([]*kgo.Record, 0, n)
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("%032x%032x", i*7919, i*104729)
		recs = append(recs, &kgo.Record{Topic: "items", Key: fmt.Appendf(nil, `{"id":%d}`, i),
			Value: fmt.Appendf(nil, `{"id":%d,"name":%q,"amount":%d.25,"at":"2024-01-02T03:04:05Z","tags":["a","b"]}`, i, name, i)})
		fmt.Fprintf(&sb, "%d,%s,%d.25,2024-01-02T03:04:05Z,\"{a,b}\"\n", i, name, i)
	}
	c.Produce(b, recs...)
	if err := os.WriteFile(csv, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	psql := filepath.Join(pgtest.BinDir(), "psql")
	for i := 0; i < b.N; i++ {
		tbl := fmt.Sprintf("items_%d", i)
		pg.Exec(b, dsn, strings.Replace(benchTable, "items", tbl, 1)+"; "+strings.Replace(benchTable, "items", tbl+"_copy", 1))
		start := time.Now()
		j, stop := startBenchJob(b, c, map[string]any{"name": "sink-" + tbl, "class": "postgres-sink", "dsn": dsn, "topics": []any{"items"}, "table": tbl})
		recordsOut(b, j, n)
		sinkRate := float64(n) / time.Since(start).Seconds()
		stop()
		if got := pg.Query(b, dsn, "SELECT count(*)::text FROM "+tbl)[0][0]; got != fmt.Sprint(n) {
			b.Fatalf("%s rows written, want %d", got, n)
		}
		start = time.Now()
		out, err := exec.Command(psql, dsn, "-c", `\copy `+tbl+`_copy FROM '`+csv+`' CSV`).CombinedOutput()
		if err != nil {
			b.Fatalf("psql \\copy: %v: %s", err, out)
		}
		copyRate := float64(n) / time.Since(start).Seconds()
		b.ReportMetric(sinkRate, "sink-rows/s")
		b.ReportMetric(copyRate, "copy-rows/s")
	}
}
