package mirror

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kdeck/kdeck/jobstate"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

func TestMirrorPreservesRecords(t *testing.T) {
	a := kafkatest.New(t, kafkatest.Name("a"))
	b := kafkatest.New(t, kafkatest.Name("b"))
	a.CreateTopic(t, "orders", 3)
	ts := time.UnixMilli(1_700_000_000_000)
	var recs []*kgo.Record
	for i := range 30 {
		recs = append(recs, &kgo.Record{Topic: "orders", Partition: int32(i % 3), Key: []byte{byte(i)}, Value: []byte{byte(i), 1},
			Timestamp: ts.Add(time.Duration(i) * time.Second), Headers: []kgo.RecordHeader{{Key: "h", Value: []byte{byte(i)}}}})
	}
	a.Produce(t, recs...)
	m := start(t, fast("ab", "a", "b"), a, b)
	waitCount(t, b, "a.orders", 30)
	if n := b.Partitions(t, "a.orders"); n != 3 {
		t.Fatalf("remote topic has %d partitions, want 3", n)
	}
	got := b.ReadToEnd(t, "a.orders")
	if len(got) != 30 {
		t.Fatalf("target has %d records, want 30", len(got))
	}
	for _, g := range got {
		i := int(g.Key[0])
		w := recs[i]
		if g.Partition != w.Partition || !bytes.Equal(g.Value, w.Value) || !g.Timestamp.Equal(w.Timestamp) ||
			len(g.Headers) != 1 || g.Headers[0].Key != "h" || g.Headers[0].Value[0] != byte(i) {
			t.Fatalf("record %d differs: got p%d %v %v %v", i, g.Partition, g.Value, g.Timestamp, g.Headers)
		}
	}
	kafkatest.WaitFor(t, 10*time.Second, "progress committed", func() bool {
		c := committed(t, a, "kdeck-mirror-ab")["orders"]
		return c[0] == 10 && c[1] == 10 && c[2] == 10
	})
	kafkatest.WaitFor(t, 10*time.Second, "heartbeat latency", func() bool {
		st := m.f.Status()
		return st.LatencyAt.After(time.Time{}) && st.Latency > 0
	})
	st := m.f.Status()
	if st.State != jobstate.Running || st.Records < 30 {
		t.Fatalf("status %+v", st)
	}
	for _, p := range st.Partitions {
		if p.Topic == "orders" && (p.Lag != 0 || p.Position != 10 || p.RemoteTopic != "a.orders") {
			t.Fatalf("partition status %+v", p)
		}
	}
	if err := m.stop(); err != nil {
		t.Fatalf("graceful stop returned %v", err)
	}
	if st := m.f.Status(); st.State != jobstate.Stopped {
		t.Fatalf("state after stop %s", st.State)
	}
}

func TestMirrorNaming(t *testing.T) {
	for _, tc := range []struct {
		name, naming, sep, remote string
		origin                    bool
	}{
		{"prefix-default", "", "", "a.t", false},
		{"prefix-separator", NamingPrefix, "_", "a_t", false},
		{"identity", NamingIdentity, "", "t", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := kafkatest.New(t, kafkatest.Name("a"))
			b := kafkatest.New(t, kafkatest.Name("b"))
			a.CreateTopic(t, "t", 2)
			a.ProduceN(t, "t", 10)
			cfg := fast("ab", "a", "b")
			cfg.Naming, cfg.Separator = tc.naming, tc.sep
			start(t, cfg, a, b)
			waitCount(t, b, tc.remote, 10)
			for _, r := range b.ReadToEnd(t, tc.remote) {
				has := len(r.Headers) == 1 && r.Headers[0].Key == OriginHeader && string(r.Headers[0].Value) == "a"
				if has != tc.origin {
					t.Fatalf("headers %v, want origin header %v", r.Headers, tc.origin)
				}
			}
		})
	}
}

func TestMirrorRefreshFindsNewTopicsAndPartitions(t *testing.T) {
	a := kafkatest.New(t, kafkatest.Name("a"))
	b := kafkatest.New(t, kafkatest.Name("b"))
	a.CreateTopic(t, "one", 1)
	a.ProduceN(t, "one", 5)
	cfg := fast("ab", "a", "b")
	cfg.Topics, cfg.Exclude = []string{"one|two|skip.*"}, []string{"skip-me"}
	start(t, cfg, a, b)
	waitCount(t, b, "a.one", 5)

	a.CreateTopic(t, "two", 2)
	a.CreateTopic(t, "skip-me", 1)
	a.ProduceN(t, "two", 6)
	a.ProduceN(t, "skip-me", 1)
	waitCount(t, b, "a.two", 6)

	resp, err := a.Admin(t).UpdatePartitions(context.Background(), 4, "one")
	if err != nil || resp.Error() != nil {
		t.Fatalf("grow: %v %v", err, resp.Error())
	}
	produceSeq(t, a, "one", 4, 0, 3) // 12 more, 3 in each of 4 partitions
	waitCount(t, b, "a.one", 17)
	if n := b.Partitions(t, "a.one"); n != 4 {
		t.Fatalf("remote grew to %d partitions, want 4", n)
	}
	got := b.ReadToEnd(t, "a.one")
	perPart := map[int32]int{}
	for _, r := range got {
		perPart[r.Partition]++
	}
	if perPart[3] != 3 || perPart[2] != 3 {
		t.Fatalf("records per partition %v", perPart)
	}
	tds, _ := b.Admin(t).ListTopics(context.Background())
	if tds.Has("a.skip-me") {
		t.Fatal("excluded topic was mirrored")
	}
}

