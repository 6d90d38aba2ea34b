package connect_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/connect"
	"github.com/kdeck/kdeck/schema"
	"github.com/kdeck/kdeck/testing/kafkatest"
	"github.com/kdeck/kdeck/testing/registrytest"
)

const orderSchema = `{"type":"record","name":"Order","namespace":"shop","fields":[
 {"name":"id","type":"long"},{"name":"customer","type":"string"},{"name":"amount","type":"long"}]}`

// TestAvroConverters: a datagen source with value_converter = "avro"
// registers its schema and writes the wire format (TopicNameStrategy and
// TopicRecordNameStrategy); a file sink with the avro converter reads it
// back as JSON; a record that is not in the wire format goes to the DLQ
// with the converter stage.
func TestAvroConverters(t *testing.T) {
	c := kafkatest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url, rc := registrytest.Start(t, c.Addrs())
	for _, tc := range []struct{ strategy, subject string }{
		{connect.StrategyTopicName, "orders-value"},
		{connect.StrategyTopicRecordName, "orders2-shop.Order"},
	} {
		topic := strings.TrimSuffix(strings.TrimSuffix(tc.subject, "-value"), "-shop.Order")
		c.CreateTopic(t, topic, 1)
		_, stop := runWithRegistry(t, c, connect.Builtins(), map[string]any{"name": "gen-" + topic, "class": "datagen", "topic": topic, "count": int64(5),
			"shape":           map[string]any{"id": "seq", "customer": "key", "amount": "int:1:100"},
			"value_converter": "avro", "auto_register_schemas": true, "value_schema": orderSchema, "subject_name_strategy": tc.strategy,
			"schema_registry_url": url})
		recs := readAll(t, c, topic, 5)
		stop()
		dec := schema.NewDecoder(rc, schema.ModeAvro, schema.DecodeOptions{})
		for _, r := range recs {
			res := dec.Decode(ctx, r.Value)
			if res.Err != nil || !strings.Contains(string(res.JSON), `"customer":"customer-`) {
				t.Fatalf("%s: record %d decodes as %s, %v", tc.strategy, r.Offset, res.JSON, res.Err)
			}
		}
		// The schema went under the strategy's subject (the same schema
		// keeps its id across subjects).
		if vs, err := rc.SR().SubjectVersions(ctx, tc.subject); err != nil || len(vs) != 1 {
			t.Fatalf("%s: subject %s: %v, %v", tc.strategy, tc.subject, vs, err)
		}
	}

	// The sink side: the avro value converter, and a bad record to the DLQ.
	c.Produce(t, &kgo.Record{Topic: "orders", Value: []byte("not avro")})
	out := filepath.Join(t.TempDir(), "out.jsonl")
	_, stop := runWithRegistry(t, c, connect.Builtins(), map[string]any{"name": "sink", "class": "file-sink", "topics": []any{"orders"}, "path": out,
		"value_converter": "avro", "schema_registry_url": url, "errors_tolerance": "all", "dlq_topic": "orders.dlq"})
	dlq := readAll(t, c, "orders.dlq", 1)
	waitFor(t, "5 lines in the sink file", func() bool {
		b, _ := os.ReadFile(out)
		return strings.Count(string(b), "\n") == 5
	})
	stop()
	if string(dlq[0].Value) != "not avro" {
		t.Errorf("DLQ holds %q", dlq[0].Value)
	}
	for _, h := range dlq[0].Headers {
		if h.Key == connect.HeaderErrStage && string(h.Value) != connect.StageValueConverter {
			t.Errorf("DLQ stage %s, want %s", h.Value, connect.StageValueConverter)
		}
	}
	b, _ := os.ReadFile(out)
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["id"] == nil || m["customer"] == nil {
			t.Errorf("sink line %q: %v", l, err)
		}
	}
}

func TestSchemaConverterNeedsARegistry(t *testing.T) {
	_, err := connect.NewJob(connect.Builtins(), map[string]any{"name": "g", "class": "datagen", "topic": "t", "value_converter": "avro"})
	if err == nil || !strings.Contains(err.Error(), "needs a Schema Registry") {
		t.Fatalf("avro converter without a registry: %v", err)
	}
}

// TestProtobufAndJSONSchemaConverters: datagen through the protobuf and
// json_schema value converters (record_name strategy for protobuf: the
// message's full name) decodes back to the generated fields.
func TestProtobufAndJSONSchemaConverters(t *testing.T) {
	c := kafkatest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url, rc := registrytest.Start(t, c.Addrs())
	for _, tc := range []struct {
		converter, schemaText, strategy, subject string
		mode                                     schema.Mode
	}{
		{"protobuf", `syntax = "proto3"; package shop; message Order { int64 id = 1; string customer = 2; int64 amount = 3; }`, connect.StrategyRecordName, "shop.Order", schema.ModeProtobuf},
		{"json_schema", `{"title":"Order","type":"object","required":["id","customer"],"properties":{"id":{"type":"integer"},"customer":{"type":"string"},"amount":{"type":"integer"}}}`, connect.StrategyTopicName, "js-value", schema.ModeJSONSchema},
	} {
		topic := map[string]string{"protobuf": "pb", "json_schema": "js"}[tc.converter]
		c.CreateTopic(t, topic, 1)
		_, stop := runWithRegistry(t, c, connect.Builtins(), map[string]any{"name": "gen-" + topic, "class": "datagen", "topic": topic, "count": int64(3),
			"shape":           map[string]any{"id": "seq", "customer": "key", "amount": "int:1:100"},
			"value_converter": tc.converter, "auto_register_schemas": true, "value_schema": tc.schemaText, "subject_name_strategy": tc.strategy,
			"schema_registry_url": url})
		recs := readAll(t, c, topic, 3)
		stop()
		dec := schema.NewDecoder(rc, tc.mode, schema.DecodeOptions{})
		for _, r := range recs {
			res := dec.Decode(ctx, r.Value)
			if res.Err != nil || !strings.Contains(string(res.JSON), `"customer":"customer-`) {
				t.Fatalf("%s: record %d decodes as %s, %v", tc.converter, r.Offset, res.JSON, res.Err)
			}
		}
		if vs, err := rc.SR().SubjectVersions(ctx, tc.subject); err != nil || len(vs) != 1 {
			t.Fatalf("%s: subject %s: %v, %v", tc.converter, tc.subject, vs, err)
		}
	}
}
