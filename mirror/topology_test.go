package mirror

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestActiveActive runs A→B and B→A together under both naming policies:
// every record exists once in each cluster and none loops.
func TestActiveActive(t *testing.T) {
	for _, naming := range []string{NamingPrefix, NamingIdentity} {
		t.Run(naming, func(t *testing.T) {
			a := kafkatest.New(t, kafkatest.Name("a"))
			b := kafkatest.New(t, kafkatest.Name("b"))
			a.CreateTopic(t, "orders", 2)
			b.CreateTopic(t, "orders", 2)
			ab, ba := fast("ab", "a", "b"), fast("ba", "b", "a")
			ab.Naming, ba.Naming = naming, naming
			ab.Exclude, ba.Exclude = []string{HeartbeatTopic}, []string{HeartbeatTopic}
			fab := start(t, ab, a, b)
			fba := start(t, ba, b, a)
			produceTagged(t, a, "orders", "from-a", 20)
			produceTagged(t, b, "orders", "from-b", 30)

			// Identity: both clusters' "orders" end with 50 records. Prefix:
			// orders has the local 20/30, the remote copy the other's.
			want := map[*kafkatest.Cluster]map[string]int{}
			if naming == NamingIdentity {
				want[a] = map[string]int{"orders": 50}
				want[b] = map[string]int{"orders": 50}
			} else {
				want[a] = map[string]int{"orders": 20, "b.orders": 30}
				want[b] = map[string]int{"orders": 30, "a.orders": 20}
			}
			for c, topics := range want {
				for topic, n := range topics {
					waitCount(t, c, topic, int64(n))
				}
			}
			// Let both flows go around once more: nothing may come back.
			kafkatest.WaitFor(t, 10*time.Second, "both flows caught up", func() bool {
				return caughtUp(fab.f) && caughtUp(fba.f)
			})
			for c, topics := range want {
				for topic, n := range topics {
					got := c.ReadToEnd(t, topic)
					seen := map[string]int{}
					for _, r := range got {
						seen[string(r.Value)]++
					}
					if len(got) != n {
						t.Fatalf("%s in %s has %d records, want %d", topic, c.Name(), len(got), n)
					}
					for v, k := range seen {
						if k != 1 {
							t.Fatalf("%s in %s holds %q %d times", topic, c.Name(), v, k)
						}
					}
				}
			}
			tds, _ := a.Admin(t).ListTopics(context.Background())
			if tds.Has("b.a.orders") || tds.Has("a.b.orders") {
				t.Fatalf("a cycle created %v", tds.Names())
			}
			if naming == NamingIdentity && (fab.f.Status().Skipped != 30 || fba.f.Status().Skipped != 20) {
				t.Fatalf("skipped %d and %d, want 30 and 20", fab.f.Status().Skipped, fba.f.Status().Skipped)
			}
		})
	}
}

func caughtUp(f *Flow) bool {
	st := f.Status()
	if len(st.Partitions) == 0 {
		return false
	}
	for _, p := range st.Partitions {
		if p.End < 0 || p.Position < p.End || p.Committed < p.Position {
			return false
		}
	}
	return true
}

func produceTagged(t *testing.T, c *kafkatest.Cluster, topic, tag string, n int) {
	t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Partition: int32(i % 2), Value: fmt.Appendf(nil, "%s-%d", tag, i)}
	}
	c.Produce(t, recs...)
}

// TestHubAndSpoke mirrors two regional clusters into a central one.
func TestHubAndSpoke(t *testing.T) {
	east := kafkatest.New(t, kafkatest.Name("east"))
	west := kafkatest.New(t, kafkatest.Name("west"))
	hub := kafkatest.New(t, kafkatest.Name("hub"))
	east.CreateTopic(t, "clicks", 2)
	west.CreateTopic(t, "clicks", 3)
	start(t, fast("east-hub", "east", "hub"), east, hub)
	start(t, fast("west-hub", "west", "hub"), west, hub)
	produceTagged(t, east, "clicks", "e", 10)
	produceSeq(t, west, "clicks", 3, 0, 4)
	waitCount(t, hub, "east.clicks", 10)
	waitCount(t, hub, "west.clicks", 12)
	if hub.Partitions(t, "east.clicks") != 2 || hub.Partitions(t, "west.clicks") != 3 {
		t.Fatal("remote topics do not have their source's partition counts")
	}
	// Aggregate consumers read both with one pattern.
	cl := hub.Client(t, kgo.ConsumeRegex(), kgo.ConsumeTopics(`(east|west)\.clicks`))
	n := 0
	kafkatest.WaitFor(t, 10*time.Second, "22 records by pattern", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		n += cl.PollFetches(ctx).NumRecords()
		return n == 22
	})
}

