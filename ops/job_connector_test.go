package ops_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

func TestConnectorJobLifecycleAndOffsets(t *testing.T) {
	c := kafkatest.New(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "in.log")
	var b strings.Builder
	for i := range 50 {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		Clusters: map[string]*config.Cluster{c.Name(): c.Config()},
		Ops:      config.Ops{DataDir: dir},
		Connectors: []config.Job{{Table: map[string]any{
			"name": "logs", "class": "file-source", "path": path, "topic": "logs",
			"offsets_topic": "connect-offsets", "offset_flush_interval": "50ms",
		}}},
	}
	l, err := ops.NewLocal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	// Without a worker: listed UNASSIGNED, verbs refused with a sentence.
	if _, err := l.JobAction(ctx, "logs", ops.ActionPause, ops.JobActionOptions{}); !errors.Is(err, ops.ErrNoWorker) || !strings.Contains(err.Error(), "kdeck run") {
		t.Fatalf("pause without worker = %v", err)
	}
	if err := l.StartJobs(ctx); err != nil {
		t.Fatal(err)
	}
	kafkatest.WaitFor(t, 20*time.Second, "all 50 lines acknowledged and saved", func() bool {
		offs, err := l.JobOffsets(ctx, "logs")
		return err == nil && len(offs) == 1 && fmt.Sprint(offs[0].Offset["position"]) == fmt.Sprint(b.Len())
	})
	js, err := l.Job(ctx, "logs")
	if err != nil || js.State != ops.StateRunning || len(js.Tasks) != 1 || js.Metrics.RecordsOut != 50 || js.Class != "file-source" {
		t.Fatalf("status = %+v, %v", js, err)
	}
	if _, err := l.AlterJobOffsets(ctx, "logs", ops.AlterOffsetsRequest{Reset: true}); !errors.Is(err, ops.ErrRefused) {
		t.Fatalf("reset while running = %v, want ErrRefused", err)
	}
	if _, err := l.JobAction(ctx, "logs", ops.ActionStop, ops.JobActionOptions{}); err != nil {
		t.Fatal(err)
	}
	e, err := l.AlterJobOffsets(ctx, "logs", ops.AlterOffsetsRequest{Reset: true})
	if err != nil || e.Action != "jobs.offsets.reset" || !strings.Contains(e.Details["offsets_before"], "position") {
		t.Fatalf("reset when stopped = %+v, %v", e, err)
	}
	if offs, _ := l.JobOffsets(ctx, "logs"); len(offs) != 0 {
		t.Fatalf("offsets after reset: %v", offs)
	}
	// Started again, it reads the file from the start.
	if _, err := l.JobAction(ctx, "logs", ops.ActionStart, ops.JobActionOptions{}); err != nil {
		t.Fatal(err)
	}
	kafkatest.WaitFor(t, 20*time.Second, "100 records after the reset", func() bool {
		td, err := l.DescribeTopic(ctx, "", "logs")
		if err != nil {
			return false
		}
		var n int64
		for _, p := range td.Partitions {
			n += p.LogEndOffset
		}
		return n == 100
	})
}

func TestValidateConnectorsNamesFileLineKey(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "kdeck.toml")
	os.WriteFile(p, []byte(`[clusters.local]
brokers = ["127.0.0.1:9092"]

[[connectors]]
name = "a"
class = "file-source"
path = "/tmp/x"
tasks_max = "two"

[[connectors]]
name = "a"
class = "datagen"
topic = "t"
rat = 5
`), 0o644)
	cfg, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	err = ops.ValidateConnectors(cfg, nil)
	var ce *config.Errors
	if !errors.As(err, &ce) {
		t.Fatalf("ValidateConnectors = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		p + ":4: connectors[0].topic: missing",
		p + ":8: connectors[0].tasks_max: must be an integer",
		p + ":11: connectors[1].name: \"a\" is already the name of connectors[0]",
		p + `:14: connectors[1].rat: unknown key; did you mean "rate"?`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("%s\ndoes not contain\n%s", msg, want)
		}
	}
}

