package connect

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func applyOne(t *testing.T, table map[string]any, r *Record) (*Record, error) {
	t.Helper()
	ch, errs := Builtins().buildChain([]map[string]any{table})
	if len(errs) > 0 {
		t.Fatalf("build %v: %v", table, errs)
	}
	out, _, err := ch.apply(r)
	return out, err
}

func TestTransforms(t *testing.T) {
	ts := time.UnixMilli(1_700_000_000_000).UTC()
	rec := func() *Record {
		return &Record{Topic: "orders", Partition: 2, Offset: 41, Timestamp: ts, Key: "k1",
			Value:   RawJSON(`{"id":7,"amount":12.5,"card":"4111","name":"Ann","nested":{"a":{"b":"deep"}}}`),
			Headers: []Header{{Key: "trace", Value: []byte("t1")}, {Key: "type", Value: []byte("test")}}}
	}
	for _, tc := range []struct {
		name    string
		table   map[string]any
		check   func(t *testing.T, r *Record)
		dropped bool
		wantErr string
	}{
		{"insert_field static topic partition offset timestamp", map[string]any{"type": "insert_field", "static_field": "src", "static_value": "app", "topic_field": "t", "partition_field": "p", "offset_field": "o", "timestamp_field": "ts"},
			func(t *testing.T, r *Record) {
				m := r.Value.(map[string]any)
				want := map[string]any{"src": "app", "t": "orders", "p": int64(2), "o": int64(41), "ts": ts.UnixMilli()}
				for k, v := range want {
					if m[k] != v {
						t.Errorf("%s = %#v, want %#v", k, m[k], v)
					}
				}
			}, false, ""},
		{"insert_field on key (Kafka Connect alias)", map[string]any{"type": "InsertField$Key", "on": "key", "static_field": "x", "static_value": "y"}, nil, false, "not a JSON object"},
		{"replace_field include and rename", map[string]any{"type": "replace_field", "include": []any{"id", "name"}, "renames": []any{"name:customer"}},
			func(t *testing.T, r *Record) {
				if !reflect.DeepEqual(r.Value, map[string]any{"id": int64(7), "customer": "Ann"}) {
					t.Errorf("value %#v", r.Value)
				}
			}, false, ""},
		{"replace_field exclude", map[string]any{"type": "replace_field", "exclude": "card,nested"},
			func(t *testing.T, r *Record) {
				if _, ok := r.Value.(map[string]any)["card"]; ok {
					t.Error("card not excluded")
				}
			}, false, ""},
		{"mask_field", map[string]any{"type": "mask_field", "fields": []any{"card", "amount"}},
			func(t *testing.T, r *Record) {
				m := r.Value.(map[string]any)
				if m["card"] != "" || m["amount"] != int64(0) || m["name"] != "Ann" {
					t.Errorf("value %#v", m)
				}
			}, false, ""},
		{"mask_field with replacement", map[string]any{"type": "org.apache.kafka.connect.transforms.MaskField$Value", "fields": []any{"card"}, "replacement": "****"},
			func(t *testing.T, r *Record) {
				if r.Value.(map[string]any)["card"] != "****" {
					t.Errorf("value %#v", r.Value)
				}
			}, false, ""},
		{"value_to_key", map[string]any{"type": "value_to_key", "fields": []any{"id"}},
			func(t *testing.T, r *Record) {
				if !reflect.DeepEqual(r.Key, map[string]any{"id": int64(7)}) {
					t.Errorf("key %#v", r.Key)
				}
			}, false, ""},
		{"value_to_key missing field", map[string]any{"type": "value_to_key", "fields": []any{"nope"}}, nil, false, `no field "nope"`},
		{"extract_field nested", map[string]any{"type": "extract_field", "field": "nested.a.b"},
			func(t *testing.T, r *Record) {
				if r.Value != "deep" {
					t.Errorf("value %#v", r.Value)
				}
			}, false, ""},
		{"regex_router", map[string]any{"type": "regex_router", "regex": "(.*)ers", "replacement": "$1-v2"},
			func(t *testing.T, r *Record) {
				if r.Topic != "ord-v2" {
					t.Errorf("topic %q", r.Topic)
				}
			}, false, ""},
		{"regex_router no match", map[string]any{"type": "regex_router", "regex": "x", "replacement": "y"},
			func(t *testing.T, r *Record) {
				if r.Topic != "orders" {
					t.Errorf("topic %q", r.Topic)
				}
			}, false, ""},
		{"timestamp_router", map[string]any{"type": "timestamp_router", "topic_format": "${topic}-${timestamp}", "timestamp_format": "yyyy.MM.dd"},
			func(t *testing.T, r *Record) {
				if r.Topic != "orders-2023.11.14" {
					t.Errorf("topic %q", r.Topic)
				}
			}, false, ""},
		{"insert_header", map[string]any{"type": "insert_header", "header": "src", "value_literal": "kdeck"},
			func(t *testing.T, r *Record) {
				if len(r.Headers) != 3 || r.Headers[2].Key != "src" || string(r.Headers[2].Value) != "kdeck" {
					t.Errorf("headers %v", r.Headers)
				}
			}, false, ""},
		{"drop_headers", map[string]any{"type": "drop_headers", "headers": []any{"trace"}},
			func(t *testing.T, r *Record) {
				if len(r.Headers) != 1 || r.Headers[0].Key != "type" {
					t.Errorf("headers %v", r.Headers)
				}
			}, false, ""},
		{"filter drops matching", map[string]any{"type": "filter", "expr": `value.amount > 10 && headers["type"] == "test"`}, nil, true, ""},
		{"filter keeps non-matching", map[string]any{"type": "filter", "expr": `value.amount > 100`},
			func(t *testing.T, r *Record) {}, false, ""},
		{"filter negate keeps matching", map[string]any{"type": "filter", "expr": `topic == "orders"`, "negate": true},
			func(t *testing.T, r *Record) {}, false, ""},
		{"filter on a text value", map[string]any{"type": "filter", "expr": `key contains "k"`}, nil, true, ""},
		{"filter runtime error", map[string]any{"type": "filter", "expr": `value.amount.x > 1`}, nil, false, "expression"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := applyOne(t, tc.table, rec())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.dropped != (out == nil) {
				t.Fatalf("dropped = %v, want %v", out == nil, tc.dropped)
			}
			if tc.check != nil && out != nil {
				tc.check(t, out)
			}
		})
	}
}

