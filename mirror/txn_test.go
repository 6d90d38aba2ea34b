package mirror

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestExactlyOnce: a flow that fails mid-transaction leaves nothing visible
// to read_committed readers; the restart resumes from the progress stored in
// the target and every source record is seen exactly once.
func TestExactlyOnce(t *testing.T) {
	a := kafkatest.New(t, kafkatest.Name("a"))
	b := kafkatest.New(t, kafkatest.Name("b"))
	a.CreateTopic(t, "t", 3)
	produceSeq(t, a, "t", 3, 0, 100)
	cfg := fast("ab", "a", "b")
	cfg.ExactlyOnce = true
	cfg.Consumer.MaxPollRecords = 50
	m := start(t, cfg, a, b)
	kafkatest.WaitFor(t, 20*time.Second, "first 300 mirrored", func() bool { return caughtUp(m.f) })
	if err := m.stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}

	// The target refuses the next records for good: the transaction aborts.
	b.NeedsFake(t)
	h := b.Fake.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "a.t", Err: kerr.CorruptMessage, Count: -1})
	produceSeq(t, a, "t", 3, 100, 100)
	f, err := New(cfg, opts(a), opts(b))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.Run(ctx); !errors.Is(err, ErrDeliveryFailed) && !errors.Is(err, ErrTransaction) {
		t.Fatalf("Run with a refusing target returned %v", err)
	}
	h.Remove()
	if n := len(b.ReadToEnd(t, "a.t")); n != 300 {
		t.Fatalf("read_committed sees %d records after the abort, want 300", n)
	}

	m = start(t, cfg, a, b)
	produceSeq(t, a, "t", 3, 200, 100)
	kafkatest.WaitFor(t, 20*time.Second, "all mirrored", func() bool {
		st := m.f.Status()
		for _, p := range st.Partitions {
			if p.Topic == "t" && p.Position < 300 {
				return false
			}
		}
		return len(st.Partitions) > 0
	})
	dst := b.ReadToEnd(t, "a.t")
	if dups := checkSameRecords(t, a.ReadToEnd(t, "t"), dst); dups != 0 || len(dst) != 900 {
		t.Fatalf("%d records, %d duplicates; want 900 and 0", len(dst), dups)
	}
	checkOrder(t, dst)
}
