package connect_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kdeck/kdeck/connect"
	"github.com/kdeck/kdeck/jobstate"
	"github.com/kdeck/kdeck/testing/kafkatest"
	"github.com/kdeck/kdeck/testing/pgtest"
)

// cdcEvent is a decoded Debezium record.
type cdcEvent struct {
	Key    map[string]any
	Op     string
	Before map[string]any
	After  map[string]any
	Source map[string]any
	Tomb   bool
}

func decodeEvents(t *testing.T, recs []*kgo.Record) []cdcEvent {
	t.Helper()
	var out []cdcEvent
	for _, r := range recs {
		var e cdcEvent
		d := json.NewDecoder(bytes.NewReader(r.Key))
		d.UseNumber()
		if err := d.Decode(&e.Key); err != nil {
			t.Fatalf("key %q: %v", r.Key, err)
		}
		if r.Value == nil {
			e.Tomb = true
			out = append(out, e)
			continue
		}
		var v struct {
			Op     string         `json:"op"`
			Before map[string]any `json:"before"`
			After  map[string]any `json:"after"`
			Source map[string]any `json:"source"`
		}
		d = json.NewDecoder(bytes.NewReader(r.Value))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			t.Fatalf("value %q: %v", r.Value, err)
		}
		e.Op, e.Before, e.After, e.Source = v.Op, v.Before, v.After, v.Source
		out = append(out, e)
	}
	return out
}

func cdcConf(dsn, name string) map[string]any {
	return map[string]any{
		"name": name, "class": "postgres-cdc", "dsn": dsn, "tables": []any{"public.customers"},
		"topic_prefix": "shop", "slot": strings.ReplaceAll(name, "-", "_"), "offset_flush_interval": "200ms",
		"heartbeat_interval": "300ms",
	}
}

