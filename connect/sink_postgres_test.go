package connect_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/connect"
	"github.com/kdeck/kdeck/jobstate"
	"github.com/kdeck/kdeck/testing/kafkatest"
	"github.com/kdeck/kdeck/testing/pgtest"
)

func jsonRec(t *testing.T, topic string, key, value any) *kgo.Record {
	t.Helper()
	r := &kgo.Record{Topic: topic}
	if key != nil {
		b, err := json.Marshal(key)
		if err != nil {
			t.Fatal(err)
		}
		r.Key = b
	}
	if value != nil {
		b, err := json.Marshal(value)
		if err != nil {
			t.Fatal(err)
		}
		r.Value = b
	}
	return r
}

// queryString returns a query's rows joined as "a|b;c|d".
func queryString(t *testing.T, pg *pgtest.Server, dsn, sql string) string {
	t.Helper()
	var rows []string
	for _, r := range pg.Query(t, dsn, sql) {
		rows = append(rows, strings.Join(r, "|"))
	}
	return strings.Join(rows, ";")
}

// waitFailed waits for task 0 to fail and returns its trace.
func waitFailed(t *testing.T, j *connect.Job) string {
	t.Helper()
	waitFor(t, "the task to fail", func() bool {
		st := j.Status()
		return len(st.Tasks) > 0 && st.Tasks[0].State == jobstate.Failed
	})
	return j.Status().Tasks[0].Trace
}

