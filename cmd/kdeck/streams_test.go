package main

import (
	"encoding/json"
	"strings"
	"testing"
)

const streamsTOML = `
[[streams]]
name = "per-customer"
inputs = ["orders"]
key = "value.customer"
aggregate = { op = "count" }
output = "orders"
`

func TestStreamsCommands(t *testing.T) {
	k := newCLI(t, streamsTOML)
	code, out, errs := k.run("streams", "list")
	if code != 0 || !strings.Contains(out, "per-customer") || !strings.Contains(out, "UNASSIGNED") {
		t.Fatalf("streams list: %d %q %q", code, out, errs)
	}
	code, out, errs = k.run("streams", "reset", "per-customer", "-o", "json")
	if code != 0 {
		t.Fatalf("streams reset (dry run): %d %q %q", code, out, errs)
	}
	var res struct {
		Plan struct {
			Group   string `json:"group"`
			Offsets struct {
				Rows []struct {
					Topic string `json:"topic"`
				} `json:"rows"`
			} `json:"offsets"`
		} `json:"plan"`
		Executed bool `json:"executed"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Executed || res.Plan.Group != "per-customer" || len(res.Plan.Offsets.Rows) != 3 {
		t.Fatalf("reset plan %s: %+v, %v", out, res, err)
	}
	code, _, errs = k.run("streams", "query", "per-customer", "--key", "x")
	if code != 3 || !strings.Contains(errs, "not running in this process") {
		t.Fatalf("query of a job not hosted here: %d %q", code, errs)
	}
	code, _, errs = k.run("streams", "query", "per-customer")
	if code != 2 {
		t.Fatalf("query without a mode: exit %d %q, want 2", code, errs)
	}
}

func TestConfigValidateStreams(t *testing.T) {
	k := newCLI(t, strings.Replace(streamsTOML, `op = "count"`, `op = "avg"`, 1))
	code, _, errs := k.run("config", "validate")
	if code == 0 || !strings.Contains(errs, `aggregate.op: "avg" is unknown`) {
		t.Fatalf("config validate: %d %q", code, errs)
	}
}
