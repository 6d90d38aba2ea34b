package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// cli runs kdeck against one cluster with its own data dir.
type cli struct {
	t   *testing.T
	cfg string
	c   *kafkatest.Cluster
}

func newCLI(t *testing.T, extra string) *cli {
	t.Helper()
	c := kafkatest.New(t)
	c.CreateTopic(t, "orders", 3)
	c.ProduceN(t, "orders", 300)
	c.Commit(t, "billing", map[string]map[int32]int64{"orders": {0: 10, 1: 50, 2: 90}})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kdeck.toml")
	toml := c.TOML() + "\n[ops]\ndata_dir = " + strconvQuote(filepath.Join(dir, "data")) + "\n" + extra
	if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	return &cli{t: t, cfg: cfg, c: c}
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// run returns the exit code, stdout and stderr.
func (k *cli) run(args ...string) (int, string, string) {
	k.t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := run(ctx, append([]string{"--config", k.cfg}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func (k *cli) committed(topic string, p int32) int64 {
	k.t.Helper()
	v, ok := k.c.Committed(k.t, "billing")[topic][p]
	if !ok {
		return -1
	}
	return v
}

var auditID = regexp.MustCompile(`Audit entry (\S+);`)

func TestOffsetsResetDryRunExecuteAndUndo(t *testing.T) {
	k := newCLI(t, "")
	code, out, errOut := k.run("offsets", "reset", "billing", "--topic", "orders", "--to-earliest")
	if code != 0 {
		t.Fatalf("dry run exit %d: %s", code, errOut)
	}
	for _, want := range []string{"TOPIC", "CURRENT", "NEW", "DELTA", "RE-READ", "SKIPPED", "NOTE", "orders", "-90", "Total: 3 partition(s), 3 changed, 150 record(s) re-read, 0 skipped", "Dry run: nothing changed"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if k.committed("orders", 2) != 90 {
		t.Fatal("a dry run changed offsets")
	}
	code, out, _ = k.run("-o", "json", "offsets", "reset", "billing", "--topic", "orders:1", "--to-offset", "7", "--dry-run")
	var p ops.Plan
	if code != 0 || json.Unmarshal([]byte(out), &p) != nil || len(p.Rows) != 1 || p.Rows[0].New != 7 || p.Rows[0].Current != 50 {
		t.Fatalf("json plan (exit %d): %s", code, out)
	}

	code, out, errOut = k.run("offsets", "reset", "billing", "--all-topics", "--shift-by", "-5", "--execute")
	if code != 0 {
		t.Fatalf("execute exit %d: %s", code, errOut)
	}
	m := auditID.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no audit id in: %s", out)
	}
	if k.committed("orders", 0) != 5 || k.committed("orders", 1) != 45 || k.committed("orders", 2) != 85 {
		t.Fatalf("after execute: %v", k.c.Committed(t, "billing"))
	}
	code, out, _ = k.run("audit", "show", m[1])
	if code != 0 || !strings.Contains(out, "offsets.reset") || !strings.Contains(out, "--shift-by=-5") || !strings.Contains(out, "BEFORE") {
		t.Errorf("audit show (exit %d):\n%s", code, out)
	}
	code, out, _ = k.run("-o", "json", "audit", "--group", "billing", "--since", "1h")
	var es []ops.AuditEntry
	if code != 0 || json.Unmarshal([]byte(out), &es) != nil || len(es) != 1 || es[0].ID != m[1] {
		t.Errorf("audit list (exit %d): %s", code, out)
	}
	if code, out, _ = k.run("-o", "json", "audit", "list", "--group", "else"); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("audit list of another group: %s", out)
	}

	code, out, errOut = k.run("offsets", "undo", m[1])
	if code != 0 || !strings.Contains(out, "reverting audit entry "+m[1]) || k.committed("orders", 0) != 5 {
		t.Fatalf("undo dry run (exit %d): %s %s", code, out, errOut)
	}
	code, _, errOut = k.run("offsets", "undo", m[1], "--execute")
	if code != 0 {
		t.Fatalf("undo exit %d: %s", code, errOut)
	}
	if k.committed("orders", 0) != 10 || k.committed("orders", 1) != 50 || k.committed("orders", 2) != 90 {
		t.Errorf("after undo: %v", k.c.Committed(t, "billing"))
	}
	code, _, errOut = k.run("offsets", "undo", m[1], "--execute")
	if code != exitRefused || !strings.Contains(errOut, "changed since audit entry") {
		t.Errorf("second undo: exit %d, %s", code, errOut)
	}
}

func TestOffsetsResetBadInput(t *testing.T) {
	k := newCLI(t, "")
	bad := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(bad, []byte("orders,0,1\norders,1,x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no mode", []string{"--topic", "orders"}, exitUsage, "no reset mode given"},
		{"two modes", []string{"--topic", "orders", "--to-earliest", "--to-latest"}, exitUsage, "--to-earliest and --to-latest are two modes"},
		{"dry-run and execute", []string{"--topic", "orders", "--to-earliest", "--dry-run", "--execute"}, exitUsage, "--dry-run and --execute exclude each other"},
		{"no topics", []string{"--to-earliest"}, exitUsage, "no topics given"},
		{"bad time", []string{"--topic", "orders", "--to-datetime", "yesterday-ish"}, exitUsage, `"yesterday-ish" is not a time`},
		{"bad duration", []string{"--topic", "orders", "--by-duration", "P1Y"}, exitUsage, "not an ISO 8601 duration"},
		{"offset not a number", []string{"--topic", "orders", "--to-offset", "ten"}, exitUsage, `--to-offset "ten" is not an offset`},
		{"shift not a number", []string{"--topic", "orders", "--shift-by", "1.5"}, exitUsage, `--shift-by "1.5" is not a number`},
		{"bad partition spec", []string{"--topic", "orders:a", "--to-earliest"}, exitUsage, `partition "a" is not a partition number`},
		{"unknown topic", []string{"--topic", "nope", "--to-earliest"}, exitUsage, `topic "nope" does not exist`},
		{"unknown partition", []string{"--topic", "orders:9", "--to-earliest"}, exitUsage, `topic "orders" has no partition 9`},
		{"bad CSV row names the line", []string{"--from-file", bad}, exitUsage, `bad.csv line 2: offset "x" is not an offset`},
		{"missing CSV", []string{"--from-file", bad + ".nope"}, exitUsage, "cannot read --from-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := k.run(append([]string{"offsets", "reset", "billing"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.msg) {
				t.Errorf("exit %d (want %d), stderr %q (want %q), stdout %q", code, tt.code, errOut, tt.msg, out)
			}
			if strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Errorf("error is not one line: %q", errOut)
			}
		})
	}
	if k.committed("orders", 0) != 10 || k.committed("orders", 1) != 50 {
		t.Errorf("bad input changed offsets: %v", k.c.Committed(t, "billing"))
	}
}