// TestActiveStandby mirrors a primary to a standby, translates a consumer
// group's offsets, and fails the group over: it resumes on the standby
// without skipping a record it had not consumed.
func TestActiveStandby(t *testing.T) {
	primary := kafkatest.New(t, kafkatest.Name("primary"))
	standby := kafkatest.New(t, kafkatest.Name("standby"))
	primary.CreateTopic(t, "payments", 2)
	produceSeq(t, primary, "payments", 2, 0, 500)
	cfg := fast("dr", "primary", "standby")
	cfg.Naming = NamingIdentity
	cfg.SyncGroupOffsets = true
	cfg.OffsetLagMax = 50
	m := start(t, cfg, primary, standby)
	waitCount(t, standby, "payments", 1000)
	// The billing group consumed 123 and 400 records in the primary.
	primary.Commit(t, "billing", map[string]map[int32]int64{"payments": {0: 123, 1: 400}})
	var tr Translation
	kafkatest.WaitFor(t, 15*time.Second, "checkpoints for billing", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		tr, err = Translate(ctx, m.f.Config(), opts(standby), "billing")
		return err == nil && len(tr.Offsets) == 2 && tr.Offsets[0].SourceOffset == 123 && tr.Offsets[1].SourceOffset == 400
	})
	// Caught-up flow: each translation is exact or re-reads fewer than
	// OffsetLagMax records, and never skips.
	standbyRecs := standby.ReadToEnd(t, "payments")
	for _, o := range tr.Offsets {
		firstUnconsumed := fmt.Sprintf("%d-%d", o.Partition, o.SourceOffset) // produceSeq wrote value p-i at offset i
		pos := int64(-1)
		for _, r := range standbyRecs {
			if r.Partition == o.Partition && string(r.Value) == firstUnconsumed {
				pos = r.Offset
			}
		}
		if pos < 0 {
			t.Fatalf("record %s missing in standby", firstUnconsumed)
		}
		if o.TargetOffset > pos {
			t.Fatalf("partition %d: translated to %d, past the first unconsumed record at %d (a skip)", o.Partition, o.TargetOffset, pos)
		}
		if pos-o.TargetOffset >= cfg.OffsetLagMax {
			t.Fatalf("partition %d: translated to %d, %d re-reads (bound %d)", o.Partition, o.TargetOffset, pos-o.TargetOffset, cfg.OffsetLagMax)
		}
	}
	// sync_group_offsets committed them to the inactive standby group.
	kafkatest.WaitFor(t, 10*time.Second, "standby group offsets", func() bool {
		c := committed(t, standby, "billing")["payments"]
		return c[0] == tr.Offsets[0].TargetOffset && c[1] == tr.Offsets[1].TargetOffset
	})
	// An active group in the standby is left alone.
	stop := standby.ActiveMember(t, "billing", false, "payments")
	primary.Commit(t, "billing", map[string]map[int32]int64{"payments": {0: 300, 1: 450}})
	kafkatest.WaitFor(t, 10*time.Second, "new checkpoint", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tr2, err := Translate(ctx, m.f.Config(), opts(standby), "billing")
		return err == nil && tr2.Offsets[0].SourceOffset == 300 && tr2.Members == 1
	})
	if c := committed(t, standby, "billing")["payments"]; c[0] != tr.Offsets[0].TargetOffset {
		t.Fatalf("offsets of an active standby group changed to %v", c)
	}
	stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := Translate(ctx, m.f.Config(), opts(standby), "nobody"); err == nil {
		t.Fatal("Translate of a group without checkpoints succeeded")
	}
}

// TestTranslationAfterRestart: a restarted flow reads its offset syncs back,
// so a group behind the restart point is still translated.
func TestTranslationAfterRestart(t *testing.T) {
	a := kafkatest.New(t, kafkatest.Name("a"))
	b := kafkatest.New(t, kafkatest.Name("b"))
	a.CreateTopic(t, "t", 1)
	produceSeq(t, a, "t", 1, 0, 300)
	cfg := fast("ab", "a", "b")
	cfg.OffsetLagMax = 50
	m := start(t, cfg, a, b)
	kafkatest.WaitFor(t, 10*time.Second, "caught up", func() bool { return caughtUp(m.f) })
	if err := m.stop(); err != nil {
		t.Fatal(err)
	}
	a.Commit(t, "late", map[string]map[int32]int64{"t": {0: 120}})
	m = start(t, cfg, a, b)
	kafkatest.WaitFor(t, 10*time.Second, "a checkpoint for late", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tr, err := Translate(ctx, m.f.Config(), opts(b), "late")
		if err != nil || len(tr.Offsets) != 1 {
			return false
		}
		if o := tr.Offsets[0].TargetOffset; o > 120 || o <= 120-cfg.OffsetLagMax {
			t.Fatalf("translated 120 to %d", o)
		}
		return true
	})
}