func TestMirrorSyncConfigs(t *testing.T) {
	a := kafkatest.New(t, kafkatest.Name("a"))
	b := kafkatest.New(t, kafkatest.Name("b"))
	a.CreateTopic(t, "c", 1, "retention.ms=123456", "cleanup.policy=compact", "min.insync.replicas=2", "message.timestamp.type=LogAppendTime")
	a.ProduceN(t, "c", 1)
	start(t, fast("ab", "a", "b"), a, b)
	waitCount(t, b, "a.c", 1)
	get := func() map[string]string {
		rcs, err := b.Admin(t).DescribeTopicConfigs(context.Background(), "a.c")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, cf := range rcs[0].Configs {
			if cf.Value != nil {
				out[cf.Key] = *cf.Value
			}
		}
		return out
	}
	cf := get()
	if cf["retention.ms"] != "123456" || cf["cleanup.policy"] != "compact" {
		t.Fatalf("safe configs not copied: %v", cf)
	}
	if cf["min.insync.replicas"] == "2" || cf["message.timestamp.type"] == "LogAppendTime" {
		t.Fatalf("unsafe config copied: %v", cf)
	}
	// A change in the source follows at the next refresh.
	resp, err := a.Admin(t).AlterTopicConfigs(context.Background(), []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: ptr("654321")}}, "c")
	if err != nil || resp[0].Err != nil {
		t.Fatalf("alter: %v", err)
	}
	kafkatest.WaitFor(t, 10*time.Second, "retention.ms synced", func() bool { return get()["retention.ms"] == "654321" })
}

// TestMirrorSourceConfigsUnreadable: when the source topic's configs cannot
// be read, its remote topic is not created with the target's defaults (a
// compacted topic would get delete retention): the flow fails with a clear
// error and creates it, compacted, once the configs can be read.
func TestMirrorSourceConfigsUnreadable(t *testing.T) {
	a := kafkatest.New(t, kafkatest.Name("a"))
	b := kafkatest.New(t, kafkatest.Name("b"))
	a.CreateTopic(t, "c", 1, "cleanup.policy=compact")
	a.ProduceN(t, "c", 1)
	remove := a.FailRequests(kmsg.DescribeConfigs, -1, kerr.ClusterAuthorizationFailed)
	f, err := New(fast("ab", "a", "b"), opts(a), opts(b), testLogger())
	if err != nil {
		t.Fatal(err)
	}
	var runErr error
	select {
	case runErr = <-runAsync(t, f):
	case <-time.After(60 * time.Second):
		t.Fatal("the flow did not fail on unreadable source configs")
	}
	if runErr == nil || !strings.Contains(runErr.Error(), "cannot read the configs of source topic c") {
		t.Fatalf("Run = %v, want a sentence naming the topic whose configs cannot be read", runErr)
	}
	if tds, _ := b.Admin(t).ListTopics(context.Background()); tds.Has("a.c") {
		t.Fatal("remote topic created without the source's configs")
	}
	remove()
	start(t, fast("ab", "a", "b"), a, b)
	waitCount(t, b, "a.c", 1)
	rcs, err := b.Admin(t).DescribeTopicConfigs(context.Background(), "a.c")
	if err != nil {
		t.Fatal(err)
	}
	policy := ""
	for _, cf := range rcs[0].Configs {
		if cf.Key == "cleanup.policy" && cf.Value != nil {
			policy = *cf.Value
		}
	}
	if policy != "compact" {
		t.Fatalf("remote cleanup.policy %q, want compact", policy)
	}
}

func TestPauseResume(t *testing.T) {
	a := kafkatest.New(t, kafkatest.Name("a"))
	b := kafkatest.New(t, kafkatest.Name("b"))
	a.CreateTopic(t, "t", 1)
	a.ProduceN(t, "t", 5)
	cfg := fast("ab", "a", "b")
	cfg.Exclude = []string{HeartbeatTopic}
	m := start(t, cfg, a, b)
	waitCount(t, b, "a.t", 5)
	m.f.Pause()
	if s := m.f.Status().State; s != jobstate.Paused {
		t.Fatalf("state %s after Pause", s)
	}
	a.ProduceN(t, "t", 5)
	kafkatest.WaitFor(t, 10*time.Second, "lag of 5 while paused", func() bool {
		for _, p := range m.f.Status().Partitions {
			if p.Topic == "t" {
				return p.Lag == 5
			}
		}
		return false
	})
	if n := len(b.ReadToEnd(t, "a.t")); n != 5 {
		t.Fatalf("paused flow mirrored %d records, want 5", n)
	}
	m.f.Resume()
	waitCount(t, b, "a.t", 10)
	if s := m.f.Status().State; s != jobstate.Running {
		t.Fatalf("state %s after Resume", s)
	}
}

func TestRunTwice(t *testing.T) {
	a := kafkatest.New(t, kafkatest.Name("a"))
	b := kafkatest.New(t, kafkatest.Name("b"))
	f, err := New(fast("ab", "a", "b"), opts(a), opts(b))
	if err != nil {
		t.Fatal(err)
	}
	startFlow(t, f)
	kafkatest.WaitFor(t, 10*time.Second, "running", func() bool { return f.running.Load() })
	if err := f.Run(context.Background()); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Run: %v, want ErrRunning", err)
	}
}

func ptr(s string) *string { return &s }