func TestOffsetsRefusals(t *testing.T) {
	k := newCLI(t, "")
	k.c.ActiveMember(t, "live", false, "orders")
	code, _, errOut := k.run("offsets", "reset", "live", "--topic", "orders", "--to-earliest", "--execute")
	if code != exitRefused || !strings.Contains(errOut, "active member") || !strings.Contains(errOut, "kafkatest-member") || !strings.Contains(errOut, "host ") {
		t.Errorf("active group: exit %d, %s", code, errOut)
	}
	code, _, errOut = k.run("groups", "delete", "live")
	if code != exitRefused {
		t.Errorf("delete of active group: exit %d, %s", code, errOut)
	}
	code, _, errOut = k.run("--read-only", "offsets", "reset", "billing", "--topic", "orders", "--to-earliest", "--execute")
	if code != exitRefused || !strings.Contains(errOut, "read-only") {
		t.Errorf("read-only: exit %d, %s", code, errOut)
	}
	if code, _, _ = k.run("--read-only", "offsets", "reset", "billing", "--topic", "orders", "--to-earliest"); code != 0 {
		t.Errorf("read-only dry run: exit %d", code)
	}
	// 'topics create' has its own --config (topic configs), which shadows
	// the global one: point at the file through $KDECK_CONFIG instead.
	t.Setenv("KDECK_CONFIG", k.cfg)
	var out0, err0 bytes.Buffer
	if code := run(context.Background(), []string{"topics", "create", "fresh", "--partitions", "1"}, strings.NewReader(""), &out0, &err0); code != 0 {
		t.Fatalf("topics create: %d %s", code, err0.String())
	}
	_, out, _ := k.run("-o", "json", "audit", "--action", "topics")
	var es []ops.AuditEntry
	if json.Unmarshal([]byte(out), &es) != nil || len(es) != 1 {
		t.Fatalf("audit: %s", out)
	}
	code, _, errOut = k.run("offsets", "undo", es[0].ID)
	if code != exitRefused || !strings.Contains(errOut, "not an offsets change") {
		t.Errorf("undo of topics.create: exit %d, %s", code, errOut)
	}
	if k.committed("orders", 0) != 10 {
		t.Error("a refusal changed offsets")
	}
}

