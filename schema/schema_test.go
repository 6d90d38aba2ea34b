package schema_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/kdeck/kdeck/schema"
	"github.com/kdeck/kdeck/testing/registrytest"
)

func ctx(t testing.TB) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// registry starts a kfake cluster and kdeck's registry on it.
func registry(t testing.TB) *schema.Client {
	t.Helper()
	kc, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	_, c := registrytest.Start(t, kc.ListenAddrs())
	return c
}

const payment = `{"type":"record","name":"Payment","namespace":"demo","fields":[
 {"name":"id","type":"long"},
 {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
 {"name":"currency","type":{"type":"enum","name":"Currency","symbols":["EUR","USD"]}},
 {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
 {"name":"day","type":{"type":"int","logicalType":"date"}},
 {"name":"tags","type":{"type":"array","items":"string"}},
 {"name":"attrs","type":{"type":"map","values":"int"}},
 {"name":"note","type":["null","string"],"default":null},
 {"name":"either","type":["int","string"]},
 {"name":"ratio","type":"double"},
 {"name":"channel","type":"string","default":"web"}]}`

func TestAvroRoundTrip(t *testing.T) {
	c := registry(t)
	if _, err := c.SR().CreateSchema(ctx(t), "payments-value", sr.Schema{Schema: payment}); err != nil {
		t.Fatal(err)
	}
	enc, err := c.NewEncoder(ctx(t), "payments-value", schema.Latest)
	if err != nil {
		t.Fatal(err)
	}
	line := `{"id": 7, "amount": "-12.05", "currency": "USD", "at": "2026-11-26T10:00:00.123Z", "day": "2026-11-26",
		"tags": ["a","b"], "attrs": {"k": 3}, "note": "hi", "either": {"string": "x"}, "ratio": 0.5}`
	wire, err := enc.Encode([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if wire[0] != 0 || wire[4] != 1 {
		t.Fatalf("header %x: want magic 0 and schema id 1", wire[:5])
	}
	for _, tc := range []struct {
		pretty bool
		want   string
	}{
		{true, `{"id":7,"amount":-12.05,"currency":"USD","at":"2026-11-26T10:00:00.123Z","day":"2026-11-26","tags":["a","b"],"attrs":{"k":3},"note":"hi","either":{"string":"x"},"ratio":0.5,"channel":"web"}`},
		{false, `{"id":7,"amount":-12.05,"currency":"USD","at":1795687200123,"day":20783,"tags":["a","b"],"attrs":{"k":3},"note":"hi","either":{"string":"x"},"ratio":0.5,"channel":"web"}`},
	} {
		res := schema.NewDecoder(c, schema.ModeAuto, schema.DecodeOptions{PrettyTime: tc.pretty}).Decode(ctx(t), wire)
		if res.Err != nil || !res.Decoded {
			t.Fatalf("decode: %v", res.Err)
		}
		if string(res.JSON) != tc.want {
			t.Errorf("pretty=%v:\n got %s\nwant %s", tc.pretty, res.JSON, tc.want)
		}
		if res.Subject != "payments-value" || res.Version != 1 || res.SchemaID != 1 || res.Format != "avro" {
			t.Errorf("provenance %+v", res)
		}
	}
	// The decoded JSON encodes back to the same bytes.
	res := schema.NewDecoder(c, schema.ModeAvro, schema.DecodeOptions{}).Decode(ctx(t), wire)
	again, err := enc.Encode(res.JSON)
	if err != nil || string(again) != string(wire) {
		t.Fatalf("re-encoding the decoded JSON: %v (equal: %v)", err, string(again) == string(wire))
	}

	for _, tc := range []struct{ line, want string }{
		{`{"id": "x"}`, `field id must be an integer, got "x"`},
		{`{"id": 1, "amount": 1.001, "currency": "EUR", "at": 0, "day": 0, "tags": [], "attrs": {}, "either": 1, "ratio": 1}`, "more than 2 decimal places"},
		{`{"id": 1, "amount": 1, "currency": "GBP", "at": 0, "day": 0, "tags": [], "attrs": {}, "either": 1, "ratio": 1}`, `"GBP" is not a symbol of demo.Currency`},
		{`{"id": 1, "amount": 1, "currency": "EUR"}`, "field at is missing"},
		{`{"id": 1, "amount": 1, "currency": "EUR", "at": 0, "day": 0, "tags": [], "attrs": {}, "either": 1, "ratio": 1, "extra": 2}`, "field extra is not in record demo.Payment"},
		{`not json`, "not JSON"},
	} {
		if _, err := enc.Encode([]byte(tc.line)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("encoding %s: %v; want %q", tc.line, err, tc.want)
		}
	}
}

func TestDecodeProblemsKeepTheBytes(t *testing.T) {
	c := registry(t)
	if _, err := c.SR().CreateSchema(ctx(t), "p-value", sr.Schema{Schema: payment}); err != nil {
		t.Fatal(err)
	}
	d := schema.NewDecoder(c, schema.ModeAuto, schema.DecodeOptions{})
	// Plain JSON is left alone in auto mode.
	if res := d.Decode(ctx(t), []byte(`{"a":1}`)); res.Decoded || res.Err != nil {
		t.Errorf("plain JSON in auto mode: %+v; want untouched", res)
	}
	// An unknown schema id is a reason, not a failure.
	res := d.Decode(ctx(t), []byte{0, 0, 0, 0, 99, 1, 2})
	if res.Decoded || res.Err == nil || !strings.Contains(res.Err.Error(), "schema id 99 is not in the registry") {
		t.Errorf("unknown id: %+v", res)
	}
	// A truncated payload.
	res = d.Decode(ctx(t), []byte{0, 0, 0, 0, 1, 2})
	if res.Decoded || res.Err == nil || !strings.Contains(res.Err.Error(), "does not match the schema") {
		t.Errorf("truncated payload: %+v", res)
	}
	// An explicit mode on a plain value says so.
	res = schema.NewDecoder(c, schema.ModeAvro, schema.DecodeOptions{}).Decode(ctx(t), []byte("plain"))
	if !errors.Is(res.Err, schema.ErrNotWireFormat) {
		t.Errorf("avro mode on plain bytes: %+v", res)
	}
}

func TestProtobufAndJSONSchema(t *testing.T) {
	c := registry(t)
	proto := `syntax = "proto3";
package demo;
message Outer { message Inner { string name = 1; } }
message Click { string user = 1; int64 at = 2; repeated string tags = 3; Outer.Inner inner = 4; }`
	if _, err := c.SR().CreateSchema(ctx(t), "clicks-value", sr.Schema{Schema: proto, Type: sr.TypeProtobuf}); err != nil {
		t.Fatal(err)
	}
	enc, err := c.NewEncoder(ctx(t), "clicks-value", schema.Latest)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.UseMessage("Click"); err != nil {
		t.Fatal(err)
	}
	wire, err := enc.Encode([]byte(`{"user":"ann","at":"5","tags":["x"],"inner":{"name":"n"}}`))
	if err != nil {
		t.Fatal(err)
	}
	res := schema.NewDecoder(c, schema.ModeProtobuf, schema.DecodeOptions{}).Decode(ctx(t), wire)
	var got map[string]any
	if res.Err != nil || json.Unmarshal(res.JSON, &got) != nil || got["user"] != "ann" || got["at"] != "5" {
		t.Fatalf("protobuf decode: %s %v", res.JSON, res.Err)
	}
	if _, err := enc.Encode([]byte(`{"nope": 1}`)); err == nil {
		t.Error("a line with an unknown field encoded; want an error")
	}

	js := `{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"],"additionalProperties":false}`
	if _, err := c.SR().CreateSchema(ctx(t), "js-value", sr.Schema{Schema: js, Type: sr.TypeJSON}); err != nil {
		t.Fatal(err)
	}
	jenc, err := c.NewEncoder(ctx(t), "js-value", schema.Latest)
	if err != nil {
		t.Fatal(err)
	}
	wire, err = jenc.Encode([]byte(`{ "n": 3 }`))
	if err != nil {
		t.Fatal(err)
	}
	res = schema.NewDecoder(c, schema.ModeAuto, schema.DecodeOptions{}).Decode(ctx(t), wire)
	if res.Err != nil || string(res.JSON) != `{"n":3}` || res.Format != "json-schema" {
		t.Fatalf("json-schema decode: %s %v", res.JSON, res.Err)
	}
	if _, err := jenc.Encode([]byte(`{"n": "x"}`)); err == nil || !strings.Contains(err.Error(), "does not match the JSON Schema") {
		t.Errorf("invalid JSON Schema line: %v", err)
	}
}

func TestUnreachableRegistryIsOneErrorQuickly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c, err := schema.NewClient(schema.Config{URLs: []string{"http://" + addr}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	d := schema.NewDecoder(c, schema.ModeAuto, schema.DecodeOptions{})
	res := d.Decode(ctx(t), []byte{0, 0, 0, 0, 1, 2})
	if !errors.Is(res.Err, schema.ErrUnreachable) {
		t.Fatalf("unreachable registry: %v; want ErrUnreachable", res.Err)
	}
	if _, err := schema.NewClient(schema.Config{URLs: []string{"localhost:8081"}}); err == nil {
		t.Error("a URL without a scheme was accepted")
	}
}

// TestRegistryAnswersExplained: 401, 403, 404 and 500 answers are one
// sentence each that says what to do.
func TestRegistryAnswersExplained(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   int
		want   string
		is     error
	}{
		{401, 40101, "refused the credentials (401): check username/password or token", nil},
		{403, 40301, "denied access to schema id 5 (403)", nil},
		{404, 40403, "schema id 5 is not in the schema registry", schema.ErrNotFound},
		{500, 50001, "failed (500) on schema id 5: boom; try again, or check the registry's logs", nil},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
			w.WriteHeader(tc.status)
			fmt.Fprintf(w, `{"error_code":%d,"message":"boom"}`, tc.code)
		}))
		c, err := schema.NewClient(schema.Config{URLs: []string{srv.URL}, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.SchemaByID(ctx(t), 5)
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%d: %v; want %q", tc.status, err, tc.want)
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%d: %v is not %v", tc.status, err, tc.is)
		}
	}
}