// TestPostgresSinkUpsertDeleteAutoCreate: inserts, updates and tombstones
// over several batches land as the final rows of an auto-created table, and
// the group's offsets are committed for every record.
func TestPostgresSinkUpsertDeleteAutoCreate(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.CreateDB(t, "shop")
	c := kafkatest.New(t)
	c.CreateTopic(t, "shop.orders", 2)
	var recs []*kgo.Record
	for i := range 100 {
		recs = append(recs, jsonRec(t, "shop.orders", map[string]any{"order_id": i}, map[string]any{"order_id": i, "amount": i * 10, "note": fmt.Sprintf("n%d", i), "tags": []any{"a"}}))
	}
	for i := range 20 { // updates of 0..19
		recs = append(recs, jsonRec(t, "shop.orders", map[string]any{"order_id": i}, map[string]any{"order_id": i, "amount": 1000 + i, "note": "updated", "tags": []any{"b"}}))
	}
	for i := 90; i < 100; i++ { // deletes of 90..99
		recs = append(recs, jsonRec(t, "shop.orders", map[string]any{"order_id": i}, nil))
	}
	c.Produce(t, recs...)
	j, stop := runJob(t, c, map[string]any{
		"name": "pgsink", "class": "postgres-sink", "dsn": dsn, "topics": []any{"shop.orders"},
		"auto_create": true, "batch_size": int64(37),
	}, connect.NewFileOffsetStore(t.TempDir()))
	waitFor(t, "90 rows with the updates applied", func() bool {
		st := j.Status()
		if len(st.Tasks) > 0 && st.Tasks[0].State == jobstate.Failed {
			t.Fatalf("task failed: %s", st.Tasks[0].Trace)
		}
		return len(pg.Query(t, dsn, "SELECT 1 FROM pg_tables WHERE tablename = 'shop_orders'")) == 1 &&
			queryString(t, pg, dsn, "SELECT count(*), count(*) FILTER (WHERE note = 'updated') FROM shop_orders") == "90|20"
	})
	if got := queryString(t, pg, dsn, "SELECT order_id, amount, note, tags::text FROM shop_orders WHERE order_id IN (5, 50) ORDER BY 1"); got != `5|1005|updated|["b"];50|500|n50|["a"]` {
		t.Errorf("rows: %s", got)
	}
	if got := queryString(t, pg, dsn, "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'shop_orders'::regclass AND i.indisprimary"); got != "order_id|bigint" {
		t.Errorf("primary key: %s", got)
	}
	waitFor(t, "every offset committed", func() bool {
		var sum int64
		for _, o := range c.Committed(t, "connect-pgsink")["shop.orders"] {
			sum += o
		}
		return sum == int64(len(recs))
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestPostgresSinkDebeziumEnvelope applies Debezium change events (create,
// update with a TOAST column left unchanged, delete and its tombstone) to a
// typed table, reading Debezium's encodings of timestamps, bytea, json and
// arrays.
func TestPostgresSinkDebeziumEnvelope(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.CreateDB(t, "shop")
	pg.Exec(t, dsn, `CREATE TABLE customers (id int PRIMARY KEY, name text, big text, created timestamp, seen timestamptz, photo bytea, prefs jsonb, scores int[], balance numeric(10,2), born date)`)
	c := kafkatest.New(t)
	c.CreateTopic(t, "shop.public.customers", 1)
	src := map[string]any{"connector": "postgresql", "schema": "public", "table": "customers", "lsn": 1}
	env := func(op string, before, after map[string]any) map[string]any {
		return map[string]any{"op": op, "before": before, "after": after, "source": src, "ts_ms": 1}
	}
	row := map[string]any{
		"id": 1, "name": "Ada", "big": strings.Repeat("x", 5000),
		"created": 1700000000123456, "seen": "2024-01-02T03:04:05.5Z", "photo": "3q2+7w==",
		"prefs": `{"tier": "gold"}`, "scores": []any{1, 2, 3}, "balance": "12.50", "born": 19000,
	}
	updated := map[string]any{"id": 1, "name": "Ada L.", "big": "__debezium_unavailable_value", "created": 1700000000123456, "seen": "2024-01-02T03:04:05.5Z", "photo": "3q2+7w==", "prefs": `{"tier": "platinum"}`, "scores": []any{4}, "balance": "99.99", "born": 19000}
	key := func(id int) map[string]any { return map[string]any{"id": id} }
	c.Produce(t,
		jsonRec(t, "shop.public.customers", key(1), env("r", nil, row)),
		jsonRec(t, "shop.public.customers", key(2), env("c", nil, map[string]any{"id": 2, "name": "Bob"})),
		jsonRec(t, "shop.public.customers", key(3), env("c", nil, map[string]any{"id": 3, "name": "Cy"})),
	)
	j, stop := runJob(t, c, map[string]any{
		"name": "dbz", "class": "postgres-sink", "dsn": dsn, "topics": []any{"shop.public.customers"}, "table": "customers",
	}, connect.NewFileOffsetStore(t.TempDir()))
	defer stop()
	waitFor(t, "3 rows", func() bool {
		if st := j.Status(); len(st.Tasks) > 0 && st.Tasks[0].State == jobstate.Failed {
			t.Fatalf("task failed: %s", st.Tasks[0].Trace)
		}
		return queryString(t, pg, dsn, "SELECT count(*) FROM customers") == "3"
	})
	c.Produce(t,
		jsonRec(t, "shop.public.customers", key(1), env("u", nil, updated)),
		jsonRec(t, "shop.public.customers", key(2), env("d", map[string]any{"id": 2, "name": "Bob"}, nil)),
		jsonRec(t, "shop.public.customers", key(2), nil),
	)
	waitFor(t, "the update and the delete", func() bool {
		return queryString(t, pg, dsn, "SELECT string_agg(id::text || name, ',' ORDER BY id) FROM customers") == "1Ada L.,3Cy"
	})
	got := queryString(t, pg, dsn, `SELECT length(big), created::text, (seen AT TIME ZONE 'UTC')::text, encode(photo, 'hex'), prefs->>'tier', scores::text, balance::text, born::text FROM customers WHERE id = 1`)
	want := "5000|2023-11-14 22:13:20.123456|2024-01-02 03:04:05.5|deadbeef|platinum|{4}|99.99|2022-01-08"
	if got != want {
		t.Errorf("row 1:\n got %s\nwant %s", got, want)
	}
}

// TestPostgresSinkExactlyOnceInsertMode redelivers every record (the
// group's offsets rewound to 0): with exactly_once the kdeck offsets table
// skips them, so insert mode writes nothing twice; without it, the same
// redelivery fails the task on the primary key.
func TestPostgresSinkExactlyOnceInsertMode(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.CreateDB(t, "shop")
	c := kafkatest.New(t)
	c.CreateTopic(t, "events", 2)
	var recs []*kgo.Record
	for i := range 50 {
		recs = append(recs, jsonRec(t, "events", map[string]any{"id": i}, map[string]any{"id": i, "v": i}))
	}
	c.Produce(t, recs...)
	for _, eo := range []bool{true, false} {
		t.Run(fmt.Sprintf("exactly_once=%v", eo), func(t *testing.T) {
			table := fmt.Sprintf("events_%v", eo)
			name := "eo-" + table
			conf := map[string]any{"name": name, "class": "postgres-sink", "dsn": dsn, "topics": []any{"events"}, "table": table,
				"insert_mode": "insert", "auto_create": true, "exactly_once": eo, "batch_size": int64(20)}
			_, stop := runJob(t, c, conf, connect.NewFileOffsetStore(t.TempDir()))
			waitFor(t, "50 rows", func() bool {
				return len(pg.Query(t, dsn, "SELECT 1 FROM pg_tables WHERE tablename = '"+table+"'")) == 1 &&
					queryString(t, pg, dsn, "SELECT count(*) FROM "+table) == "50"
			})
			waitFor(t, "offsets committed", func() bool {
				o := c.Committed(t, "connect-"+name)["events"]
				return o[0]+o[1] == 50
			})
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if eo {
				if got := queryString(t, pg, dsn, "SELECT sum(next_offset)::text FROM kdeck_sink_offsets WHERE connector = '"+name+"'"); got != "50" {
					t.Errorf("kdeck_sink_offsets sum = %s, want 50", got)
				}
			}
			c.Commit(t, "connect-"+name, map[string]map[int32]int64{"events": {0: 0, 1: 0}})
			j, stop := runJob(t, c, conf, connect.NewFileOffsetStore(t.TempDir()))
			if eo {
				waitFor(t, "the redelivered records committed again", func() bool {
					o := c.Committed(t, "connect-"+name)["events"]
					return o[0]+o[1] == 50
				})
				if st := j.Status(); st.Tasks[0].State != jobstate.Running {
					t.Fatalf("task %s: %s", st.Tasks[0].State, st.Tasks[0].Trace)
				}
				if got := queryString(t, pg, dsn, "SELECT count(*) FROM "+table); got != "50" {
					t.Fatalf("%s rows after redelivery, want 50", got)
				}
			} else {
				if tr := waitFailed(t, j); !strings.Contains(tr, "a key written twice") {
					t.Fatalf("trace: %s", tr)
				}
			}
			stop()
		})
	}
}

// TestPostgresSinkBadInput: each mistake fails the task with one sentence
// naming it, and the job (the worker) stays up.
func TestPostgresSinkBadInput(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.CreateDB(t, "shop")
	pg.Exec(t, dsn, "CREATE TABLE nopk (id int, v text, at text); CREATE TABLE places (id int PRIMARY KEY, at point)")
	c := kafkatest.New(t)
	c.CreateTopic(t, "in", 1)
	c.Produce(t, jsonRec(t, "in", map[string]any{"id": 1}, map[string]any{"id": 1, "v": "a", "at": "not a point"}))
	wrongPW := strings.Replace(dsn, pgtest.Password, "wrong", 1)
	for _, tc := range []struct {
		name string
		conf map[string]any
		want string
	}{
		{"missing table", map[string]any{"table": "missing"}, `table "missing" does not exist: create it, or set auto_create = true`},
		{"table without primary key", map[string]any{"table": "nopk"}, `table "nopk" has no primary key or unique index on (id)`},
		{"wrong password", map[string]any{"table": "nopk", "dsn": wrongPW}, "refused the login"},
		{"unwritable column type", map[string]any{"table": "places", "auto_evolve": true}, "a value does not fit its column"},
		{"missing column", map[string]any{"table": "places"}, `table "places" has no column "v": add it, or set auto_evolve = true`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := map[string]any{"name": strings.ReplaceAll(tc.name, " ", "-"), "class": "postgres-sink", "dsn": dsn, "topics": []any{"in"}}
			for k, v := range tc.conf {
				conf[k] = v
			}
			j, stop := runJob(t, c, conf, connect.NewFileOffsetStore(t.TempDir()))
			if tr := waitFailed(t, j); !strings.Contains(tr, tc.want) {
				t.Errorf("trace %q does not say %q", tr, tc.want)
			} else if strings.Contains(tr, "wrong") || strings.Contains(tr, pgtest.Password) {
				t.Errorf("trace shows the password: %s", tr)
			}
			if err := stop(); !errors.Is(err, connect.ErrAllTasksFailed) {
				t.Errorf("Run = %v, want ErrAllTasksFailed", err)
			}
		})
	}
	t.Run("config", func(t *testing.T) {
		err := connect.Validate(connect.Builtins(), map[string]any{"name": "x", "class": "postgres-sink", "topics": []any{"in"}, "insert_mode": "upsert", "pk_mode": "none"})
		if err == nil || !strings.Contains(err.Error(), "set exactly one of dsn, dsn_env and dsn_file") || !strings.Contains(err.Error(), "upsert needs a primary key") {
			t.Errorf("Validate = %v", err)
		}
	})
}

// TestPostgresSinkAutoEvolve: records that gain a field add a nullable
// column; rows written before keep NULL in it, and a record without a
// field leaves that column of its row alone on upsert.
func TestPostgresSinkAutoEvolve(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.CreateDB(t, "shop")
	pg.Exec(t, dsn, "CREATE TABLE people (id bigint PRIMARY KEY, name text)")
	c := kafkatest.New(t)
	c.CreateTopic(t, "people", 1)
	c.Produce(t,
		jsonRec(t, "people", 1, map[string]any{"id": 1, "name": "a"}),
		jsonRec(t, "people", 2, map[string]any{"id": 2, "name": "b", "email": "b@x", "vip": true}),
		jsonRec(t, "people", 2, map[string]any{"id": 2, "name": "b2"}),
	)
	j, stop := runJob(t, c, map[string]any{"name": "evolve", "class": "postgres-sink", "dsn": dsn, "topics": []any{"people"},
		"pk_fields": []any{"id"}, "auto_evolve": true}, connect.NewFileOffsetStore(t.TempDir()))
	defer stop()
	waitFor(t, "both rows", func() bool {
		if st := j.Status(); len(st.Tasks) > 0 && st.Tasks[0].State == jobstate.Failed {
			t.Fatalf("task failed: %s", st.Tasks[0].Trace)
		}
		return queryString(t, pg, dsn, "SELECT count(*) FROM people") == "2"
	})
	if got := queryString(t, pg, dsn, "SELECT id, name, coalesce(email, '-'), coalesce(vip::text, '-'), format_type(a.atttypid, -1) FROM people, pg_attribute a WHERE a.attrelid = 'people'::regclass AND a.attname = 'vip' ORDER BY id"); got != "1|a|-|-|boolean;2|b2|b@x|true|boolean" {
		t.Errorf("rows: %s", got)
	}
}
