package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

// result is one kdeck run.
type result struct {
	out, err string
	code     int
}

// kdeck runs the CLI in-process with an isolated environment.
func kdeck(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, args, strings.NewReader(stdin), &out, &errb)
	return result{out.String(), errb.String(), code}
}

// isolate gives the test an empty environment: no config, its own data dir.
func isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("KDECK_CONFIG", "")
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	return dir
}

func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "kdeck.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCLIInspection(t *testing.T) {
	isolate(t)
	c := kafkatest.New(t)
	c.CreateTopic(t, "orders", 3)
	c.ProduceN(t, "orders", 30)
	c.Commit(t, "billing", map[string]map[int32]int64{"orders": {0: 4, 1: 10, 2: 0}})
	b := c.Addr()

	r := kdeck(t, "", "-b", b, "clusters")
	if r.code != 0 || !strings.Contains(r.out, "local") || !strings.Contains(r.out, "yes") {
		t.Errorf("clusters: %+v", r)
	}
	r = kdeck(t, "", "-b", b, "clusters", "-o", "json")
	var cis []map[string]any
	if err := json.Unmarshal([]byte(r.out), &cis); err != nil || cis[0]["reachable"] != true {
		t.Errorf("clusters json: %v %s", err, r.out)
	}

	r = kdeck(t, "", "-b", b, "topics")
	if r.code != 0 || !strings.Contains(r.out, "orders") || !strings.Contains(r.out, "30") {
		t.Errorf("topics: %+v", r)
	}
	r = kdeck(t, "", "-b", b, "topics", "describe", "orders", "-o", "json")
	var td struct {
		Name       string
		Records    int64
		Partitions []struct {
			LogEndOffset int64 `json:"log_end_offset"`
		}
	}
	if err := json.Unmarshal([]byte(r.out), &td); err != nil || td.Records != 30 || len(td.Partitions) != 3 || td.Partitions[0].LogEndOffset != 10 {
		t.Errorf("describe json: %v %+v %s", err, td, r.out)
	}

	for _, args := range [][]string{{"groups"}, {"lag"}, {"groups", "list"}} {
		r = kdeck(t, "", append([]string{"-b", b}, args...)...)
		if r.code != 0 || !strings.Contains(r.out, "billing") || !strings.Contains(r.out, "16") {
			t.Errorf("%v: %+v", args, r)
		}
	}
	r = kdeck(t, "", "-b", b, "groups", "describe", "billing", "-o", "json")
	var gd struct {
		Lag     int64
		Offsets []struct {
			Partition int32
			Committed int64
			Lag       int64
		}
	}
	if err := json.Unmarshal([]byte(r.out), &gd); err != nil || gd.Lag != 16 || len(gd.Offsets) != 3 || gd.Offsets[0].Lag != 6 {
		t.Errorf("describe group json: %v %+v", err, gd)
	}
	r = kdeck(t, "", "-b", b, "groups", "describe", "billing")
	if !strings.Contains(r.out, "COMMITTED") || !strings.Contains(r.out, "Lag: 16") {
		t.Errorf("describe group table:\n%s", r.out)
	}
}

func TestCLITopicsMutations(t *testing.T) {
	isolate(t)
	c := kafkatest.New(t)
	b := c.Addr()
	r := kdeck(t, "", "-b", b, "topics", "create", "new", "--partitions", "4", "--replication-factor", "1", "--config", "retention.ms=60000")
	if r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	if got := c.Partitions(t, "new"); got != 4 {
		t.Errorf("partitions = %d", got)
	}
	r = kdeck(t, "", "-b", b, "topics", "create", "new", "--partitions", "4")
	if r.code != 2 || !strings.Contains(r.err, "already exists") {
		t.Errorf("duplicate: %+v", r)
	}
	r = kdeck(t, "", "-b", b, "topics", "create", "x", "--partitions", "-3")
	if r.code != 2 || !strings.Contains(r.err, "--partitions must be positive") {
		t.Errorf("negative partitions: %+v", r)
	}
	r = kdeck(t, "", "-b", b, "topics", "create", "x", "--config", "novalue")
	if r.code != 2 {
		t.Errorf("bad config flag: %+v", r)
	}
	r = kdeck(t, "", "-b", b, "--read-only", "topics", "delete", "new", "--execute")
	if r.code != 3 || !strings.Contains(r.err, "read-only") {
		t.Errorf("read-only delete: %+v", r)
	}
	// Without --execute, a preview: nothing is deleted (as groups delete).
	r = kdeck(t, "", "-b", b, "topics", "delete", "new")
	if r.code != 0 || !strings.Contains(r.out, "Would delete topic new: 4 partition(s)") || !strings.Contains(r.out, "--execute") {
		t.Errorf("delete preview: %+v", r)
	}
	if got := c.Partitions(t, "new"); got != 4 {
		t.Errorf("the preview deleted the topic (partitions = %d)", got)
	}
	r = kdeck(t, "", "-b", b, "topics", "delete", "new", "--execute")
	if r.code != 0 || !strings.Contains(r.out, "deleted topic new") {
		t.Errorf("delete: %+v", r)
	}
	// Deleting a missing topic and creating an existing one agree: usage (2).
	r = kdeck(t, "", "-b", b, "topics", "delete", "new", "--execute")
	if r.code != 2 || !strings.Contains(r.err, "not found") {
		t.Errorf("delete again: %+v", r)
	}
}

