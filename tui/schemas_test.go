package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/tui/screen"
	"github.com/kdeck/kdeck/tui/tuitest"
)

// TestRecordsShowDecodedValues: a record decoded through the Schema
// Registry shows its JSON in the list and its schema in the detail; one
// that did not decode shows its bytes and the reason.
func TestRecordsShowDecodedValues(t *testing.T) {
	f := tuitest.New()
	at := tuitest.Now.Add(-time.Minute)
	f.RecordList = []ops.Record{
		{Topic: "demo.orders", Partition: 0, Offset: 0, Timestamp: at, Key: []byte("c-1"), Value: []byte{0, 0, 0, 0, 1, 2, 3},
			ValueDecoded: &ops.Decoded{Format: "avro", SchemaID: 1, Subject: "demo.orders-value", Version: 3, JSON: []byte(`{"amount":12.50,"currency":"EUR"}`)}},
		{Topic: "demo.orders", Partition: 0, Offset: 1, Timestamp: at, Key: []byte("c-2"), Value: []byte{0, 0, 0, 0, 9, 2},
			ValueDecoded: &ops.Decoded{SchemaID: 9, Error: "schema id 9 is not in the registry"}},
	}
	h := newHarness(t, f, 120, 30)
	h.keys(":", "records demo.orders", "enter")
	h.wantScreen(`{"amount":12.50,"currency":"EUR"}`)
	// The cursor starts on the newest record (offset 1, listed last).
	h.keys("enter")
	if s := h.screen(); !strings.Contains(s, "6 bytes, not decoded: schema id 9 is not in the registry") {
		t.Fatalf("detail of an undecodable record:\n%s", s)
	}
	h.keys("esc", "up", "enter")
	h.wantScreen("avro, subject demo.orders-value version 3, schema id 1", `"amount": 12.50`)
}

// TestSchemasScreen: :schemas lists subjects; enter shows the subject's
// compatibility, versions, topics and schema; r opens its topic's records.
func TestSchemasScreen(t *testing.T) {
	h := newHarness(t, tuitest.New(), 120, 30)
	h.keys(":", "schemas", "enter")
	h.wantScreen("demo.payments-value", "avro")
	h.keys("enter")
	h.wantScreen("compatibility BACKWARD", "versions      1 2", "demo.payments", `"namespace": "kdeck.demo"`)
	h.keys("r")
	h.wantPage(screen.Records, "demo.payments")
}
