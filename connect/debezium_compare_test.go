package connect_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/connect"
	"github.com/kdeck/kdeck/testing/kafkatest"
	"github.com/kdeck/kdeck/testing/pgtest"
)

// debeziumDir is where testing/realkafka/debezium resolves Debezium.
const debeziumDir = "../testing/realkafka/debezium"

// TestDebeziumComparison runs Debezium's PostgreSQL connector (3.6.1.Final
// on Apache Kafka Connect 4.3.1, standalone, against the embedded cluster)
// and kdeck's postgres-cdc on the same table and the same changes, then
// compares the two topics event by event: key, op, before, after, and the
// source fields both have. Every divergence must be listed in
// docs/compatibility.md, and every listed one must still occur, so the
// document stays true. Needs Java 17 and Maven Central (the jars are
// resolved once into testing/realkafka/debezium/lib); it runs with
// KDECK_TEST_DEBEZIUM=1 (scripts/test-real.sh sets it).
func TestDebeziumComparison(t *testing.T) {
	requireDebezium(t)
	pg := pgtest.Start(t)
	dsn := pg.CreateDB(t, "shop")
	pg.Exec(t, dsn, `CREATE TABLE customers (id int PRIMARY KEY, name text, big text, balance numeric(10,2), created timestamp, created_ms timestamp(3), seen timestamptz,
		prefs jsonb, doc json, tags text[], scores int[], uid uuid, photo bytea, born date, ok boolean, ratio float8, small smallint, at time, dur interval, cash money, big8 bigint, f4 real, vc varchar(10), ch char(3), tz timetz, ts0 timestamptz(0), nums numeric[]);
	INSERT INTO customers VALUES
		(1, 'Ada', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 1000) i), 12.50, '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123', '2024-01-02 03:04:05.5+02',
		 '{"tier": "gold"}', '{"a": [1, 2]}', '{"x","y z"}', '{1,2,3}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\xdeadbeef', '2022-01-08', true, 0.25, 7, '12:34:56.789', '1 year 2 mons 3 days 04:05:06.5', 12.34, 9007199254740993, 1.5, 'v', 'ab', '12:00:00+02', '2024-01-02 03:04:05+00', '{1.5,2}');
	INSERT INTO customers (id, name, big) VALUES (2, 'Bob', 'short')`)
	c := kafkatest.New(t)
	c.CreateTopic(t, "dbz.public.customers", 1)
	c.CreateTopic(t, "kd.public.customers", 1)
	dumpLog := startDebezium(t, c, pg, "shop", "dbz", "public.customers")
	conf := cdcConf(dsn, "kd")
	conf["topic_prefix"] = "kd"
	_, stop := runJob(t, c, conf, connect.NewFileOffsetStore(t.TempDir()))
	defer stop()
	read := func(topic string, n int) []*kgo.Record {
		t.Helper()
		cl := c.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		var out []*kgo.Record
		for len(out) < n {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("read %d of %d records from %s; Connect's log:\n%s", len(out), n, topic, dumpLog())
			}
			out = append(out, fs.Records()...)
		}
		return out
	}
	read("dbz.public.customers", 2)
	read("kd.public.customers", 2)
	// Both stream now (each has its snapshot): the same changes.
	kafkatest.WaitFor(t, 60*time.Second, "both slots active", func() bool {
		return pg.Query(t, dsn, "SELECT count(*)::text FROM pg_replication_slots WHERE active")[0][0] == "2"
	})
	pg.Exec(t, dsn, "INSERT INTO customers (id, name, big, balance, tags) VALUES (3, 'Cy', 'c', 1.5, '{}')")
	pg.Exec(t, dsn, "UPDATE customers SET name = 'Ada L.', balance = 13 WHERE id = 1")
	pg.Exec(t, dsn, "DELETE FROM customers WHERE id = 2")
	pg.Exec(t, dsn, "ALTER TABLE customers REPLICA IDENTITY FULL")
	pg.Exec(t, dsn, "UPDATE customers SET name = 'Cy2' WHERE id = 3")
	const total = 2 + 1 + 1 + 2 + 1
	dbz := decodeRaw(t, read("dbz.public.customers", total))
	kd := decodeRaw(t, read("kd.public.customers", total))
	for i := range dbz {
		if os.Getenv("KDECK_DEBEZIUM_DUMP") != "" {
			t.Logf("debezium %d: %s", i, js2(dbz[i].value))
			t.Logf("kdeck    %d: %s", i, js2(kd[i].value))
		}
	}
	var divs []string
	for i := range dbz {
		divs = append(divs, compareEvents(fmt.Sprintf("event %d (%s)", i+1, describeEvent(dbz[i])), dbz[i], kd[i])...)
	}
	divs = dedupe(divs)
	documented := documentedDivergences(t)
	for _, d := range divs {
		t.Logf("divergence: %s", d)
	}
	if !reflect.DeepEqual(divs, documented) {
		t.Errorf("divergences differ from docs/compatibility.md\nfound:\n  %s\ndocumented:\n  %s", strings.Join(divs, "\n  "), strings.Join(documented, "\n  "))
	}
}

