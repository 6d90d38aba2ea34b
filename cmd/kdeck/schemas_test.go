package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
	"github.com/kdeck/kdeck/testing/registrytest"
)

// registryOn starts kdeck's Schema Registry on the test cluster.
func registryOn(t *testing.T, c *kafkatest.Cluster) string {
	url, _ := registrytest.Start(t, c.Addrs())
	return url
}

const orderAvsc = `{"type":"record","name":"Order","namespace":"shop","fields":[
 {"name":"id","type":"long"},
 {"name":"total","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}},
 {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
 {"name":"coupon","type":["null","string"],"default":null}]}`

func TestCLISchemasProduceAndTail(t *testing.T) {
	dir := isolate(t)
	c := kafkatest.New(t)
	reg := registryOn(t, c)
	b := c.Addr()
	avsc := filepath.Join(dir, "order.avsc")
	if err := os.WriteFile(avsc, []byte(orderAvsc), 0o600); err != nil {
		t.Fatal(err)
	}
	k := func(stdin string, args ...string) result {
		t.Helper()
		return kdeck(t, stdin, append([]string{"-b", b, "--registry", reg}, args...)...)
	}

	// Register from a file while producing; a bad line stops the produce.
	in := `{"id": 1, "total": "12.50", "at": "2026-11-26T10:00:00Z"}
{"id": 2, "total": 3, "at": 1795687200000, "coupon": "XMAS"}
{"id": "three", "total": 1, "at": 0}
{"id": 4, "total": 1, "at": 0}
`
	r := k(in, "produce", "orders", "--value-schema-file", avsc, "--subject", "orders-value")
	if r.code != 1 || !strings.Contains(r.err, "line 3 does not match subject orders-value version 1") || !strings.Contains(r.err, "nothing after it was sent") {
		t.Fatalf("produce with a bad line 3: %+v", r)
	}
	r = k("", "tail", "orders", "-o", "json", "--pretty-time")
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if r.code != 0 || len(lines) != 2 {
		t.Fatalf("tail after the bad line: want the 2 records before it, got %+v", r)
	}
	var rec struct {
		Value       map[string]any `json:"value"`
		ValueSchema struct {
			Format   string `json:"format"`
			Subject  string `json:"subject"`
			Version  int    `json:"version"`
			SchemaID int    `json:"schema_id"`
		} `json:"value_schema"`
	}
	found := false
	for _, l := range lines {
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Value["id"] == float64(1) {
			found = true
			if rec.Value["total"] != 12.5 || rec.Value["at"] != "2026-11-26T10:00:00Z" || rec.Value["coupon"] != nil {
				t.Errorf("decoded record 1: %v", rec.Value)
			}
			if rec.ValueSchema.Format != "avro" || rec.ValueSchema.Subject != "orders-value" || rec.ValueSchema.Version != 1 || rec.ValueSchema.SchemaID != 1 {
				t.Errorf("value_schema: %+v", rec.ValueSchema)
			}
		}
	}
	if !found {
		t.Errorf("record 1 not in %v", lines)
	}

	// --skip-bad goes on past the bad line and says which it skipped.
	r = k(in, "produce", "orders2", "--schema", "orders-value:1", "--skip-bad")
	if r.code != 0 || !strings.Contains(r.err, "line 3 skipped") {
		t.Fatalf("produce --skip-bad: %+v", r)
	}
	r = k("", "tail", "orders2", "--format", "value")
	if r.code != 0 || strings.Count(r.out, "\n") != 3 || !strings.Contains(r.out, `"coupon":"XMAS"`) {
		t.Fatalf("tail orders2: %+v", r)
	}

	// A record that does not decode shows its bytes and the reason; the
	// read goes on.
	r = kdeck(t, "\x00\x00\x00\x00\x63junk\nplain text\n", "-b", b, "produce", "mixed")
	if r.code != 0 {
		t.Fatal(r)
	}
	r = k("", "tail", "mixed", "-o", "json")
	if r.code != 0 || !strings.Contains(r.out, `"value_error":"schema id 99 is not in the registry`) || !strings.Contains(r.out, `"value":"plain text"`) {
		t.Fatalf("tail of undecodable records: %+v", r)
	}
	r = k("", "tail", "mixed", "--decode", "avro")
	if r.code != 0 || !strings.Contains(r.out, "not in the Schema Registry wire format") {
		t.Fatalf("tail --decode avro of a plain record: %+v", r)
	}
	r = k("", "tail", "mixed", "--decode", "xml")
	if r.code != 2 || !strings.Contains(r.err, `--decode "xml" is not a mode`) {
		t.Fatalf("tail --decode xml: %+v", r)
	}

	// schemas list, show, check, compatibility, delete.
	r = k("", "schemas", "list")
	if r.code != 0 || !strings.Contains(r.out, "orders-value") {
		t.Fatalf("schemas list: %+v", r)
	}
	r = kdeck(t, "", "__complete", "-b", b, "--registry", reg, "schemas", "show", "")
	if !strings.Contains(r.out, "orders-value") {
		t.Errorf("completion of subjects: %+v", r)
	}
	r = k("", "schemas", "show", "orders-value", "-o", "json")
	if r.code != 0 || !strings.Contains(r.out, `"topics": [`) || !strings.Contains(r.out, `"orders"`) {
		t.Fatalf("schemas show: %+v", r)
	}
	bad := filepath.Join(dir, "bad.avsc")
	_ = os.WriteFile(bad, []byte(`{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"string"}]}`), 0o600)
	r = k("", "schemas", "check", "orders-value", "--file", bad)
	if r.code != 3 || !strings.Contains(r.out, "NOT compatible") {
		t.Fatalf("schemas check of an incompatible schema: %+v", r)
	}
	r = k("", "schemas", "register", "orders-value", "--file", bad)
	if r.code != 3 || !strings.Contains(r.err, "incompatible") {
		t.Fatalf("registering an incompatible schema: %+v", r)
	}
	broken := filepath.Join(dir, "broken.proto")
	_ = os.WriteFile(broken, []byte("syntax = \"proto3\"; message X { strin a = 1; }"), 0o600)
	r = k("", "schemas", "register", "broken-value", "--file", broken)
	if r.code != 2 || !strings.Contains(r.err, "the Protobuf schema does not compile") {
		t.Fatalf("registering a schema that does not compile: %+v", r)
	}
	r = k("", "schemas", "compatibility", "orders-value", "NONE")
	if r.code != 0 || !strings.Contains(r.out, "BACKWARD -> NONE") {
		t.Fatalf("setting compatibility: %+v", r)
	}
	r = k("", "schemas", "register", "orders-value", "--file", bad)
	if r.code != 0 || !strings.Contains(r.out, "version 2") {
		t.Fatalf("registering under NONE: %+v", r)
	}
	r = k("", "--read-only", "schemas", "delete", "orders-value", "--execute")
	if r.code != 3 || !strings.Contains(r.err, "read-only") {
		t.Fatalf("delete in read-only mode: %+v", r)
	}
	r = k("", "schemas", "delete", "orders-value", "--version", "2")
	if r.code != 0 || !strings.Contains(r.out, "nothing changed") {
		t.Fatalf("delete preview: %+v", r)
	}
	r = k("", "schemas", "delete", "orders-value", "--version", "2", "--execute")
	if r.code != 0 || !strings.Contains(r.out, "did soft-delete 1 version") {
		t.Fatalf("delete: %+v", r)
	}
	r = k("", "schemas", "versions", "orders-value")
	if r.code != 0 || strings.Contains(r.out, "\n2 ") {
		t.Fatalf("versions after delete: %+v", r)
	}
	r = k("", "audit", "-o", "json")
	for _, action := range []string{"schemas.register", "schemas.compatibility", "schemas.delete"} {
		if !strings.Contains(r.out, action) {
			t.Errorf("audit has no %s entry: %s", action, r.out)
		}
	}
	r = k("", "schemas", "show", "nope-value") // not found is usage (2), as the README's exit-code table says
	if r.code != 2 || !strings.Contains(r.err, `subject "nope-value" is not in the schema registry`) {
		t.Fatalf("show of an unknown subject: %+v", r)
	}
	// An unreachable registry is one sentence, quickly.
	r = kdeck(t, "", "-b", b, "--registry", "http://127.0.0.1:1", "schemas", "list")
	if r.code != 1 || !strings.Contains(r.err, "does not answer") || strings.Count(strings.TrimSpace(r.err), "\n") != 0 {
		t.Fatalf("unreachable registry: %+v", r)
	}
	r = kdeck(t, "", "-b", b, "--registry", "localhost:8081", "schemas", "list")
	if r.code != 2 {
		t.Fatalf("a registry URL without a scheme: %+v", r)
	}
	// Without any registry, tail decodes nothing and says nothing.
	r = kdeck(t, "", "-b", b, "tail", "mixed", "--format", "value")
	if r.code != 0 || !strings.Contains(r.out, "plain text") {
		t.Fatalf("tail without a registry: %+v", r)
	}
}

