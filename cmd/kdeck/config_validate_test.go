package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

// badConfig has one problem of every kind 'config validate' reports:
// unknown keys in the file's own tables and in a connector, an unknown
// class, undefined clusters on a connector, a mirror and a stream job, a
// duplicate name within a kind and names shared across kinds.
const badConfig = `[clusters.local]
brokers = ["127.0.0.1:9092"]
dial_timout = "3s"
[ops]
lag_windw = "5m"

[[connectors]]
name = "j1"
class = "datagen"
topic = "x"
rat = 5
cluster = "nope"

[[connectors]]
name = "c2"
class = "file-sourc"

[[connectors]]
name = "c2"
class = "datagen"
topic = "y"

[[mirrors]]
name = "j1"
source = "local"
target = "drr"

[[streams]]
name = "j1"
cluster = "nowhere"
inputs = ["a"]
output = "b"
`

// TestCLIConfigValidateOnePass checks that one run reports every problem of
// a file (before, the file's unknown keys hid the job tables' problems, the
// connectors' hid the mirrors', and a name shared by a connector, a mirror
// and a stream job passed), and that -o json prints them.
func TestCLIConfigValidateOnePass(t *testing.T) {
	dir := isolate(t)
	writeConfig(t, dir, badConfig)
	want := []string{
		`kdeck.toml:3: clusters.local.dial_timout: unknown key; did you mean "dial_timeout"?`,
		`kdeck.toml:5: ops.lag_windw: unknown key; did you mean "lag_window"?`,
		`kdeck.toml:11: connectors[0].rat: unknown key; did you mean "rate"?`,
		`kdeck.toml:12: connectors[0].cluster: cluster "nope" is not defined`,
		`kdeck.toml:16: connectors[1].class: unknown connector class "file-sourc"; did you mean "file-source"?`,
		`kdeck.toml:19: connectors[2].name: "c2" is already the name of connectors[1]`,
		`kdeck.toml:24: mirrors[0].name: "j1" is already the name of connectors[0]`,
		`mirrors[0].target: cluster "drr" is not defined`,
		`streams[0].cluster: cluster "nowhere" is not defined`,
		`streams[0].name: "j1" is already the name of connectors[0]`,
	}
	r := kdeck(t, "", "config", "validate")
	if r.code != 1 || !strings.Contains(r.err, "10 problems in kdeck.toml") {
		t.Errorf("validate: code %d, stderr:\n%s", r.code, r.err)
	}
	for _, w := range want {
		if !strings.Contains(r.err, w) {
			t.Errorf("validate does not report %q; stderr:\n%s", w, r.err)
		}
	}
	// 'kdeck run' refuses the same file with the same list.
	r = kdeck(t, "", "run")
	if r.code != 1 || !strings.Contains(r.err, "10 problems") {
		t.Errorf("run: code %d, stderr:\n%s", r.code, r.err)
	}

	r = kdeck(t, "", "config", "validate", "-o", "json")
	var got struct {
		Path     string
		Valid    bool
		Problems []problemJSON
	}
	if err := json.Unmarshal([]byte(r.out), &got); err != nil {
		t.Fatalf("validate -o json printed no JSON (%v): %q / %q", err, r.out, r.err)
	}
	if r.code != 1 || got.Valid || len(got.Problems) != len(want) {
		t.Fatalf("validate -o json: code %d, %+v", r.code, got)
	}
	p := got.Problems[0]
	if p.File != "kdeck.toml" || p.Line != 3 || p.Key != "clusters.local.dial_timout" || p.Message != "unknown key" || p.Suggestion != "dial_timeout" {
		t.Errorf("first problem: %+v", p)
	}
	cls := got.Problems[4]
	if cls.Suggestion != "file-source" || strings.Contains(cls.Message, "did you mean") || !strings.Contains(cls.Message, "available:") {
		t.Errorf("class problem: %+v", cls)
	}

	// A valid file: the same shape, no problems.
	c := kafkatest.New(t)
	writeConfig(t, dir, c.TOML())
	r = kdeck(t, "", "config", "validate", "-o", "json")
	if err := json.Unmarshal([]byte(r.out), &got); err != nil || r.code != 0 || !got.Valid || got.Problems == nil || len(got.Problems) != 0 {
		t.Errorf("valid file: %v %+v %+v", err, r, got)
	}
}

