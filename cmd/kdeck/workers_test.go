package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestREADMEWorkersJSON checks that the README's 'kdeck workers -o json'
// example has the keys the command prints, for the report and for a
// worker, and that without a worker group the command lists this process
// alone.
func TestREADMEWorkersJSON(t *testing.T) {
	isolate(t)
	c := kafkatest.New(t)
	var doc, got map[string]any
	if err := json.Unmarshal([]byte(readmeJSONAfter(t, "`kdeck workers -o json`")), &doc); err != nil {
		t.Fatalf("README workers example is not JSON: %v", err)
	}
	r := kdeck(t, "", "-b", c.Addr(), "workers", "-o", "json")
	if err := json.Unmarshal([]byte(r.out), &got); err != nil {
		t.Fatalf("workers -o json: %v %+v", err, r)
	}
	if k, w := keysOf(t, doc), keysOf(t, got); k != w {
		t.Errorf("README workers example keys %s, output keys %s", k, w)
	}
	dw, gw := doc["workers"].([]any), got["workers"].([]any)
	if len(dw) == 0 || len(gw) != 1 {
		t.Fatalf("README lists %d workers, the command %d (want this process alone): %s", len(dw), len(gw), r.out)
	}
	if k, w := keysOf(t, dw[0]), keysOf(t, gw[0]); k != w {
		t.Errorf("README worker keys %s, output keys %s", k, w)
	}
	if got["group"] != "" || gw[0].(map[string]any)["self"] != true {
		t.Errorf("without a worker group: %s", r.out)
	}
	r = kdeck(t, "", "-b", c.Addr(), "workers")
	if r.code != 0 || !strings.Contains(r.out, "worker group (none: this process alone): 1 worker(s)") {
		t.Fatalf("kdeck workers: %+v", r)
	}
}
