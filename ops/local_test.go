package ops_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

func newLocal(t *testing.T, c *kafkatest.Cluster, opts ...ops.Opt) *ops.Local {
	t.Helper()
	cfg := &config.Config{Clusters: map[string]*config.Cluster{c.Name(): c.Config()}, Ops: config.Ops{DataDir: t.TempDir()}}
	l, err := ops.NewLocal(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestGroupsLagClassicAnd848(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "orders", 4)
	c.ProduceN(t, "orders", 400) // 100 per partition
	c.Commit(t, "billing", map[string]map[int32]int64{"orders": {0: 10, 1: 100, 2: 50, 3: 0}})
	stopClassic := c.ActiveMember(t, "classic-live", false, "orders")
	defer stopClassic()
	// Apache Kafka 3.x has no KIP-848 groups: the classic half still runs.
	kip848 := kafkatest.KIP848()
	if kip848 {
		stop848 := c.ActiveMember(t, "kip848-live", true, "orders")
		defer stop848()
		c.Commit(t, "kip848-live", nil)
	} else {
		t.Log(kafkatest.SkipNoKIP848 + ": the KIP-848 group is left out")
	}

	l := newLocal(t, c)
	groups, err := l.ListGroups(ctx(t), "")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]ops.GroupSummary{}
	for _, g := range groups {
		byName[g.Group] = g
	}
	b, ok := byName["billing"]
	if !ok {
		t.Fatalf("billing missing from %+v", groups)
	}
	if b.Lag != 90+0+50+100 {
		t.Errorf("billing lag = %d, want 240", b.Lag)
	}
	if b.Members != 0 || b.Topics[0] != "orders" {
		t.Errorf("billing = %+v", b)
	}
	if g := byName["classic-live"]; g.Members != 1 || g.Protocol != "classic" {
		t.Errorf("classic-live = %+v", g)
	}
	if !kip848 {
		return
	}
	if g := byName["kip848-live"]; g.Members != 1 || g.Protocol != "consumer" {
		t.Errorf("kip848-live = %+v", g)
	}

	d, err := l.DescribeGroup(ctx(t), "", "kip848-live")
	if err != nil {
		t.Fatal(err)
	}
	if d.Protocol != "consumer" || len(d.MemberList) != 1 || len(d.MemberList[0].Assigned) != 1 || len(d.MemberList[0].Assigned[0].Partitions) != 4 {
		t.Errorf("describe kip848-live = %+v", d)
	}
	if len(d.Offsets) != 4 || d.Offsets[0].ClientID != "kafkatest-member" {
		t.Errorf("kip848 rows = %+v", d.Offsets)
	}
}

func TestDescribeGroupTimeLag(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "events", 1)
	old := time.Now().Add(-time.Hour)
	c.ProduceAt(t, "events", 0, old, old.Add(time.Minute), time.Now())
	c.Commit(t, "g", map[string]map[int32]int64{"events": {0: 1}})
	c.Commit(t, "caught-up", map[string]map[int32]int64{"events": {0: 3}})
	l := newLocal(t, c)
	d, err := l.DescribeGroup(ctx(t), "", "g")
	if err != nil {
		t.Fatal(err)
	}
	r := d.Offsets[0]
	if r.Committed != 1 || r.LogEndOffset != 3 || r.Lag != 2 {
		t.Fatalf("row = %+v", r)
	}
	if r.TimeLag < 58*60 || r.TimeLag > 60*60 {
		t.Errorf("time lag = %.0fs, want about 59m", r.TimeLag)
	}
	d, err = l.DescribeGroup(ctx(t), "", "caught-up")
	if err != nil {
		t.Fatal(err)
	}
	if d.Offsets[0].TimeLag != 0 || d.Lag != 0 {
		t.Errorf("caught up = %+v", d.Offsets[0])
	}
}