func TestOffsetsExportImportRoundTrip(t *testing.T) {
	k := newCLI(t, "")
	plan := filepath.Join(t.TempDir(), "plan.csv")
	code, _, errOut := k.run("offsets", "reset", "billing", "--topic", "orders:0,2", "--to-offset", "20", "--export", plan)
	if code != 0 {
		t.Fatalf("export exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(plan)
	if err != nil || string(b) != "orders,0,20\norders,2,20\n" {
		t.Fatalf("exported %q, %v; want kafka-consumer-groups' topic,partition,offset", b, err)
	}
	code, out, errOut := k.run("offsets", "reset", "billing", "--from-file", plan, "--execute")
	if code != 0 || !strings.Contains(out, "Executed: 2 offset(s) changed") {
		t.Fatalf("import exit %d: %s %s", code, out, errOut)
	}
	if k.committed("orders", 0) != 20 || k.committed("orders", 1) != 50 || k.committed("orders", 2) != 20 {
		t.Errorf("after import: %v", k.c.Committed(t, "billing"))
	}
}

func TestReplayAsNewGroupCLI(t *testing.T) {
	k := newCLI(t, "")
	code, out, errOut := k.run("-o", "json", "replay", "billing", "--from", "1h", "--as", "billing-v2", "--execute")
	if code != 0 {
		t.Fatalf("replay exit %d: %s", code, errOut)
	}
	var res struct {
		Plan       ops.Plan       `json:"plan"`
		Executed   bool           `json:"executed"`
		AuditEntry ops.AuditEntry `json:"audit_entry"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || !res.Executed || res.Plan.Group != "billing-v2" || res.Plan.SourceGroup != "billing" || res.Plan.Instant == nil {
		t.Fatalf("replay json: %s", out)
	}
	if got := k.c.Committed(t, "billing-v2")["orders"]; len(got) != 3 || got[0] != 0 {
		t.Errorf("billing-v2 = %v", got)
	}
	if k.committed("orders", 0) != 10 {
		t.Error("replay --as touched the original group")
	}
	if code, _, errOut = k.run("replay", "billing", "--from", "tomorrow"); code != exitUsage || !strings.Contains(errOut, "--from") {
		t.Errorf("bad --from: exit %d, %s", code, errOut)
	}
}

func TestDeleteCommandsCLI(t *testing.T) {
	k := newCLI(t, "")
	code, out, _ := k.run("offsets", "delete", "billing", "--topic", "orders:1")
	if code != 0 || !strings.Contains(out, "commit deleted") || k.committed("orders", 1) != 50 {
		t.Fatalf("delete preview (exit %d): %s", code, out)
	}
	if code, _, errOut := k.run("offsets", "delete", "billing"); code != exitUsage || !strings.Contains(errOut, "no topics given") {
		t.Errorf("delete without --topic: %d %s", code, errOut)
	}
	if code, _, errOut := k.run("offsets", "delete", "billing", "--topic", "orders:1", "--execute"); code != 0 {
		t.Fatalf("delete offsets: %d %s", code, errOut)
	}
	if k.committed("orders", 1) != -1 || k.committed("orders", 0) != 10 {
		t.Errorf("after delete offsets: %v", k.c.Committed(t, "billing"))
	}
	code, out, errOut := k.run("groups", "delete", "billing", "--execute")
	if code != 0 {
		t.Fatalf("groups delete: %d %s", code, errOut)
	}
	m := auditID.FindStringSubmatch(out)
	if code, _, _ := k.run("groups", "describe", "billing"); code != exitUsage { // not found: usage (README exit codes)
		t.Errorf("describe of a deleted group: exit %d", code)
	}
	if code, _, errOut := k.run("offsets", "undo", m[1], "--execute"); code != 0 {
		t.Fatalf("undo of groups delete: %d %s", code, errOut)
	}
	if k.committed("orders", 0) != 10 || k.committed("orders", 2) != 90 {
		t.Errorf("after undo of delete: %v", k.c.Committed(t, "billing"))
	}
}

func TestHealthAndWatchCLI(t *testing.T) {
	k := newCLI(t, "")
	code, out, _ := k.run("health")
	if code != 0 || strings.TrimSpace(out) != "OK" {
		t.Errorf("health without samples: exit %d, %q", code, out)
	}
	code, out, errOut := k.run("health", "--sample", "200ms")
	if code != exitError || !strings.Contains(out, `group "billing" on cluster "local" is STOP`) || !strings.Contains(errOut, "unhealthy") {
		t.Errorf("health with samples: exit %d, %q, %q", code, out, errOut)
	}
	code, out, _ = k.run("groups", "describe", "billing", "--watch", "300ms")
	if code != 0 || !strings.Contains(out, "Status: STOP") || !strings.Contains(out, "STATUS") {
		t.Errorf("describe --watch: exit %d\n%s", code, out)
	}
	if code, _, _ = k.run("groups", "describe", "billing", "--watch", "soon"); code != exitUsage {
		t.Errorf("bad --watch: exit %d", code)
	}
}