func TestTransformConfigErrors(t *testing.T) {
	_, errs := Builtins().buildChain([]map[string]any{
		{"type": "filter", "expr": "value.amount >"},
		{"type": "regex_router", "regex": "(", "replacement": "x"},
		{"type": "mask_field"},
		{"type": "insert_field", "on": "both", "static_field": "a"},
		{},
	})
	want := []string{"transforms[0]", "transforms[1]", "transforms[2].fields: missing", "transforms[3].on", "transforms[4].type: missing"}
	if len(errs) != len(want) {
		t.Fatalf("errors %v, want %d", errs, len(want))
	}
	for i, w := range want {
		if got := errs[i].Path + ": " + errs[i].Msg; !strings.Contains(got, w) {
			t.Errorf("error %d = %q, want %q", i, got, w)
		}
	}
	if !strings.Contains(errs[0].Msg, "does not compile") {
		t.Errorf("filter error %q does not say it does not compile", errs[0].Msg)
	}
}

func TestConverters(t *testing.T) {
	for _, tc := range []struct {
		conv    string
		in      []byte
		want    any
		wantErr string
	}{
		{"json", []byte(`{"a":1,"b":[true,2.5],"c":null}`), map[string]any{"a": int64(1), "b": []any{true, 2.5}, "c": nil}, ""},
		{"json", []byte(`"text"`), "text", ""},
		{"json", []byte(`not json`), nil, "not JSON"},
		{"json", []byte(`{"a":1} {"b":2}`), nil, "not JSON"},
		{"json", nil, nil, ""},
		{"string", []byte("héllo"), "héllo", ""},
		{"bytes", []byte{0, 1, 2}, []byte{0, 1, 2}, ""},
	} {
		t.Run(tc.conv+"/"+string(tc.in), func(t *testing.T) {
			c, err := NewConverter(tc.conv)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.FromBytes(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("FromBytes = %#v, %v; want %#v", got, err, tc.want)
			}
			back, err := c.ToBytes(got)
			if err != nil {
				t.Fatal(err)
			}
			if tc.conv == "json" && tc.in != nil {
				var a, b any
				json.Unmarshal(tc.in, &a)
				json.Unmarshal(back, &b)
				if !reflect.DeepEqual(a, b) {
					t.Errorf("round trip %s -> %s", tc.in, back)
				}
			} else if string(back) != string(tc.in) {
				t.Errorf("round trip %q -> %q", tc.in, back)
			}
		})
	}
	if _, err := NewConverter("avro"); err == nil {
		t.Error("avro accepted")
	}
	// RawJSON passes through the json converter untouched; strings and
	// numbers render as text in the string converter.
	jc, _ := NewConverter("json")
	if b, _ := jc.ToBytes(RawJSON(`{"x":1}`)); string(b) != `{"x":1}` {
		t.Errorf("RawJSON -> %s", b)
	}
	sc, _ := NewConverter("string")
	if b, _ := sc.ToBytes(int64(42)); string(b) != "42" {
		t.Errorf("int64 -> %s", b)
	}
}

func TestBuiltinsRegistry(t *testing.T) {
	r := Builtins()
	if got := r.PluginNames(); !reflect.DeepEqual(got, []string{"datagen", "file-sink", "file-source", "postgres-cdc", "postgres-sink"}) {
		t.Errorf("plugins %v", got)
	}
	if err := r.Register(&Plugin{Name: "datagen", NewSource: func(*Parsed) (SourceConnector, error) { return nil, nil }}); err == nil {
		t.Error("duplicate plugin accepted")
	}
	if len(NewRegistry().PluginNames()) != 0 {
		t.Error("NewRegistry is not empty")
	}
	for _, tp := range r.Transforms() {
		if tp.Spec.Summary == "" {
			t.Errorf("transform %s has no summary", tp.Name)
		}
	}
}

func TestFilterOnLines(t *testing.T) {
	out, err := applyOne(t, map[string]any{"type": "filter", "expr": `value contains "DEBUG"`}, &Record{Value: []byte("2026 DEBUG x")})
	if err != nil || out != nil {
		t.Fatalf("DEBUG line kept: %v %v", out, err)
	}
	out, err = applyOne(t, map[string]any{"type": "filter", "expr": `value contains "DEBUG"`}, &Record{Value: []byte("2026 INFO x")})
	if err != nil || out == nil {
		t.Fatalf("INFO line dropped: %v", err)
	}
	if _, ok := out.Value.([]byte); !ok {
		t.Errorf("value type changed to %T", out.Value)
	}
}
