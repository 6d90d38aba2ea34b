package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

// pythonClients returns the Python that has confluent-kafka installed
// (.cache/pyclients, made by scripts/pyclients.sh, or $KDECK_PYTHON). Under
// CI a missing one fails the test; elsewhere it skips with how to get it.
func pythonClients(t *testing.T) string {
	t.Helper()
	py := os.Getenv("KDECK_PYTHON")
	if py == "" {
		_, file, _, _ := runtime.Caller(0)
		py = filepath.Join(filepath.Dir(file), "..", "..", ".cache", "pyclients", "bin", "python")
	}
	if _, err := os.Stat(py); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no Python with confluent-kafka at %s: .ci/run installs it with scripts/pyclients.sh", py)
		}
		t.Skipf("no Python with confluent-kafka at %s: run scripts/pyclients.sh", py)
	}
	return py
}

// TestPythonConfluentClient checks kdeck's registry and wire format against
// Confluent's Python client: its SchemaRegistryClient works against kdeck's
// registry, what its AvroSerializer writes decodes in kdeck tail to the same
// fields, and what kdeck produce --schema writes decodes with its
// AvroDeserializer.
func TestPythonConfluentClient(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Python process (-short)")
	}
	py := pythonClients(t)
	dir := isolate(t)
	c := kafkatest.New(t)
	reg := registryOn(t, c)
	b := c.Addr()
	avsc := filepath.Join(dir, "order.avsc")
	if err := os.WriteFile(avsc, []byte(orderAvsc), 0o600); err != nil {
		t.Fatal(err)
	}
	r := kdeck(t, `{"id": 1, "total": "12.50", "at": "2026-11-26T10:00:00Z"}
{"id": 2, "total": "-0.07", "at": 1795687200000, "coupon": "XMAS"}
{"id": 3, "total": 100, "at": 0}
`, "-b", b, "--registry", reg, "produce", "kdeck.payments", "--value-schema-file", avsc, "--subject", "kdeck.payments-value")
	if r.code != 0 {
		t.Fatalf("kdeck produce --schema: %+v", r)
	}

	proto := filepath.Join(dir, "click.proto")
	if err := os.WriteFile(proto, []byte("syntax = \"proto3\";\npackage py;\nmessage Click { string user = 1; int64 at = 2; repeated string tags = 3; }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = kdeck(t, `{"user": "k1", "at": 7, "tags": ["x"]}
{"user": "k2", "at": "8"}
`, "-b", b, "--registry", reg, "produce", "kdeck.clicks", "--value-schema-file", proto, "--subject", "kdeck.clicks-value")
	if r.code != 0 {
		t.Fatalf("kdeck produce --schema (protobuf): %+v", r)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "testing", "pyclients", "sr_roundtrip.py")
	out, err := exec.CommandContext(ctx, py, script, b, reg, "3").CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	// The Python deserializer read kdeck's records with the same fields.
	var fromKdeck []map[string]any
	for _, l := range strings.Split(string(out), "\n") {
		if j, ok := strings.CutPrefix(l, "kdeck-record "); ok {
			var m map[string]any
			if err := json.Unmarshal([]byte(j), &m); err != nil {
				t.Fatal(err)
			}
			fromKdeck = append(fromKdeck, m)
		}
	}
	if !strings.Contains(string(out), `kdeck-click {"at": 7, "tags": ["x"], "user": "k1"}`) || !strings.Contains(string(out), `kdeck-click {"at": 8, "tags": [], "user": "k2"}`) {
		t.Errorf("python's view of kdeck's protobuf records:\n%s", out)
	}
	if len(fromKdeck) != 3 {
		t.Fatalf("python read %d kdeck records:\n%s", len(fromKdeck), out)
	}
	byID := map[float64]map[string]any{}
	for _, m := range fromKdeck {
		byID[m["id"].(float64)] = m
	}
	// Python prints Decimal and datetime with str().
	if m := byID[2]; m["total"] != "-0.07" || m["coupon"] != "XMAS" || !strings.HasPrefix(m["at"].(string), "2026-11-26 10:00:00") {
		t.Errorf("python's view of kdeck record 2: %v", m)
	}
	if m := byID[1]; m["total"] != "12.50" || m["coupon"] != nil {
		t.Errorf("python's view of kdeck record 1: %v", m)
	}

	// kdeck tail decodes what the Python AvroSerializer wrote.
	r = kdeck(t, "", "-b", b, "--registry", reg, "tail", "py.payments", "-o", "json")
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if r.code != 0 || len(lines) != 5 {
		t.Fatalf("kdeck tail py.payments: %+v", r)
	}
	for _, l := range lines {
		var rec struct {
			Key         string         `json:"key"`
			Value       map[string]any `json:"value"`
			ValueSchema struct {
				Subject string `json:"subject"`
			} `json:"value_schema"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatal(err)
		}
		id := rec.Value["id"].(float64)
		wantCard := any(nil)
		if int(id)%2 == 0 {
			wantCard = "card-" + strings.TrimPrefix(rec.Key, "py-")
		}
		if rec.ValueSchema.Subject != "py.payments-value" || rec.Value["customer"] != rec.Key || rec.Value["amount"] != id+0.25 || rec.Value["card"] != wantCard {
			t.Errorf("kdeck's view of a python record: %s", l)
		}
	}

	// kdeck tail decodes what the Python ProtobufSerializer wrote (its
	// schema is registered as a base64 FileDescriptorProto).
	r = kdeck(t, "", "-b", b, "--registry", reg, "tail", "py.clicks", "-o", "json")
	lines = strings.Split(strings.TrimSpace(r.out), "\n")
	if r.code != 0 || len(lines) != 3 {
		t.Fatalf("kdeck tail py.clicks: %+v", r)
	}
	for _, l := range lines {
		var rec struct {
			Key         string         `json:"key"`
			Value       map[string]any `json:"value"`
			ValueSchema struct {
				Format string `json:"format"`
			} `json:"value_schema"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatal(err)
		}
		i := strings.TrimPrefix(rec.Key, "u")
		tags, _ := rec.Value["tags"].([]any)
		if rec.ValueSchema.Format != "protobuf" || rec.Value["user"] != rec.Key || rec.Value["at"] != "100"+i || len(tags) != 2 || tags[1] != i {
			t.Errorf("kdeck's view of a python protobuf record: %s", l)
		}
	}
}