type rawEvent struct {
	key   any
	value map[string]any // nil for a tombstone
}

func decodeRaw(t *testing.T, recs []*kgo.Record) []rawEvent {
	t.Helper()
	dec := func(b []byte) any {
		if b == nil {
			return nil
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		return v
	}
	var out []rawEvent
	for _, r := range recs {
		e := rawEvent{key: dec(r.Key)}
		if v, ok := dec(r.Value).(map[string]any); ok {
			e.value = v
		}
		out = append(out, e)
	}
	return out
}

func describeEvent(e rawEvent) string {
	if e.value == nil {
		return "tombstone"
	}
	return fmt.Sprintf("op %v", e.value["op"])
}

// compareEvents lists how kdeck's event differs from Debezium's, one line
// per field, in a form without run-specific values.
func compareEvents(where string, dbz, kd rawEvent) []string {
	var out []string
	if !reflect.DeepEqual(dbz.key, kd.key) {
		out = append(out, fmt.Sprintf("key: Debezium %s, kdeck %s", js(dbz.key), js(kd.key)))
	}
	if (dbz.value == nil) != (kd.value == nil) {
		return append(out, fmt.Sprintf("%s: Debezium tombstone %v, kdeck tombstone %v", where, dbz.value == nil, kd.value == nil))
	}
	if dbz.value == nil {
		return out
	}
	op := fmt.Sprint(dbz.value["op"])
	if fmt.Sprint(kd.value["op"]) != op {
		out = append(out, fmt.Sprintf("op: Debezium %s, kdeck %v", op, kd.value["op"]))
	}
	for _, img := range []string{"before", "after"} {
		dm, _ := dbz.value[img].(map[string]any)
		km, _ := kd.value[img].(map[string]any)
		if (dm == nil) != (km == nil) {
			out = append(out, fmt.Sprintf("op %s %s: Debezium %s, kdeck %s", op, img, nullness(dm), nullness(km)))
			continue
		}
		for _, col := range unionKeys(dm, km) {
			dv, dok := dm[col]
			kv, kok := km[col]
			if dok != kok || !reflect.DeepEqual(dv, kv) {
				out = append(out, fmt.Sprintf("op %s %s.%s: Debezium %s, kdeck %s", op, img, col, js(dv), js(kv)))
			}
		}
	}
	ds, _ := dbz.value["source"].(map[string]any)
	ks, _ := kd.value["source"].(map[string]any)
	for _, f := range unionKeys(ds, ks) {
		dv, dok := ds[f]
		kv, kok := ks[f]
		switch {
		case !dok:
			out = append(out, fmt.Sprintf("source.%s: only kdeck has it", f))
		case !kok:
			out = append(out, fmt.Sprintf("source.%s: only Debezium has it", f))
		case f == "name" || f == "version" || f == "ts_ms" || f == "ts_us" || f == "ts_ns":
			// The server name differs by configuration, the version by
			// product; times are compared only as present.
		case op == "r" && (f == "lsn" || f == "txId" || f == "sequence"):
			// Each connector snapshots in its own transaction at its own
			// slot's start: compare presence only.
			if (dv == nil) != (kv == nil) {
				out = append(out, fmt.Sprintf("op r source.%s: Debezium %s, kdeck %s", f, js(dv), js(kv)))
			}
		case !reflect.DeepEqual(dv, kv):
			out = append(out, fmt.Sprintf("op %s source.%s: Debezium %s, kdeck %s", op, f, js(dv), js(kv)))
		}
	}
	for _, f := range unionKeys(dbz.value, kd.value) {
		if f == "before" || f == "after" || f == "source" || f == "op" {
			continue
		}
		_, dok := dbz.value[f]
		_, kok := kd.value[f]
		if dok != kok {
			who := "kdeck"
			if dok {
				who = "Debezium"
			}
			out = append(out, fmt.Sprintf("envelope.%s: only %s has it", f, who))
		}
	}
	return out
}

func nullness(m map[string]any) string {
	if m == nil {
		return "null"
	}
	return "a row"
}

func unionKeys(a, b map[string]any) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func js(v any) string {
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// documentedDivergences reads the list between the markers of
// docs/compatibility.md's Debezium section.
func documentedDivergences(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../docs/compatibility.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- debezium-divergences -->\n```\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("docs/compatibility.md has no ```-block after <!-- debezium-divergences -->")
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(m[1])), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

func js2(v any) string { b, _ := json.Marshal(v); return string(b) }

// requireDebezium skips unless KDECK_TEST_DEBEZIUM=1 and resolves the jars.
func requireDebezium(tb testing.TB) {
	tb.Helper()
	if os.Getenv("KDECK_TEST_DEBEZIUM") != "1" {
		tb.Skip("the Debezium comparison runs with KDECK_TEST_DEBEZIUM=1 (it needs Java 17 and Debezium's jars from Maven Central)")
	}
	if out, err := exec.Command(filepath.Join(debeziumDir, "run.sh"), "resolve").CombinedOutput(); err != nil {
		tb.Fatalf("resolving Debezium: %v\n%s", err, out)
	}
}

// startDebezium runs Debezium's PostgreSQL connector in Kafka Connect
// standalone (its own process group, killed at the end of the test) on
// table of database db, with topic prefix and slot named prefix, and
// returns a function giving the tail of Connect's log.
func startDebezium(t testing.TB, c *kafkatest.Cluster, pg *pgtest.Server, db, prefix, table string) func() string {
	t.Helper()
	dir := t.TempDir()
	worker := filepath.Join(dir, "worker.properties")
	conn := filepath.Join(dir, "connector.properties")
	write := func(path, text string) {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(worker, fmt.Sprintf(`bootstrap.servers=%s
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=false
value.converter.schemas.enable=false
offset.storage.file.filename=%s
offset.flush.interval.ms=500
listeners=http://127.0.0.1:0
`, c.Addr(), filepath.Join(dir, "offsets")))
	write(conn, fmt.Sprintf(`name=dbz
connector.class=io.debezium.connector.postgresql.PostgresConnector
tasks.max=1
plugin.name=pgoutput
database.hostname=127.0.0.1
database.port=%d
database.user=%s
database.password=%s
database.dbname=%s
topic.prefix=%s
table.include.list=%s
slot.name=%s
publication.name=%s_pub
publication.autocreate.mode=filtered
decimal.handling.mode=string
snapshot.mode=initial
`, pg.Port, pgtest.User, pgtest.Password, db, prefix, table, prefix, prefix))
	logPath := filepath.Join(dir, "connect.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(debeziumDir, "run.sh"), "standalone", worker, conn)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		logf.Close()
	})
	dumpLog := func() string {
		b, _ := os.ReadFile(logPath)
		s := string(b)
		if len(s) > 4000 {
			s = s[len(s)-4000:]
		}
		return s
	}
	return dumpLog
}

// BenchmarkPostgresCDCVsDebezium: snapshot rows/s and streaming changes/s of
// kdeck's postgres-cdc and of Debezium's PostgreSQL connector (Kafka
// Connect standalone, default batch and queue sizes), each alone on its own
// PostgreSQL and embedded cluster, measured by a consumer of the topic:
// the snapshot from the first row read to the last (startup excluded, since
// the JVM's is seconds), streaming from the first commit of n inserts in
// transactions of 1000 rows to the last change read, and the
// commit-to-consumed latency of 1000 single-row transactions at 200/s. Runs with
// KDECK_TEST_DEBEZIUM=1; n from KDECK_BENCH_PG_ROWS (200,000).
func BenchmarkPostgresCDCVsDebezium(b *testing.B) {
	requireDebezium(b)
	n := benchPGRows()
	for _, who := range []string{"kdeck", "debezium"} {
		b.Run(who, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				pg := pgtest.Start(b)
				dsn := pg.CreateDB(b, "bench")
				pg.Exec(b, dsn, benchTable+"; "+benchRowsSQL(1, n))
				c := kafkatest.New(b)
				topic := "p.public.items"
				c.CreateTopic(b, topic, 1)
				cl := c.Client(b, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
				if who == "kdeck" {
					_, stop := startBenchJob(b, c, map[string]any{"name": "p", "class": "postgres-cdc", "dsn": dsn, "tables": []any{"public.items"}, "topic_prefix": "p", "slot": "p"})
					defer stop()
				} else {
					startDebezium(b, c, pg, "bench", "p", "public.items")
				}
				count := func(want int) (first, last time.Time) {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
					defer cancel()
					got := 0
					for got < want {
						fs := cl.PollFetches(ctx)
						if ctx.Err() != nil {
							b.Fatalf("%s: %d of %d records", who, got, want)
						}
						fs.EachRecord(func(r *kgo.Record) {
							if r.Value != nil {
								if got == 0 {
									first = time.Now()
								}
								got++
							}
						})
					}
					return first, time.Now()
				}
				first, last := count(n)
				b.ReportMetric(float64(n)/last.Sub(first).Seconds(), "snapshot-rows/s")
				var stmts []string
				for from := n + 1; from <= 2*n; from += 1000 {
					stmts = append(stmts, "BEGIN", benchRowsSQL(from, min(from+999, 2*n)), "COMMIT")
				}
				kafkatest.WaitFor(b, 60*time.Second, "streaming", func() bool {
					return len(pg.Query(b, dsn, "SELECT 1 FROM pg_replication_slots WHERE active")) == 1
				})
				start := time.Now()
				pg.Exec(b, dsn, strings.Join(stmts, ";"))
				_, last = count(n)
				b.ReportMetric(float64(n)/last.Sub(start).Seconds(), "changes/s")
				lat := commitLatency(b, dsn, cl, 2*n+1, 1000)
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			}
		})
	}
}
