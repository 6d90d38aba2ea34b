package ops_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// A read-only process starts no job: for each runtime kind, nothing is
// produced, committed or created on the clusters, as an independent client
// sees them.
func TestReadOnlyStartsNoJob(t *testing.T) {
	for _, kind := range []string{"connector", "mirror", "stream"} {
		t.Run(kind, func(t *testing.T) {
			a := kafkatest.New(t, kafkatest.Name("a"))
			b := kafkatest.New(t, kafkatest.Name("b"))
			a.CreateTopic(t, "orders", 2)
			var recs []*kgo.Record
			for i, cust := range []string{"ann", "bob", "ann", "cid", "ann"} {
				v, _ := json.Marshal(map[string]any{"customer": cust, "amount": i + 1})
				recs = append(recs, &kgo.Record{Topic: "orders", Key: []byte(cust), Value: v})
			}
			a.Produce(t, recs...)
			dir := t.TempDir()
			cfg := &config.Config{Clusters: map[string]*config.Cluster{"a": a.Config(), "b": b.Config()}, Ops: config.Ops{DataDir: dir, ReadOnly: true}}
			switch kind {
			case "connector":
				in := filepath.Join(dir, "in.log")
				if err := os.WriteFile(in, []byte("one\ntwo\nthree\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				cfg.Connectors = []config.Job{{Table: map[string]any{"name": "logs", "class": "file-source", "cluster": "a", "path": in, "topic": "logs"}}}
			case "mirror":
				cfg.Mirrors = []config.Job{{Table: map[string]any{"name": "ab", "source": "a", "target": "b", "topics": []any{"orders"}, "commit_interval": "100ms"}}}
			case "stream":
				a.CreateTopic(t, "totals", 1) // the job's output must exist
				st := streamTable()
				st["cluster"] = "a"
				cfg.Streams = []config.Job{{Table: st}}
			}
			l := hostJobs(t, cfg)
			if !l.Info().ReadOnly {
				t.Fatal("the Local is not read-only")
			}
			js, err := l.Jobs(ctx(t))
			if err != nil || len(js) != 1 || js[0].State != ops.StateUnassigned {
				t.Fatalf("jobs of a read-only process: %+v, %v; want one UNASSIGNED", js, err)
			}
			// Nothing may appear for a while (the deterministic check is
			// the state above; this one watches the clusters).
			deadline := time.Now().Add(1500 * time.Millisecond)
			for time.Now().Before(deadline) {
				assertUntouched(t, a, b)
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

// assertUntouched fails when a holds anything but the five records of
// orders (and an empty totals), or b holds any topic, or either has a group.
func assertUntouched(t *testing.T, a, b *kafkatest.Cluster) {
	t.Helper()
	for _, c := range []*kafkatest.Cluster{a, b} {
		adm := c.Admin(t)
		td, err := adm.ListTopics(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range td.Names() {
			if c != a || (name != "orders" && name != "totals") {
				t.Fatalf("cluster %s has topic %q: a read-only process created it", c.Name(), name)
			}
		}
		gs, err := adm.ListGroups(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(gs) > 0 {
			t.Fatalf("cluster %s has groups %v: a read-only process committed", c.Name(), gs.Groups())
		}
	}
	ends, err := a.Admin(t).ListEndOffsets(ctx(t), "orders", "totals")
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int64{}
	ends.Each(func(o kadm.ListedOffset) { n[o.Topic] += o.Offset })
	if n["orders"] != 5 || n["totals"] != 0 {
		t.Fatalf("orders holds %d records and totals %d, want the 5 produced before and none", n["orders"], n["totals"])
	}
}