func TestCLIRecords(t *testing.T) {
	isolate(t)
	c := kafkatest.New(t)
	c.CreateTopic(t, "t", 2)
	b := c.Addr()
	r := kdeck(t, "k1:v1\nk2:v2\nnokey\nk1:v3\n", "-b", b, "produce", "t", "-K", ":")
	if r.code != 0 {
		t.Fatalf("produce: %+v", r)
	}
	r = kdeck(t, "", "-b", b, "tail", "t", "-o", "json")
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if r.code != 0 || len(lines) != 4 {
		t.Fatalf("tail json: %+v", r)
	}
	keys := map[string][]string{}
	for _, l := range lines {
		var rec recordJSON
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatal(err)
		}
		k := "<nil>"
		if rec.Key != nil {
			k = rec.Key.(string)
		}
		keys[k] = append(keys[k], rec.Value.(string))
	}
	if strings.Join(keys["k1"], ",") != "v1,v3" || keys["<nil>"][0] != "nokey" {
		t.Errorf("keys = %v", keys)
	}
	c.CreateTopic(t, "rr", 2)
	c.ProduceN(t, "rr", 10) // value-0..9, even ones on partition 0
	r = kdeck(t, "", "-b", b, "tail", "rr", "--from", "-1", "--format", "value")
	if r.out != "value-8\nvalue-9\n" && r.out != "value-9\nvalue-8\n" { // last record of each partition
		t.Errorf("tail -1: %q", r.out)
	}
	r = kdeck(t, "", "-b", b, "tail", "rr", "-n", "2", "--format", "value", "-p", "1", "--from", "2")
	if r.out != "value-5\nvalue-7\n" {
		t.Errorf("tail -n 2 -p 1 --from 2: %q", r.out)
	}
	r = kdeck(t, "", "-b", b, "tail", "t", "--from", "1h", "--format", "value")
	if strings.Count(r.out, "\n") != 4 {
		t.Errorf("tail from 1h ago: %q", r.out)
	}
	r = kdeck(t, "", "-b", b, "tail", "t", "--from", "2030-01-01T00:00:00Z", "--format", "value")
	if r.code != 0 || r.out != "" {
		t.Errorf("tail from the future: %+v", r)
	}
	for _, bad := range [][]string{
		{"tail", "t", "--from", "yesterday"},
		{"tail", "t", "-n", "-5"},
		{"tail", "t", "--format", "xml"},
		{"tail", "t", "-p", "9"},
		{"produce", "t", "-p", "9"},
		{"tail"},
	} {
		r = kdeck(t, "", append([]string{"-b", b}, bad...)...)
		if r.code != 2 || r.err == "" || strings.Contains(r.err, "goroutine") {
			t.Errorf("%v: %+v", bad, r)
		}
	}
	r = kdeck(t, "", "-b", b, "tail", "missing")
	if r.code != 2 || !strings.Contains(r.err, `topic "missing" not found`) {
		t.Errorf("unknown topic: %+v", r)
	}
}