// TestAppendRecordJSON holds the hand-written tail -o json line equal to
// encoding/json's form of recordJSON.
func TestAppendRecordJSON(t *testing.T) {
	at := time.Date(2026, 11, 26, 10, 0, 0, 123456789, time.UTC)
	for _, r := range []ops.Record{
		{Topic: "t", Partition: 2, Offset: 7, Timestamp: at, Key: []byte("k<&>"), Value: []byte(`{"a":"\u003c"}`), Headers: []ops.Header{{Key: "h", Value: []byte("v\n\"")}}},
		{Topic: "t", Timestamp: at, Value: []byte{0xff, 0, 1}},
		{Topic: "t", Timestamp: at, Key: []byte{0, 0, 0, 0, 1, 2}, KeyDecoded: &ops.Decoded{Format: "avro", SchemaID: 1, Subject: "t-key", Version: 2, JSON: []byte(`"x"`)},
			Value: []byte{0, 0, 0, 0, 9}, ValueDecoded: &ops.Decoded{SchemaID: 9, Error: "schema id 9 is not in the registry"}},
		{Topic: "t", Timestamp: at, Value: []byte{0, 0, 0, 0, 3, 1}, ValueDecoded: &ops.Decoded{Format: "protobuf", SchemaID: 3, JSON: []byte(`{"user":"ann","tags":["a"]}`)}},
		{Topic: "t", Timestamp: at, Value: []byte("plain"), ValueDecoded: &ops.Decoded{Error: "not in the wire format"}},
	} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(toRecordJSON(r)); err != nil {
			t.Fatal(err)
		}
		if got := appendRecordJSON(nil, r); string(got) != want.String() {
			t.Errorf("record %+v:\n got %s\nwant %s", r, got, want.String())
		}
	}
}

// TestDevRegistryPortTaken: a taken --registry-port is one sentence and a
// failure, and nothing keeps running.
func TestDevRegistryPortTaken(t *testing.T) {
	isolate(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	r := kdeck(t, "", "dev", "--ephemeral", "--no-demo", "--port", "0", "--registry-port", strconv.Itoa(port))
	if r.code != 1 || !strings.Contains(r.err, "is taken") || !strings.Contains(r.err, "--registry-port") {
		t.Fatalf("dev with a taken registry port: %+v", r)
	}
	r = kdeck(t, "", "dev", "--ephemeral", "--port", "0", "--registry-port", "70000")
	if r.code != 2 || !strings.Contains(r.err, "--registry-port 70000 is out of range") {
		t.Fatalf("dev with registry port 70000: %+v", r)
	}
}