// TestCLIConfigShowDefaults checks that 'config show' prints the values in
// effect, not zero values ("0s" and "" where 5m, 10s, ... apply).
func TestCLIConfigShowDefaults(t *testing.T) {
	dir := isolate(t)
	r := kdeck(t, "", "config", "show")
	for _, w := range []string{`lag_window = "5m"`, `lag_sample_interval = "10s"`, `refresh = "2s"`, `data_dir = "` + dir} {
		if !strings.Contains(r.out, w) {
			t.Errorf("config show without a file lacks %q:\n%s", w, r.out)
		}
	}
	writeConfig(t, dir, "[clusters.prod]\nbrokers = [\"k1:9092\"]\n[ops]\nlag_window = \"2m\"\n")
	r = kdeck(t, "", "config", "show")
	for _, w := range []string{`lag_window = "2m"`, `dial_timeout = "3s"`, `request_timeout = "10s"`, `client_id = "kdeck"`} {
		if !strings.Contains(r.out, w) {
			t.Errorf("config show lacks %q:\n%s", w, r.out)
		}
	}
	if strings.Contains(r.out, `"0s"`) {
		t.Errorf("config show prints a zero duration:\n%s", r.out)
	}
}

// TestCLIGroupsDescribeNoCommit checks a partition without a committed
// offset: null committed, lag and time lag in JSON, "-" in the table, as
// kafka-consumer-groups prints it (before: committed -1, lag 0).
func TestCLIGroupsDescribeNoCommit(t *testing.T) {
	isolate(t)
	c := kafkatest.New(t)
	c.CreateTopic(t, "orders", 2)
	c.ProduceN(t, "orders", 20)
	c.Commit(t, "half", map[string]map[int32]int64{"orders": {0: 3}})
	// A live member is assigned both partitions; it never commits, so
	// partition 1 has no committed offset.
	got := make(chan struct{}, 1)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.ConsumerGroup("half"), kgo.ConsumeTopics("orders"),
		kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) {
			select {
			case got <- struct{}{}:
			default:
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	polled := make(chan struct{})
	go func() { // owned here: stops with ctx, awaited below
		defer close(polled)
		for ctx.Err() == nil {
			cl.PollFetches(ctx)
		}
	}()
	defer func() { cancel(); <-polled }()
	select {
	case <-got:
	case <-ctx.Done():
		t.Fatal("the member never got its partitions")
	}
	r := kdeck(t, "", "-b", c.Addr(), "groups", "describe", "half", "-o", "json")
	var d struct {
		Offsets []map[string]any
	}
	if err := json.Unmarshal([]byte(r.out), &d); err != nil || r.code != 0 {
		t.Fatalf("describe: %v %+v", err, r)
	}
	if len(d.Offsets) != 2 {
		t.Fatalf("want both partitions: %s", r.out)
	}
	var sawCommitted, sawNull bool
	for _, o := range d.Offsets {
		if o["committed"] == nil {
			sawNull = true
			if o["lag"] != nil || o["time_lag_seconds"] != nil {
				t.Errorf("no commit but lag or time lag set: %v", o)
			}
		} else {
			sawCommitted = true
			if o["committed"].(float64) != 3 || o["lag"] == nil {
				t.Errorf("committed partition: %v", o)
			}
		}
	}
	if !sawCommitted || !sawNull {
		t.Errorf("want one committed partition and one with committed null: %s", r.out)
	}
	r = kdeck(t, "", "-b", c.Addr(), "groups", "describe", "half")
	for _, l := range strings.Split(r.out, "\n") {
		if f := strings.Fields(l); len(f) > 5 && f[0] == "orders" && f[1] == "1" {
			if f[2] != "-" || f[4] != "-" || f[5] != "-" {
				t.Errorf("table row without a commit: want - for committed, lag and time lag: %q", l)
			}
		}
	}
}