func TestConnectorJobsBadConfigFailsAloneAndTaskRestart(t *testing.T) {
	c := kafkatest.New(t)
	dir := t.TempDir()
	cfg := &config.Config{
		Clusters: map[string]*config.Cluster{c.Name(): c.Config()},
		Ops:      config.Ops{DataDir: dir},
		Connectors: []config.Job{
			{Table: map[string]any{"name": "bad-expr", "class": "datagen", "topic": "x", "transforms": []any{map[string]any{"type": "filter", "expr": "value.n >"}}}},
			{Table: map[string]any{"name": "gen", "class": "datagen", "topic": "gen", "rate": 200.0, "tasks_max": int64(2), "offsets_topic": "offs"}},
		},
	}
	l := hostJobs(t, cfg)
	ctx := context.Background()
	kafkatest.WaitFor(t, 20*time.Second, "bad-expr FAILED, gen RUNNING", func() bool {
		b, _ := l.Job(ctx, "bad-expr")
		g, _ := l.Job(ctx, "gen")
		return b.State == ops.StateFailed && g.State == ops.StateRunning && len(g.Tasks) == 2
	})
	b, _ := l.Job(ctx, "bad-expr")
	if !strings.Contains(b.LastError, "does not compile") || b.LastErrorAt == nil {
		t.Errorf("bad-expr error %q", b.LastError)
	}
	one := 1
	e, err := l.JobAction(ctx, "gen", ops.ActionRestart, ops.JobActionOptions{Task: &one})
	if err != nil || e.Details["task"] != "1" {
		t.Fatalf("restart task 1: %+v %v", e, err)
	}
	seven := 7
	if _, err := l.JobAction(ctx, "gen", ops.ActionRestart, ops.JobActionOptions{Task: &seven}); err == nil {
		t.Fatal("restart of task 7 accepted")
	}
	kafkatest.WaitFor(t, 20*time.Second, "gen tasks running with output", func() bool {
		g, _ := l.Job(ctx, "gen")
		return g.State == ops.StateRunning && g.Tasks[1].State == ops.StateRunning && g.Metrics.RecordsOut > 0
	})
}

func TestEmbeddedDemoDatagenConnector(t *testing.T) {
	e, err := ops.StartEmbedded(context.Background(), ops.EmbeddedOptions{Port: 0, Demo: true, DemoRate: 100})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ops.NewLocal(&config.Config{Clusters: map[string]*config.Cluster{}, Ops: config.Ops{DataDir: t.TempDir()}}, ops.WithEmbedded(e))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	if err := l.StartJobs(ctx); err != nil {
		t.Fatal(err)
	}
	kafkatest.WaitFor(t, 20*time.Second, "the demo datagen connector producing", func() bool {
		j, err := l.Job(ctx, ops.DemoConnectorName)
		return err == nil && j.State == ops.StateRunning && j.Class == "datagen" && j.Metrics.RecordsOut > 10
	})
	offs, err := l.JobOffsets(ctx, ops.DemoConnectorName)
	if err != nil {
		t.Fatal(err)
	}
	kafkatest.WaitFor(t, 10*time.Second, "demo offsets saved in the data dir", func() bool {
		offs, err = l.JobOffsets(ctx, ops.DemoConnectorName)
		return err == nil && len(offs) == 1
	})
}

// FuzzValidateConnectors feeds connector tables to the validators: they
// must report problems, never panic.
func FuzzValidateConnectors(f *testing.F) {
	for _, s := range []string{
		"[[connectors]]\nname = \"a\"\nclass = \"file-source\"\npath = \"/x\"\ntopic = \"t\"\n",
		"[[connectors]]\nname = \"g\"\nclass = \"datagen\"\ntopic = \"t\"\nshape = { id = \"int:5:1\" }\ntransforms = [{ type = \"filter\", expr = \"value.x > \" }]\n",
		"[[connectors]]\nclass = 5\ntasks_max = -1\nrate = \"fast\"\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		cfg, err := config.Parse("fuzz.toml", []byte(text))
		if err != nil {
			return
		}
		_ = ops.ValidateConnectors(cfg, nil)
	})
}

// TestFileSourceRejectedLineFailsOnce: a line over the producer's limit
// under errors_tolerance = "none" fails the connector once: FAILED with the
// reason, no restart loop producing the earlier lines again (counted by an
// independent consumer).
func TestFileSourceRejectedLineFailsOnce(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "logs", 1)
	dir := t.TempDir()
	path := filepath.Join(dir, "in.log")
	var b strings.Builder
	for i := range 10 {
		if i == 5 {
			b.WriteString(strings.Repeat("x", 2<<20) + "\n")
			continue
		}
		fmt.Fprintf(&b, "line %d\n", i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		Clusters: map[string]*config.Cluster{c.Name(): c.Config()},
		Ops:      config.Ops{DataDir: dir},
		Connectors: []config.Job{{Table: map[string]any{
			"name": "logs", "class": "file-source", "path": path, "topic": "logs", "offset_flush_interval": "50ms",
		}}},
	}
	l := hostJobs(t, cfg)
	ctx := context.Background()
	kafkatest.WaitFor(t, 30*time.Second, "the supervisor gave the connector up", func() bool {
		_, err := l.JobAction(ctx, "logs", ops.ActionResume, ops.JobActionOptions{})
		return errors.Is(err, ops.ErrRefused)
	})
	js, _ := l.Job(ctx, "logs")
	if js.State != ops.StateFailed || !strings.Contains(js.LastError, "MESSAGE_TOO_LARGE") {
		t.Fatalf("state %s, last error %q; want FAILED with the rejection", js.State, js.LastError)
	}
	counts := c.ValueCounts(t, "logs")
	for v, n := range counts {
		if n > 1 {
			t.Errorf("%q written %d times: the connector was restarted into the same failure", v, n)
		}
	}
}
