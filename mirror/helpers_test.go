package mirror

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

// fast returns a config with short intervals for tests.
func fast(name, src, tgt string) Config {
	return Config{Name: name, Source: src, Target: tgt,
		RefreshInterval: 200 * time.Millisecond, CommitInterval: 100 * time.Millisecond,
		CheckpointInterval: 200 * time.Millisecond, HeartbeatInterval: 100 * time.Millisecond,
		ShutdownTimeout: 5 * time.Second}
}

func testLogger() Opt {
	if os.Getenv("MIRROR_TEST_LOG") == "" {
		return WithLogger(nil)
	}
	return WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

func opts(c *kafkatest.Cluster) []kgo.Opt {
	return []kgo.Opt{kgo.SeedBrokers(c.Addrs()...), kgo.RetryTimeout(5 * time.Second), kgo.MetadataMinAge(100 * time.Millisecond)}
}

// running is a flow running in a goroutine for one test.
type running struct {
	f    *Flow
	stop func() error
}

// start runs a flow until the returned stop is called (or the test ends).
func start(t *testing.T, cfg Config, src, tgt *kafkatest.Cluster) *running {
	t.Helper()
	f, err := New(cfg, opts(src), opts(tgt), testLogger())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return startFlow(t, f)
}

func startFlow(t *testing.T, f *Flow) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(60 * time.Second):
				err = fmt.Errorf("flow did not stop within 60s")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return &running{f: f, stop: stop}
}

// runAsync runs f in a goroutine owned by the test and returns the channel
// Run's result arrives on. When the test ends (also by a skip or a fatal
// failure) the run is canceled and awaited, so that no flow outlives its
// test and mirrors into the next test's clusters.
func runAsync(t *testing.T, f *Flow) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	exited := make(chan struct{})
	go func() { defer close(exited); done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(60 * time.Second):
			t.Errorf("flow %s did not stop within 60s of its test's end", f.cfg.Name)
		}
	})
	return done
}

// values returns "partition/key/value" strings of records, sorted.
func keyed(recs []*kgo.Record) map[string]int {
	out := map[string]int{}
	for _, r := range recs {
		out[fmt.Sprintf("%d/%s/%s", r.Partition, r.Key, r.Value)]++
	}
	return out
}

// produceSeq writes n records per partition with values "p-i" in order.
func produceSeq(t *testing.T, c *kafkatest.Cluster, topic string, parts int32, from, n int) {
	t.Helper()
	var recs []*kgo.Record
	for i := from; i < from+n; i++ {
		for p := range parts {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "%d-%d", p, i)})
		}
	}
	c.Produce(t, recs...)
}

// waitCount waits until topic in c holds at least n records.
func waitCount(t *testing.T, c *kafkatest.Cluster, topic string, n int64) {
	t.Helper()
	cl := c.Client(t, kgo.MetadataMinAge(50*time.Millisecond))
	adm := kadm.NewClient(cl)
	kafkatest.WaitFor(t, 30*time.Second, fmt.Sprintf("%d records in %s", n, topic), func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if tds, err := adm.ListTopics(ctx); err != nil || !tds.Has(topic) || tds[topic].Err != nil {
			return false
		}
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			return false
		}
		var sum int64
		ends.Each(func(o kadm.ListedOffset) {
			if o.Err == nil {
				sum += o.Offset
			}
		})
		return sum >= n
	})
}

// checkOrdered fails unless each partition's values "p-i" appear with i
// non-decreasing after deduplication of replays, and reports how many
// records are duplicates.
func checkSameRecords(t *testing.T, src, dst []*kgo.Record) (dups int) {
	t.Helper()
	want := keyed(src)
	got := keyed(dst)
	var missing []string
	for k := range want {
		if got[k] == 0 {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("%d of %d records missing in the target, first %v", len(missing), len(want), missing[:min(5, len(missing))])
	}
	for k, n := range got {
		if want[k] == 0 {
			t.Fatalf("target has record %s that the source does not", k)
		}
		dups += n - want[k]
	}
	return dups
}

// committed returns a group's committed offsets, empty while it has none.
func committed(t *testing.T, c *kafkatest.Cluster, group string) map[string]map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out := map[string]map[int32]int64{}
	resp, err := c.Admin(t).FetchOffsets(ctx, group)
	if err != nil {
		return out
	}
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Err == nil && o.At >= 0 {
			if out[o.Topic] == nil {
				out[o.Topic] = map[int32]int64{}
			}
			out[o.Topic][o.Partition] = o.At
		}
	})
	return out
}