func TestNotFoundAndUnreachable(t *testing.T) {
	c := kafkatest.New(t)
	l := newLocal(t, c)
	if _, err := l.DescribeGroup(ctx(t), "", "nope"); !errors.Is(err, ops.ErrGroupNotFound) {
		t.Errorf("describe unknown group: %v", err)
	}
	if _, err := l.DescribeTopic(ctx(t), "", "nope"); !errors.Is(err, ops.ErrTopicNotFound) {
		t.Errorf("describe unknown topic: %v", err)
	}
	if _, err := l.ListTopics(ctx(t), "prod", ops.ListTopicsOptions{}); !errors.Is(err, ops.ErrInvalid) {
		t.Errorf("unknown cluster: %v", err)
	}
	dead := &config.Cluster{Name: "dead", Brokers: []string{"127.0.0.1:1"}, RequestTimeout: config.Duration{Duration: 2 * time.Second}}
	l2, err := ops.NewLocal(&config.Config{Clusters: map[string]*config.Cluster{"dead": dead}})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	start := time.Now()
	_, err = l2.ListTopics(ctx(t), "", ops.ListTopicsOptions{})
	if !errors.Is(err, ops.ErrUnreachable) {
		t.Fatalf("unreachable: %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("unreachable took %v", took)
	}
	cis, err := l2.Clusters(ctx(t))
	if err != nil || len(cis) != 1 || cis[0].Reachable || cis[0].Error == "" {
		t.Errorf("clusters = %+v, %v", cis, err)
	}
}

func TestTopicsAndRecords(t *testing.T) {
	c := kafkatest.New(t)
	l := newLocal(t, c)
	if err := l.CreateTopic(ctx(t), "", ops.CreateTopicRequest{Name: "t", Partitions: 3, ReplicationFactor: 1, Configs: map[string]string{"retention.ms": "1000"}}); err != nil {
		t.Fatal(err)
	}
	if err := l.CreateTopic(ctx(t), "", ops.CreateTopicRequest{Name: "t", Partitions: 3}); !errors.Is(err, ops.ErrInvalid) {
		t.Errorf("duplicate create: %v", err)
	}
	c.ProduceN(t, "t", 30)
	ts, err := l.ListTopics(ctx(t), "", ops.ListTopicsOptions{})
	if err != nil || len(ts) != 1 || ts[0].Records != 30 || ts[0].Partitions != 3 {
		t.Fatalf("topics = %+v, %v", ts, err)
	}
	td, err := l.DescribeTopic(ctx(t), "", "t")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ce := range td.Configs {
		if ce.Name == "retention.ms" && ce.Value == "1000" {
			found = true
		}
	}
	if !found || len(td.Partitions) != 3 || td.Partitions[1].LogEndOffset != 10 {
		t.Errorf("describe = %+v", td)
	}
	read := func(req ops.ReadRequest) []ops.Record {
		var out []ops.Record
		if err := l.ReadRecords(ctx(t), "", req, func(r ops.Record) error { out = append(out, r); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := read(ops.ReadRequest{Topic: "t"}); len(got) != 30 {
		t.Errorf("read all = %d", len(got))
	}
	if got := read(ops.ReadRequest{Topic: "t", Count: 5}); len(got) != 5 {
		t.Errorf("read 5 = %d", len(got))
	}
	if got := read(ops.ReadRequest{Topic: "t", From: ops.FromTail, Offset: 2, Partitions: []int32{0}}); len(got) != 2 || got[0].Offset != 8 {
		t.Errorf("tail 2 = %+v", got)
	}
	if got := read(ops.ReadRequest{Topic: "t", From: ops.FromOffset, Offset: 7, Partitions: []int32{2}}); len(got) != 3 || got[0].Offset != 7 {
		t.Errorf("from offset 7 = %+v", got)
	}
	if got := read(ops.ReadRequest{Topic: "t", From: ops.FromLatest}); len(got) != 0 {
		t.Errorf("latest without follow = %d", len(got))
	}
	if err := l.ReadRecords(ctx(t), "", ops.ReadRequest{Topic: "t", Count: -1}, func(ops.Record) error { return nil }); !errors.Is(err, ops.ErrInvalid) {
		t.Errorf("negative count: %v", err)
	}
	res, err := l.Produce(ctx(t), "", "t", func(yield func(ops.ProduceRecord, error) bool) {
		for i := range 10 {
			if !yield(ops.ProduceRecord{Key: []byte("k"), Value: []byte{byte('a' + i)}, Partition: -1}, nil) {
				return
			}
		}
	})
	if err != nil || res.Records != 10 {
		t.Fatalf("produce = %+v, %v", res, err)
	}
	// Same key: one partition, in order.
	var same []byte
	var parts = map[int32]bool{}
	if err := l.ReadRecords(ctx(t), "", ops.ReadRequest{Topic: "t"}, func(r ops.Record) error {
		if string(r.Key) == "k" {
			same = append(same, r.Value...)
			parts[r.Partition] = true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if string(same) != "abcdefghij" || len(parts) != 1 {
		t.Errorf("records of key k: %q over %d partitions, want abcdefghij on one", same, len(parts))
	}
	if err := l.DeleteTopic(ctx(t), "", "t"); err != nil {
		t.Fatal(err)
	}
	// The create, the refused second create (its intent was written, so
	// its outcome is too), and the delete.
	entries, err := l.Audit(ctx(t), ops.AuditFilter{})
	if err != nil || len(entries) != 3 || entries[0].Action != "topics.delete" || entries[1].Outcome != ops.OutcomeFailed || entries[2].Action != "topics.create" || entries[2].Outcome != ops.OutcomeOK {
		t.Errorf("audit = %+v, %v", entries, err)
	}
}

func TestReadOnly(t *testing.T) {
	c := kafkatest.New(t)
	l := newLocal(t, c, ops.WithReadOnly(true))
	if err := l.CreateTopic(ctx(t), "", ops.CreateTopicRequest{Name: "x"}); !errors.Is(err, ops.ErrReadOnly) {
		t.Errorf("create in read-only: %v", err)
	}
}

// hostJobs builds a Local over cfg and starts its jobs; both stop when the
// test ends.
func hostJobs(t *testing.T, cfg *config.Config, opts ...ops.Opt) *ops.Local {
	t.Helper()
	l, err := ops.NewLocal(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if err := l.StartJobs(context.Background()); err != nil {
		t.Fatal(err)
	}
	return l
}