func slotLSN(t *testing.T, pg *pgtest.Server, dsn, slot string) string {
	t.Helper()
	rows := pg.Query(t, dsn, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", slot)
	if len(rows) == 0 {
		return ""
	}
	return rows[0][0]
}

// lsnAtLeast says whether PostgreSQL orders a at or after b.
func lsnAtLeast(t *testing.T, pg *pgtest.Server, dsn, a, b string) bool {
	t.Helper()
	if a == "" || a == "<null>" {
		return false
	}
	return pg.Query(t, dsn, "SELECT $1::pg_lsn >= $2::pg_lsn", a, b)[0][0] == "true"
}

// TestPostgresCDCSnapshotStreamAndTypes snapshots a table (op r), streams
// an insert, an update that leaves a TOAST column unchanged and a delete
// (with its tombstone), checks Debezium's type mapping, and checks the
// slot's confirmed position advanced past the last change once Kafka
// acknowledged it.
func TestPostgresCDCSnapshotStreamAndTypes(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.CreateDB(t, "shop")
	pg.Exec(t, dsn, `CREATE TABLE customers (id int PRIMARY KEY, name text, big text, balance numeric(10,2), created timestamp, created_ms timestamp(3), seen timestamptz,
		prefs jsonb, doc json, tags text[], scores int[], uid uuid, photo bytea, born date, ok boolean, ratio float8);
	INSERT INTO customers VALUES
		(1, 'Ada', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 1000) i), 12.50, '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123', '2024-01-02 03:04:05.5+02',
		 '{"tier": "gold"}', '{"a": [1, 2]}', '{"x","y z"}', '{1,2,3}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\xdeadbeef', '2022-01-08', true, 0.25),
		(2, 'Bob', 'short', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`)
	c := kafkatest.New(t)
	j, stop := runJob(t, c, cdcConf(dsn, "cdc-types"), connect.NewFileOffsetStore(t.TempDir()))
	defer stop()
	snap := decodeEvents(t, readAll(t, c, "shop.public.customers", 2))
	byID := map[string]cdcEvent{}
	for _, e := range snap {
		if e.Op != "r" {
			t.Fatalf("snapshot op %q, want r", e.Op)
		}
		byID[string(e.Key["id"].(json.Number))] = e
	}
	a := byID["1"].After
	want := map[string]string{
		"id": "1", "name": "Ada", "balance": "12.50", "created": "1704164645123456", "created_ms": "1704164645123",
		"seen": "2024-01-02T01:04:05.500000Z", "prefs": `{"tier": "gold"}`, "doc": `{"a": [1, 2]}`, "tags": "[x y z]", "scores": "[1 2 3]",
		"uid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "photo": "3q2+7w==", "born": "19000", "ok": "true", "ratio": "0.25",
	}
	for k, w := range want {
		if got := strings.TrimSpace(strings.ReplaceAll(fmtAny(a[k]), "\n", "")); got != w {
			t.Errorf("snapshot %s = %s, want %s", k, got, w)
		}
	}
	if src := byID["1"].Source; src["db"] != "shop" || src["schema"] != "public" || src["table"] != "customers" || src["connector"] != "postgresql" {
		t.Errorf("source: %v", src)
	}
	if byID["2"].After["balance"] != nil {
		t.Errorf("NULL numeric = %v", byID["2"].After["balance"])
	}
	waitFor(t, "the task to stream", func() bool {
		return slotLSN(t, pg, dsn, "cdc_types") != ""
	})
	pg.Exec(t, dsn, "INSERT INTO customers (id, name, big) VALUES (3, 'Cy', 'c')")
	pg.Exec(t, dsn, "UPDATE customers SET name = 'Ada L.' WHERE id = 1")
	before := pg.Query(t, dsn, "SELECT pg_current_wal_lsn()::text")[0][0]
	pg.Exec(t, dsn, "DELETE FROM customers WHERE id = 2")
	evs := decodeEvents(t, readAll(t, c, "shop.public.customers", 6))[2:]
	var ops []string
	for _, e := range evs {
		op := e.Op
		if e.Tomb {
			op = "tombstone"
		}
		ops = append(ops, op+":"+fmtAny(e.Key["id"]))
	}
	if strings.Join(ops, ",") != "c:3,u:1,d:2,tombstone:2" {
		t.Fatalf("events %v", ops)
	}
	if got := evs[1].After["big"]; got != "__debezium_unavailable_value" {
		t.Errorf("TOAST column left unchanged by the update = %.40v, want Debezium's placeholder", got)
	}
	if evs[1].After["name"] != "Ada L." || evs[2].Before["id"] != json.Number("2") || evs[2].After != nil {
		t.Errorf("update %v / delete before %v after %v", evs[1].After["name"], evs[2].Before, evs[2].After)
	}
	if evs[0].Source["txId"] == nil || evs[0].Source["lsn"] == nil || evs[0].Source["snapshot"] != "false" {
		t.Errorf("streamed source: %v", evs[0].Source)
	}
	waitFor(t, "the slot to confirm past the delete", func() bool {
		return lsnAtLeast(t, pg, dsn, slotLSN(t, pg, dsn, "cdc_types"), before) && slotLSN(t, pg, dsn, "cdc_types") != before
	})
	d := j.Status().Tasks[0].Detail
	if d["slot"] != "cdc_types" || d["wal_retained_bytes"] == "" || d["confirmed_lsn"] == "" {
		t.Errorf("status detail: %v", d)
	}
}

func fmtAny(v any) string {
	switch x := v.(type) {
	case nil:
		return "<nil>"
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmtAny(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestPostgresCDCSlotAdvancesOnlyAfterKafkaAck: while Kafka refuses every
// produce, the slot's confirmed position stays where it was; once Kafka
// accepts, the change arrives and the slot moves past it. A restart then
// resumes from the saved LSN without a new snapshot and without loss.
func TestPostgresCDCSlotAdvancesOnlyAfterKafkaAck(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.CreateDB(t, "shop")
	pg.Exec(t, dsn, "CREATE TABLE customers (id int PRIMARY KEY, name text); INSERT INTO customers VALUES (1, 'a')")
	c := kafkatest.New(t)
	store := connect.NewFileOffsetStore(t.TempDir())
	conf := cdcConf(dsn, "cdc-ack")
	conf["errors_retry_timeout"] = "1m"
	_, stop := runJob(t, c, conf, store)
	readAll(t, c, "shop.public.customers", 1)
	waitFor(t, "the slot to confirm the snapshot", func() bool { return slotLSN(t, pg, dsn, "cdc_ack") != "" })
	time.Sleep(time.Second) // let heartbeats settle the slot on the idle server
	remove := c.FailRequests(kmsg.Produce, -1, kerr.NotEnoughReplicas)
	held := slotLSN(t, pg, dsn, "cdc_ack")
	pg.Exec(t, dsn, "INSERT INTO customers VALUES (2, 'b')")
	after := pg.Query(t, dsn, "SELECT pg_current_wal_lsn()::text")[0][0]
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if got := slotLSN(t, pg, dsn, "cdc_ack"); lsnAtLeast(t, pg, dsn, got, after) {
			t.Fatalf("slot confirmed %s (past the insert at %s) while Kafka refused every produce (held at %s)", got, after, held)
		}
		time.Sleep(100 * time.Millisecond)
	}
	remove()
	readAll(t, c, "shop.public.customers", 2)
	waitFor(t, "the slot to confirm the insert", func() bool {
		return lsnAtLeast(t, pg, dsn, slotLSN(t, pg, dsn, "cdc_ack"), after)
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	pg.Exec(t, dsn, "INSERT INTO customers VALUES (3, 'c'); UPDATE customers SET name = 'b2' WHERE id = 2")
	_, stop2 := runJob(t, c, conf, store)
	defer stop2()
	evs := decodeEvents(t, readAll(t, c, "shop.public.customers", 4))
	var got []string
	for _, e := range evs {
		got = append(got, e.Op+":"+fmtAny(e.Key["id"]))
	}
	if strings.Join(got, ",") != "r:1,c:2,c:3,u:2" {
		t.Fatalf("events after restart %v, want the snapshot once and every change once", got)
	}
}

// TestPostgresCDCSurvivesPostgresRestart: PostgreSQL restarts while the
// connector streams; it reconnects and resumes from the slot, losing
// nothing.
func TestPostgresCDCSurvivesPostgresRestart(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.CreateDB(t, "shop")
	pg.Exec(t, dsn, "CREATE TABLE customers (id int PRIMARY KEY, name text)")
	c := kafkatest.New(t)
	conf := cdcConf(dsn, "cdc-restart")
	conf["snapshot_mode"] = "never"
	j, stop := runJob(t, c, conf, connect.NewFileOffsetStore(t.TempDir()))
	defer stop()
	waitFor(t, "the slot", func() bool { return slotLSN(t, pg, dsn, "cdc_restart") != "" })
	waitFor(t, "streaming", func() bool {
		return len(pg.Query(t, dsn, "SELECT 1 FROM pg_stat_replication WHERE application_name = 'kdeck-cdc'")) == 1
	})
	pg.Exec(t, dsn, "INSERT INTO customers VALUES (1, 'a')")
	readAll(t, c, "shop.public.customers", 1)
	pg.Restart(t)
	pg.Exec(t, dsn, "INSERT INTO customers VALUES (2, 'b')")
	evs := decodeEvents(t, readAll(t, c, "shop.public.customers", 2))
	if fmtAny(evs[1].Key["id"]) != "2" {
		t.Fatalf("after the restart: %v", evs[1])
	}
	if st := j.Status().Tasks[0]; st.State != jobstate.Running {
		t.Fatalf("task %s: %s", st.State, st.Trace)
	}
}

// TestPostgresCDCBadInput: each mistake fails the task with a sentence
// naming it and what to do; the job stays up.
func TestPostgresCDCBadInput(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.CreateDB(t, "shop")
	pg.Exec(t, dsn, "CREATE TABLE customers (id int PRIMARY KEY, name text); CREATE TABLE nopk (id int)")
	c := kafkatest.New(t)
	wrongPW := strings.Replace(dsn, pgtest.Password, "wrong", 1)
	for _, tc := range []struct {
		name string
		conf map[string]any
		want string
	}{
		{"table without primary key", map[string]any{"tables": []any{"nopk"}}, `"nopk" is not schema.table`},
		{"table without primary key qualified", map[string]any{"tables": []any{"public.nopk"}}, "table public.nopk has no primary key"},
		{"missing publication", map[string]any{"publication": "nope", "create_publication": false}, `publication "nope" does not exist: create it`},
		{"wrong password", map[string]any{"dsn": wrongPW}, "refused the login"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := cdcConf(dsn, "bad-"+strings.ReplaceAll(tc.name, " ", "-"))
			for k, v := range tc.conf {
				conf[k] = v
			}
			if err := connect.Validate(connect.Builtins(), conf); err != nil {
				if !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Validate = %v, want %q", err, tc.want)
				}
				return
			}
			j, stop := runJob(t, c, conf, connect.NewFileOffsetStore(t.TempDir()))
			if tr := waitFailed(t, j); !strings.Contains(tr, tc.want) {
				t.Errorf("trace %q does not say %q", tr, tc.want)
			}
			if err := stop(); !errors.Is(err, connect.ErrAllTasksFailed) {
				t.Errorf("Run = %v", err)
			}
		})
	}
	t.Run("dropped slot", func(t *testing.T) {
		store := connect.NewFileOffsetStore(t.TempDir())
		conf := cdcConf(dsn, "cdc-dropped")
		_, stop := runJob(t, c, conf, store)
		pg.Exec(t, dsn, "INSERT INTO customers VALUES (1, 'a')")
		waitFor(t, "an offset saved", func() bool {
			offs, _ := store.Load(context.Background(), "cdc-dropped")
			return len(offs) > 0
		})
		stop()
		pg.Exec(t, dsn, "SELECT pg_drop_replication_slot('cdc_dropped')")
		j, stop := runJob(t, c, conf, store)
		if tr := waitFailed(t, j); !strings.Contains(tr, `replication slot "cdc_dropped" no longer exists`) {
			t.Errorf("trace %q", tr)
		}
		stop()
	})
}
