package mirror

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kdeck/kdeck/jobstate"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// refuseProduce makes the cluster refuse produce requests to topic with a
// retriable error until the returned handle is removed.
func refuseProduce(t *testing.T, c *kafkatest.Cluster, topic string) *kfake.FaultHandle {
	c.NeedsFake(t)
	return c.Fake.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: topic, Err: kerr.NotEnoughReplicas, Count: -1})
}

// seqOf parses the i of a "p-i" value.
func seqOf(t *testing.T, r *kgo.Record) int {
	t.Helper()
	_, i, ok := strings.Cut(string(r.Value), "-")
	n, err := strconv.Atoi(i)
	if !ok || err != nil {
		t.Fatalf("unexpected value %q", r.Value)
	}
	return n
}

// checkOrder fails if a partition's sequence goes backwards other than by
// replaying (a restart re-sending from its last commit), and returns the
// records per partition.
func checkOrder(t *testing.T, recs []*kgo.Record) map[int32][]int {
	t.Helper()
	per := map[int32][]int{}
	for _, r := range recs {
		per[r.Partition] = append(per[r.Partition], seqOf(t, r))
	}
	for p, seq := range per {
		for i := 1; i < len(seq); i++ {
			if seq[i] != seq[i-1]+1 && seq[i] > seq[i-1] {
				t.Fatalf("partition %d: %d follows %d: a record was skipped or reordered", p, seq[i], seq[i-1])
			}
		}
	}
	return per
}

// TestTargetRefusesProduceForAWhile: the flow retries, catches up, loses
// nothing and keeps each partition's order.
func TestTargetRefusesProduceForAWhile(t *testing.T) {
	a := kafkatest.New(t, kafkatest.Name("a"))
	b := kafkatest.New(t, kafkatest.Name("b"))
	b.NeedsFake(t) // before any flow runs: a skip must not leave one behind
	a.CreateTopic(t, "t", 2)
	produceSeq(t, a, "t", 2, 0, 50)
	m := start(t, fast("ab", "a", "b"), a, b)
	waitCount(t, b, "a.t", 100)

	h := refuseProduce(t, b, "a.t")
	produceSeq(t, a, "t", 2, 50, 150)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.Wait(ctx, 10); err != nil {
		t.Fatalf("the target refused fewer than 10 produce requests: %v", err)
	}
	h.Remove()
	waitCount(t, b, "a.t", 400)
	got := b.ReadToEnd(t, "a.t")
	if len(got) != 400 {
		t.Fatalf("target has %d records, want exactly 400 (no loss, no duplicates)", len(got))
	}
	per := checkOrder(t, got)
	for p, seq := range per {
		for i, v := range seq {
			if v != i {
				t.Fatalf("partition %d position %d holds %d", p, i, v)
			}
		}
	}
	if st := m.f.Status(); st.State != jobstate.Running {
		t.Fatalf("state %s after the target recovered", st.State)
	}
}

// TestTargetDownPastRetryBudget: the flow FAILS with the reason, commits
// nothing past the last acknowledged record, and a restart loses nothing.
func TestTargetDownPastRetryBudget(t *testing.T) {
	a := kafkatest.New(t, kafkatest.Name("a"))
	b := kafkatest.New(t, kafkatest.Name("b"))
	b.NeedsFake(t) // before any flow runs: a skip must not leave one behind
	a.CreateTopic(t, "t", 2)
	produceSeq(t, a, "t", 2, 0, 20)
	cfg := fast("ab", "a", "b")
	cfg.Exclude = []string{HeartbeatTopic}
	cfg.Producer.DeliveryTimeout = time.Second
	f, err := New(cfg, opts(a), opts(b), testLogger())
	if err != nil {
		t.Fatal(err)
	}
	done := runAsync(t, f)
	waitCount(t, b, "a.t", 40)

	h := refuseProduce(t, b, "a.t")
	produceSeq(t, a, "t", 2, 20, 80)
	var runErr error
	select {
	case runErr = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the flow did not fail within 30s of the target refusing everything")
	}
	if !errors.Is(runErr, ErrDeliveryFailed) {
		t.Fatalf("Run returned %v, want ErrDeliveryFailed", runErr)
	}
	st := f.Status()
	if st.State != jobstate.Failed || !strings.Contains(st.LastError, "did not acknowledge") || st.LastErrorAt.IsZero() {
		t.Fatalf("status after failure: %+v", st)
	}
	h.Remove()
	// Committed progress is not past what the target holds.
	inTarget := map[int32]int64{}
	for _, r := range b.ReadToEnd(t, "a.t") {
		inTarget[r.Partition]++
	}
	for p, off := range committed(t, a, "kdeck-mirror-ab")["t"] {
		if off > inTarget[p] {
			t.Fatalf("partition %d: committed %d but the target acknowledged only %d records", p, off, inTarget[p])
		}
	}
	// A restart resumes from the last commit and loses nothing.
	m := start(t, cfg, a, b)
	waitCount(t, b, "a.t", 200)
	kafkatest.WaitFor(t, 10*time.Second, "caught up", func() bool { return caughtUp(m.f) })
	dups := checkSameRecords(t, a.ReadToEnd(t, "t"), b.ReadToEnd(t, "a.t"))
	checkOrder(t, b.ReadToEnd(t, "a.t"))
	t.Logf("duplicates after restart: %d", dups)
}