func TestCLIBadInput(t *testing.T) {
	dir := isolate(t)
	// Unreachable brokers: a clear error naming the address, within seconds.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	start := time.Now()
	r := kdeck(t, "", "-b", addr, "topics")
	if r.code != 1 || !strings.Contains(r.err, addr) || strings.Count(strings.TrimSpace(r.err), "\n") != 0 {
		t.Errorf("unreachable: %+v", r)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("unreachable took %v", took)
	}
	// produce too: a sentence, before reading the input (it never ended).
	start = time.Now()
	r = kdeck(t, "x\n", "-b", addr, "produce", "t")
	if r.code != 1 || !strings.Contains(r.err, addr) || !strings.Contains(r.err, "connection refused") || strings.Count(strings.TrimSpace(r.err), "\n") != 0 {
		t.Errorf("produce to unreachable: %+v", r)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("produce to unreachable took %v", took)
	}
	// No config: default address, said on stderr.
	r = kdeck(t, "", "topics")
	if !strings.Contains(r.err, "no configuration found; using the cluster at 127.0.0.1:9092") {
		t.Errorf("default cluster note: %+v", r)
	}

	c := kafkatest.New(t)
	writeConfig(t, dir, c.TOML())
	r = kdeck(t, "", "-c", "prod", "topics")
	if r.code != 2 || !strings.Contains(r.err, `unknown cluster: "prod"`) {
		t.Errorf("unknown cluster: %+v", r)
	}
	r = kdeck(t, "", "groups", "describe", "ghost")
	if r.code != 2 || !strings.Contains(r.err, `group "ghost" not found on cluster "local"`) {
		t.Errorf("unknown group: %+v", r)
	}
	r = kdeck(t, "", "-o", "yaml", "topics")
	if r.code != 2 {
		t.Errorf("bad output: %+v", r)
	}
	r = kdeck(t, "", "topics", "--nope")
	if r.code != 2 || !strings.Contains(r.err, "unknown flag") {
		t.Errorf("unknown flag: %+v", r)
	}

	// Malformed TOML and unknown keys: file, line, key, all at once.
	writeConfig(t, dir, "[clusters.local]\nbrokerz = [\"h:1\"]\n[opps]\n")
	r = kdeck(t, "", "config", "validate")
	if r.code != 1 || !strings.Contains(r.err, `kdeck.toml:2: clusters.local.brokerz: unknown key; did you mean "brokers"?`) || !strings.Contains(r.err, "opps") {
		t.Errorf("unknown keys: %+v", r)
	}
	writeConfig(t, dir, "[clusters.local\n")
	r = kdeck(t, "", "topics")
	if r.code != 1 || !strings.Contains(r.err, "kdeck.toml:") {
		t.Errorf("malformed: %+v", r)
	}
	// SASL password env unset; unreadable TLS file.
	writeConfig(t, dir, c.TOML()+"[clusters.local.sasl]\nmechanism = \"SCRAM-SHA-512\"\nusername = \"u\"\npassword_env = \"KDECK_NO_SUCH_VAR\"\n")
	r = kdeck(t, "", "topics")
	if r.code == 0 || !strings.Contains(r.err, "KDECK_NO_SUCH_VAR is not set") {
		t.Errorf("sasl env: %+v", r)
	}
	writeConfig(t, dir, c.TOML()+"[clusters.local.tls]\nenabled = true\nca_file = \"/no/such/ca.pem\"\n")
	r = kdeck(t, "", "topics")
	if r.code == 0 || !strings.Contains(r.err, "/no/such/ca.pem") {
		t.Errorf("tls file: %+v", r)
	}
	// config show redacts.
	writeConfig(t, dir, c.TOML()+"[clusters.local.sasl]\nmechanism = \"PLAIN\"\nusername = \"u\"\npassword = \"hunter2\"\n")
	r = kdeck(t, "", "config", "show")
	if r.code != 0 || strings.Contains(r.out, "hunter2") || !strings.Contains(r.out, "<redacted>") {
		t.Errorf("config show: %+v", r)
	}
	r = kdeck(t, "", "config", "validate", "-o", "json")
	if r.code != 0 || !strings.Contains(r.out, `"valid": true`) {
		t.Errorf("validate: %+v", r)
	}
}

func TestCLIDevPortTakenAndVersion(t *testing.T) {
	isolate(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	r := kdeck(t, "", "dev", "--ephemeral", "--port", itoa(port))
	if r.code == 0 || !strings.Contains(r.err, "already in use") {
		t.Errorf("port taken: %+v", r)
	}
	r = kdeck(t, "", "version", "-o", "json")
	if r.code != 0 || !strings.Contains(r.out, `"go"`) {
		t.Errorf("version: %+v", r)
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		r = kdeck(t, "", "completion", sh)
		if r.code != 0 || len(r.out) < 100 {
			t.Errorf("completion %s: %d bytes, %+v", sh, len(r.out), r.err)
		}
	}
	r = kdeck(t, "", "completion", "tcsh")
	if r.code != 2 {
		t.Errorf("completion tcsh: %+v", r)
	}
}

func TestCLIDevServesAndPersists(t *testing.T) {
	dir := isolate(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addr := "127.0.0.1:" + itoa(port)
	data := filepath.Join(dir, "embedded")
	start := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		var out, errb bytes.Buffer
		go func() {
			defer close(done)
			run(ctx, []string{"dev", "--port", itoa(port), "--data-dir", data, "--no-demo"}, strings.NewReader(""), &out, &errb)
		}()
		kafkatest.WaitFor(t, 10*time.Second, "kdeck dev to listen", func() bool {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
		return func() { cancel(); <-done }
	}
	stop := start()
	if r := kdeck(t, "", "-b", addr, "topics", "create", "persisted", "-p", "1"); r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	if r := kdeck(t, "a\nb\nc\n", "-b", addr, "produce", "persisted"); r.code != 0 {
		t.Fatalf("produce: %+v", r)
	}
	stop()
	stop = start()
	defer stop()
	r := kdeck(t, "", "-b", addr, "tail", "persisted", "--format", "value")
	if r.out != "a\nb\nc\n" {
		t.Errorf("after restart: %+v", r)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestCLICompletionFromLiveCluster(t *testing.T) {
	isolate(t)
	c := kafkatest.New(t)
	c.CreateTopic(t, "orders", 1)
	c.Commit(t, "billing", map[string]map[int32]int64{"orders": {0: 0}})
	r := kdeck(t, "", "__complete", "-b", c.Addr(), "topics", "describe", "")
	if !strings.Contains(r.out, "orders") {
		t.Errorf("topic completion: %+v", r)
	}
	r = kdeck(t, "", "__complete", "-b", c.Addr(), "groups", "describe", "")
	if !strings.Contains(r.out, "billing") {
		t.Errorf("group completion: %+v", r)
	}
}
