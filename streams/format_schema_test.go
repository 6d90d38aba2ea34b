package streams

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/kdeck/kdeck/schema"
	"github.com/kdeck/kdeck/testing/kafkatest"
	"github.com/kdeck/kdeck/testing/registrytest"
)

// TestDeclarativeAvroInput: format = "avro" decodes wire-format input
// through the registry, so filter, key and aggregate see the record's
// fields; a value that does not decode fails the job with the reason.
func TestDeclarativeAvroInput(t *testing.T) {
	c := kafkatest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, rc := registrytest.Start(t, c.Addrs())
	if _, err := rc.SR().CreateSchema(ctx, "pay-value", sr.Schema{Schema: `{"type":"record","name":"P","fields":[
		{"name":"customer","type":"string"},{"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}}]}`}); err != nil {
		t.Fatal(err)
	}
	enc, err := rc.NewEncoder(ctx, "pay-value", schema.Latest)
	if err != nil {
		t.Fatal(err)
	}
	c.CreateTopic(t, "pay", 1)
	c.CreateTopic(t, "pay-totals", 1)
	for _, line := range []string{`{"customer":"ann","amount":"10.50"}`, `{"customer":"bob","amount":"2"}`, `{"customer":"ann","amount":"-1"}`, `{"customer":"ann","amount":"4.25"}`} {
		v, err := enc.Encode([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		c.Produce(t, &kgo.Record{Topic: "pay", Value: v, Timestamp: at(0, 1)})
	}
	spec, err := ParseJob(map[string]any{"name": "pay-totals", "inputs": []any{"pay"}, "format": "avro", "filter": "value.amount > 0",
		"key": "value.customer", "aggregate": map[string]any{"op": "sum", "field": "value.amount"}, "output": "pay-totals", "output_format": "avro"})
	if err != nil {
		t.Fatal(err)
	}
	spec.Registry, spec.DataDir = rc, t.TempDir()
	startJob(t, c, spec)
	// Totals are emitted as updates, Avro-encoded with the derived
	// aggregate schema under pay-totals-value: read until each customer's
	// latest is the expected sum.
	cl := c.Client(t, kgo.ConsumeTopics("pay-totals"), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	dec := schema.NewDecoder(rc, schema.ModeAvro, schema.DecodeOptions{})
	last := map[string]float64{}
	kafkatest.WaitFor(t, 30*time.Second, "totals ann=14.75 bob=2", func() bool {
		pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer pcancel()
		for _, r := range cl.PollFetches(pctx).Records() {
			res := dec.Decode(ctx, r.Value)
			if res.Err != nil || res.Subject != "pay-totals-value" {
				t.Fatalf("output %q: subject %q, %v", r.Value, res.Subject, res.Err)
			}
			var v struct{ Value float64 }
			if err := json.Unmarshal(res.JSON, &v); err != nil {
				t.Fatal(err)
			}
			last[string(r.Key)] = v.Value
		}
		var got []string
		for k, v := range last {
			got = append(got, k+"="+jsonNum(v))
		}
		sort.Strings(got)
		return strings.Join(got, " ") == "ann=14.75 bob=2"
	})

	// output_format on a pass-through job, or without a schema, is refused.
	for _, tc := range []struct {
		table map[string]any
		want  string
	}{
		{map[string]any{"name": "x", "inputs": []any{"a"}, "output": "b", "output_format": "avro"}, "passes its input values through"},
		{map[string]any{"name": "x", "inputs": []any{"a"}, "output": "b", "value": "value.x", "output_format": "protobuf"}, "needs output_schema"},
		{map[string]any{"name": "x", "inputs": []any{"a"}, "output": "b", "value": "value.x", "output_format": "xml"}, `output_format: "xml" is unknown`},
	} {
		if _, err := ParseJob(tc.table); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want %q", tc.table, err, tc.want)
		}
	}

	// Without a registry the job says what it needs.
	d := newSchemaDecoder(nil, "avro")
	if _, err := d.decode("avro", []byte{0, 0, 0, 0, 1}); err == nil || !strings.Contains(err.Error(), "needs a Schema Registry") {
		t.Fatalf("avro without a registry: %v", err)
	}
}
