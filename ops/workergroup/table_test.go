package workergroup_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/ops/workergroup"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestTableReadsItsWritesAndReopens: a Put is visible to its writer when
// Put returns and to a second table of the same topic soon after; a nil
// value deletes the key; a table opened later is Ready only with the whole
// topic read; the topic is compacted.
func TestTableReadsItsWritesAndReopens(t *testing.T) {
	c := kafkatest.New(t)
	opts := []kgo.Opt{kgo.SeedBrokers(c.Addrs()...)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func() *workergroup.Table {
		tb, err := workergroup.OpenTable(ctx, opts, workergroup.ConfigsTopic("t"), nil)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		rctx, rcancel := context.WithCancel(ctx)
		go func() { defer close(done); _ = tb.Run(rctx) }()
		t.Cleanup(func() { rcancel(); <-done })
		return tb
	}
	a, b := open(), open()
	for _, kv := range [][2]string{{"job-x", `{"kind":"connector"}`}, {"job-y", `{"kind":"mirror"}`}, {"target-state-x", `{"state":"PAUSED"}`}} {
		if err := a.Put(ctx, kv[0], []byte(kv[1])); err != nil {
			t.Fatal(err)
		}
		if v, ok := a.Get(kv[0]); !ok || string(v) != kv[1] {
			t.Fatalf("after Put(%s), the writer reads %q, %v", kv[0], v, ok)
		}
	}
	if err := a.Put(ctx, "job-y", nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Get("job-y"); ok {
		t.Fatal("job-y is still there after its tombstone")
	}
	kafkatest.WaitFor(t, 10*time.Second, "the second table to read the same", func() bool {
		_, y := b.Get("job-y")
		v, x := b.Get("target-state-x")
		return !y && x && string(v) == `{"state":"PAUSED"}`
	})
	late := open()
	select {
	case <-late.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("a table opened later never caught up")
	}
	if snap := late.Snapshot(); len(snap) != 2 || string(snap["job-x"]) != `{"kind":"connector"}` {
		t.Fatalf("the late table holds %v, want job-x and target-state-x", snap)
	}
	cfgs, err := kadm.NewClient(c.Client(t)).DescribeTopicConfigs(ctx, workergroup.ConfigsTopic("t"))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := cfgs.On(workergroup.ConfigsTopic("t"), nil)
	if err != nil {
		t.Fatal(err)
	}
	compact := false
	for _, cf := range rc.Configs {
		if cf.Key == "cleanup.policy" && cf.Value != nil && *cf.Value == "compact" {
			compact = true
		}
	}
	if !compact {
		t.Fatalf("%s is not compacted: %+v", workergroup.ConfigsTopic("t"), rc.Configs)
	}
}
