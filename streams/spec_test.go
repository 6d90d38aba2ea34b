package streams

import (
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

func parseTOML(t *testing.T, src string) JobSpec {
	t.Helper()
	var doc struct {
		Streams []map[string]any `toml:"streams"`
	}
	if _, err := toml.Decode(src, &doc); err != nil {
		t.Fatal(err)
	}
	spec, err := ParseJob(doc.Streams[0])
	if err != nil {
		t.Fatalf("ParseJob: %v", err)
	}
	return spec
}

const issueExample = `
[[streams]]
name = "orders-per-customer"
cluster = "local"
inputs = ["demo.orders"]
format = "json"
filter = "value.amount > 0"
key = "value.customer"
window = { type = "tumbling", size = "1m", grace = "10s" }
aggregate = { op = "sum", field = "value.amount" }
emit = "final"
output = "orders-per-customer-1m"
guarantee = "exactly_once"
`

func TestDeclarativeWindowedSum(t *testing.T) {
	spec := parseTOML(t, issueExample)
	top, err := spec.Build()
	if err != nil {
		t.Fatal(err)
	}
	wantTopics := []string{"orders-per-customer-aggregate-changelog", "orders-per-customer-group-by-repartition"}
	if got := top.InternalTopics(); !reflect.DeepEqual(got, wantTopics) {
		t.Fatalf("internal topics %v, want %v", got, wantTopics)
	}
	c := kafkatest.New(t)
	c.CreateTopic(t, "demo.orders", 3)
	c.CreateTopic(t, "orders-per-customer-1m", 1)
	order := func(customer string, amount float64, m, s int) *kgo.Record {
		// Keyed by customer so that each customer's orders keep their order
		// through the repartition topic (the job still repartitions).
		return jsonRec("demo.orders", customer, at(m, s), map[string]any{"customer": customer, "amount": amount})
	}
	c.Produce(t,
		order("alice", 10, 0, 1), order("bob", 5, 0, 2), order("alice", 2.5, 0, 40),
		order("alice", -3, 0, 41), // filtered
		order("bob", 1, 1, 5),     // window 1:00
		order("alice", 4, 0, 59),  // out of order, window still open
		order("bob", 7, 0, 58),    // out of order, within grace (stream time 1:05 < 1:10)
	)
	// Close the windows: stream time is per task, so one record per
	// customer at 2:30; their own windows stay open.
	c.Produce(t, order("alice", 100, 2, 30), order("bob", 100, 2, 30), order("bob", 9, 1, 3) /* late */)
	spec.DataDir = t.TempDir()
	j, _ := startJob(t, c, spec)
	recs := readAll(t, c, "orders-per-customer-1m", 3, 30*time.Second)
	kafkatest.WaitFor(t, 10*time.Second, "one late record", func() bool { return j.Status().LateRecords == 1 })
	var got []string
	for _, r := range recs {
		var v struct {
			Value       float64 `json:"value"`
			WindowStart string  `json:"window_start"`
			WindowEnd   string  `json:"window_end"`
		}
		if err := json.Unmarshal(r.Value, &v); err != nil {
			t.Fatalf("output value %q: %v", r.Value, err)
		}
		got = append(got, string(r.Key)+" "+v.WindowStart+" "+v.WindowEnd+" "+jsonNum(v.Value))
	}
	sort.Strings(got)
	want := []string{
		"alice 2026-01-01T00:00:00Z 2026-01-01T00:01:00Z 16.5",
		"bob 2026-01-01T00:00:00Z 2026-01-01T00:01:00Z 12",
		"bob 2026-01-01T00:01:00Z 2026-01-01T00:02:00Z 1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("outputs\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func jsonNum(f float64) string { b, _ := json.Marshal(f); return string(b) }

func TestDeclarativeTableJoinAndTimeField(t *testing.T) {
	spec := parseTOML(t, `
[[streams]]
name = "enrich"
inputs = ["orders"]
time = { type = "field", field = "value.at", zone = "Europe/Paris" }
join = { table = "customers", on = "value.customer", cdc = true, type = "inner" }
filter = "joined.tier == 'gold'"
key = "value.customer"
output = "gold-orders"
`)
	c := kafkatest.New(t)
	c.CreateTopic(t, "orders", 1)
	c.CreateTopic(t, "customers", 1)
	c.CreateTopic(t, "gold-orders", 1)
	c.Produce(t,
		&kgo.Record{Topic: "customers", Key: []byte("alice"), Value: []byte(`{"op":"c","after":{"tier":"gold"}}`)},
		&kgo.Record{Topic: "customers", Key: []byte("bob"), Value: []byte(`{"op":"c","after":{"tier":"silver"}}`)})
	c.Produce(t,
		jsonRec("orders", "o1", time.Now(), map[string]any{"customer": "alice", "at": "2026-01-01 01:00:00"}),
		jsonRec("orders", "o2", time.Now(), map[string]any{"customer": "bob", "at": "2026-01-01 01:00:00"}),
		jsonRec("orders", "o3", time.Now(), map[string]any{"customer": "carol", "at": "2026-01-01 01:00:00"}))
	spec.DataDir = t.TempDir()
	startJob(t, c, spec)
	recs := readAll(t, c, "gold-orders", 1, 20*time.Second)
	if len(recs) != 1 || string(recs[0].Key) != "alice" {
		t.Fatalf("got %d records (%v), want alice's order", len(recs), recs)
	}
	// 01:00 in Paris in winter is 00:00 UTC.
	if !recs[0].Timestamp.Equal(t0) {
		t.Errorf("event time %v, want %v", recs[0].Timestamp.UTC(), t0)
	}
	var v map[string]any
	if err := json.Unmarshal(recs[0].Value, &v); err != nil || v["joined"].(map[string]any)["tier"] != "gold" {
		t.Fatalf("value %s: want {value, joined{tier: gold}}", recs[0].Value)
	}
}

func TestParseJobNamesEveryProblem(t *testing.T) {
	_, err := ParseJob(map[string]any{
		"name":      "bad",
		"inputs":    []any{"a"},
		"fitler":    "x",
		"filter":    "value.amount >",
		"key":       "vaule.customer",
		"window":    map[string]any{"type": "sliding", "size": "1 minute"},
		"aggregate": map[string]any{"op": "avg"},
		"emit":      "sometimes",
		"guarantee": "maybe",
		"join":      map[string]any{"table": "t", "stream": "s"},
	})
	if err == nil {
		t.Fatal("ParseJob accepted an invalid job")
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("error does not wrap ErrInvalid: %v", err)
	}
	for _, want := range []string{
		`fitler: unknown key; did you mean "filter"`, "filter: expression does not compile",
		`unknown name "vaule"; did you mean "value"`, "window.type: \"sliding\"",
		"window.size: \"1 minute\"", "aggregate.op: \"avg\"", "emit: \"sometimes\"", "guarantee: \"maybe\"",
		"both table and stream", "output: is missing",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %q:\n%v", want, err)
		}
	}
}

func TestParseJobWithoutWindowIsRunningTotal(t *testing.T) {
	spec, err := ParseJob(map[string]any{"name": "totals", "inputs": []any{"o"}, "key": "value.c",
		"aggregate": map[string]any{"op": "count"}, "output": "out", "emit": "final"})
	if err == nil || !strings.Contains(err.Error(), "needs a window") {
		t.Fatalf("emit final without window: %v", err)
	}
	spec, err = ParseJob(map[string]any{"name": "totals", "inputs": []any{"o"}, "key": "value.c",
		"aggregate": map[string]any{"op": "count"}, "output": "out"})
	if err != nil {
		t.Fatal(err)
	}
	if spec.Aggregate.Op != "count" || spec.Window != nil {
		t.Fatalf("spec %+v", spec)
	}
}

func TestDeclarativeStreamStreamJoin(t *testing.T) {
	spec := parseTOML(t, `
[[streams]]
name = "paid-orders"
inputs = ["orders"]
join = { stream = "payments", on = "value.order", window = "5m", type = "left" }
value = "{'order': value.order, 'paid': joined != nil ? joined.amount : 0}"
output = "paid"
`)
	top, err := spec.Build()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"paid-orders-join-left-changelog", "paid-orders-join-left-repartition", "paid-orders-join-right-changelog", "paid-orders-join-right-repartition"}
	if got := top.InternalTopics(); !reflect.DeepEqual(got, want) {
		t.Fatalf("internal topics %v, want %v", got, want)
	}
	c := kafkatest.New(t)
	c.CreateTopic(t, "orders", 2)
	c.CreateTopic(t, "payments", 2)
	c.CreateTopic(t, "paid", 1)
	c.Produce(t,
		jsonRec("payments", "p1", at(0, 30), map[string]any{"order": "o1", "amount": 12}),
		jsonRec("payments", "p2", at(20, 0), map[string]any{"order": "o2", "amount": 99})) // 20 minutes late: outside
	c.Produce(t,
		jsonRec("orders", "x", at(1, 0), map[string]any{"order": "o1"}),
		jsonRec("orders", "y", at(1, 0), map[string]any{"order": "o2"}))
	spec.DataDir = t.TempDir()
	startJob(t, c, spec)
	kafkatest.WaitFor(t, 20*time.Second, "o1 paid 12 and o2 unpaid", func() bool {
		got := map[string]bool{}
		for _, r := range c.ReadToEnd(t, "paid") {
			got[string(r.Value)] = true
		}
		return got[`{"order":"o1","paid":12}`] && got[`{"order":"o2","paid":0}`] && !got[`{"order":"o2","paid":99}`]
	})
}

func FuzzParseJob(f *testing.F) {
	f.Add(issueExample)
	f.Add("[[streams]]\nname='x'\ninputs=['a']\njoin={stream='b', window='1m'}\noutput='o'\n")
	f.Add("[[streams]]\nname='x'\ninputs=['a']\nwindow={type='hopping', size='1m', advance='0s'}\naggregate={op='max', field='value'}\noutput='o'\n")
	f.Fuzz(func(t *testing.T, src string) {
		var doc struct {
			Streams []map[string]any `toml:"streams"`
		}
		if _, err := toml.Decode(src, &doc); err != nil || len(doc.Streams) == 0 {
			return
		}
		spec, err := ParseJob(doc.Streams[0])
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if _, err := spec.Build(); err != nil {
			t.Fatalf("ParseJob accepted a job Build rejects: %v", err)
		}
	})
}

func TestFormatAggregate(t *testing.T) {
	r, err := FormatAggregate(Record{Key: []byte("k"), Value: EncodeNumber(0.1 + 0.2),
		Window: &Window{Start: time.Date(2026, 1, 1, 1, 0, 0, 0, time.FixedZone("CET", 3600)), End: t0.Add(time.Minute)}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"value":0.3,"window_start":"2026-01-01T00:00:00Z","window_end":"2026-01-01T00:01:00Z"}`; string(r.Value) != want {
		t.Fatalf("value %s, want %s", r.Value, want)
	}
	r, _ = FormatAggregate(Record{Value: EncodeNumber(42)})
	if string(r.Value) != `{"value":42}` {
		t.Fatalf("running total value %s", r.Value)
	}
}
