package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

func runKdeck(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestConnectCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kdeck.toml")
	os.WriteFile(cfg, []byte(`[clusters.local]
brokers = ["127.0.0.1:1"]

[ops]
data_dir = "`+dir+`"

[[connectors]]
name = "gen"
class = "datagen"
topic = "t"
`), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		out  string
		err  string
	}{
		{[]string{"connect", "list", "-o", "json"}, 0, `"state": "UNASSIGNED"`, ""},
		{[]string{"connect", "status", "gen"}, 0, "not hosted by this process", ""},
		{[]string{"connect", "status", "gne"}, 2, "", `did you mean "gen"?`},
		{[]string{"connect", "pause", "gen"}, 3, "", "this process hosts no jobs"},
		{[]string{"connect", "restart", "gen", "--task", "-2"}, 2, "", "--task -2"},
		{[]string{"connect", "plugins", "-o", "json"}, 0, `"class": "file-source"`, ""},
		{[]string{"connect", "plugins", "InsertField$Value"}, 0, "static_field", ""},
		{[]string{"connect", "plugins", "file-sorce"}, 2, "", `did you mean "file-source"?`},
		{[]string{"connect", "validate"}, 0, "1 connector(s) valid: gen", ""},
		{[]string{"config", "validate"}, 0, "is valid", ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := runKdeck(t, append([]string{"--config", cfg}, tc.args...)...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errOut, tc.err) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
		})
	}
	// Offsets: read, set, reset against a live cluster without a worker.
	c := kafkatest.New(t)
	os.WriteFile(cfg, []byte(c.TOML()+`
[ops]
data_dir = "`+dir+`"

[[connectors]]
name = "gen"
class = "datagen"
topic = "t"
`), 0o644)
	set := filepath.Join(dir, "offsets.json")
	os.WriteFile(set, []byte(`{"offsets": [{"partition": {"task": 0}, "offset": {"generated": 42}}]}`), 0o644)
	code, out, errOut := runKdeck(t, "--config", cfg, "connect", "offsets", "gen", "--set", set)
	if code != 0 || !strings.Contains(out, `"generated":42`) {
		t.Fatalf("offsets --set: %d %s %s", code, out, errOut)
	}
	var body struct {
		Offsets []map[string]map[string]any `json:"offsets"`
	}
	code, out, _ = runKdeck(t, "--config", cfg, "connect", "offsets", "gen", "-o", "json")
	if code != 0 || json.Unmarshal([]byte(out), &body) != nil || len(body.Offsets) != 1 || body.Offsets[0]["offset"]["generated"] != float64(42) {
		t.Fatalf("offsets -o json: %d %q", code, out)
	}
	code, out, errOut = runKdeck(t, "--config", cfg, "connect", "offsets", "gen", "-o", "json", "--reset")
	if code != 0 {
		t.Fatalf("offsets --reset: %d %s %s", code, out, errOut)
	}
	code, out, _ = runKdeck(t, "--config", cfg, "connect", "offsets", "gen", "-o", "json")
	if code != 0 || json.Unmarshal([]byte(out), &body) != nil || len(body.Offsets) != 0 {
		t.Fatalf("offsets after reset: %d %q", code, out)
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kdeck.toml")
	os.WriteFile(cfg, []byte(`[clusters.local]
brokers = ["127.0.0.1:1"]

[[connectors]]
name = "gen"
class = "datagen"
`), 0o644)
	code, _, errOut := runKdeck(t, "--config", cfg, "run")
	if code == 0 || !strings.Contains(errOut, cfg+":4: connectors[0].topic: missing") {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	os.WriteFile(cfg, []byte("[clusters.local]\nbrokers = [\"127.0.0.1:1\"]\n"), 0o644)
	code, _, errOut = runKdeck(t, "--config", cfg, "run")
	if code != 2 || !strings.Contains(errOut, "no jobs are configured") {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
}