// TestBufferOverrun: a producer buffer that stays full fails the flow.
func TestBufferOverrun(t *testing.T) {
	a := kafkatest.New(t, kafkatest.Name("a"))
	b := kafkatest.New(t, kafkatest.Name("b"))
	b.NeedsFake(t) // before any flow runs: a skip must not leave one behind
	a.CreateTopic(t, "t", 1)
	cfg := fast("ab", "a", "b")
	cfg.Exclude = []string{HeartbeatTopic}
	cfg.Producer.MaxBufferedRecords = 5
	cfg.Producer.BufferTimeout = 500 * time.Millisecond
	cfg.Producer.DeliveryTimeout = time.Hour
	f, err := New(cfg, opts(a), opts(b))
	if err != nil {
		t.Fatal(err)
	}
	h := refuseProduce(t, b, "a.t")
	defer h.Remove()
	produceSeq(t, a, "t", 1, 0, 50)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = f.Run(ctx)
	if !errors.Is(err, ErrBufferOverrun) {
		t.Fatalf("Run returned %v, want ErrBufferOverrun", err)
	}
	if c := committed(t, a, "kdeck-mirror-ab")["t"]; c[0] != 0 {
		t.Fatalf("committed %v after an overrun with nothing acknowledged", c)
	}
}

// TestTargetHangs: a target that holds produce requests without answering
// fails the flow once the retry budget passes, and nothing unacknowledged is
// committed.
func TestTargetHangs(t *testing.T) {
	a := kafkatest.New(t, kafkatest.Name("a"))
	b := kafkatest.New(t, kafkatest.Name("b"))
	b.NeedsFake(t) // before any flow runs: a skip must not leave one behind
	a.CreateTopic(t, "t", 1)
	produceSeq(t, a, "t", 1, 0, 10)
	cfg := fast("ab", "a", "b")
	cfg.Exclude = []string{HeartbeatTopic}
	cfg.Producer.DeliveryTimeout = 500 * time.Millisecond
	f, err := New(cfg, opts(a), opts(b))
	if err != nil {
		t.Fatal(err)
	}
	done := runAsync(t, f)
	waitCount(t, b, "a.t", 10)
	kafkatest.WaitFor(t, 10*time.Second, "progress committed", func() bool { return committed(t, a, "kdeck-mirror-ab")["t"][0] == 10 })
	b.DelayRequests(kmsg.Produce, 6*time.Second, 1000)
	produceSeq(t, a, "t", 1, 10, 10)
	select {
	case err := <-done:
		if !errors.Is(err, ErrDeliveryFailed) || !strings.Contains(err.Error(), "no acknowledgement") {
			t.Fatalf("Run returned %v, want ErrDeliveryFailed for a hung target", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the flow did not fail within 20s of the target hanging")
	}
	if c := committed(t, a, "kdeck-mirror-ab")["t"][0]; c != 10 {
		t.Fatalf("committed %d while the target acknowledged 10", c)
	}
}
