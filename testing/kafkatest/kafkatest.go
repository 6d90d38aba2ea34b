// Package kafkatest is kdeck's shared test harness: it starts embedded Kafka
// clusters (franz-go's kfake) for a test, seeds topics, records and consumer
// groups, and injects faults. Every package's tests use it, so that the same
// tests run against real Apache Kafka brokers too: with KDECK_TEST_KAFKA=real
// New hands out the clusters testing/realkafka/kafka.sh started (emptied of
// user topics and groups first; run such tests with go test -p 1).
//
//	func TestLag(t *testing.T) {
//		c := kafkatest.New(t)
//		c.CreateTopic(t, "orders", 3)
//		c.ProduceN(t, "orders", 100)
//		c.Commit(t, "billing", map[string]map[int32]int64{"orders": {0: 10}})
//		// ... point the code under test at c.Addr()
//	}
//
// Clusters close when the test ends (t.Cleanup).
package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kdeck/kdeck/config"
)

// Timeout bounds every harness operation.
const Timeout = 20 * time.Second

// Cluster is a cluster started for one test.
type Cluster struct {
	// Fake is the embedded cluster; nil on the real-Kafka backend.
	Fake  *kfake.Cluster
	addrs []string
	name  string
	t     testing.TB // the test that started it
	real  *realInfo  // nil on the embedded backend
}

// Opt configures New.
type Opt func(*opts)

type opts struct {
	name    string
	kfake   []kfake.Opt
	dataDir string
}

// Name sets the cluster's name in generated configuration; default "local".
func Name(n string) Opt { return func(o *opts) { o.name = n } }

// WithKfake passes options to the embedded cluster.
func WithKfake(k ...kfake.Opt) Opt { return func(o *opts) { o.kfake = append(o.kfake, k...) } }

// DataDir persists the embedded cluster to dir, so a test can restart it.
func DataDir(dir string) Opt { return func(o *opts) { o.dataDir = dir } }

// Backend returns the backend tests run against: "kfake" (default) or
// "real" when KDECK_TEST_KAFKA=real.
func Backend() string {
	if os.Getenv("KDECK_TEST_KAFKA") == "real" {
		return "real"
	}
	return "kfake"
}

// New starts an embedded cluster on a free loopback port, closed at the end
// of the test. On the real tier (KDECK_TEST_KAFKA=real) it instead returns
// the next Apache Kafka cluster no running test holds, emptied of user
// topics and groups; WithKfake and DataDir do not apply there.
func New(t testing.TB, o ...Opt) *Cluster {
	t.Helper()
	var op opts
	for _, f := range o {
		f(&op)
	}
	if op.name == "" {
		op.name = config.DefaultClusterName
	}
	if Backend() == "real" {
		return newReal(t, op)
	}
	kopts := append([]kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1)}, op.kfake...)
	if op.dataDir != "" {
		kopts = append(kopts, kfake.DataDir(op.dataDir))
	}
	fc, err := kfake.NewCluster(kopts...)
	if err != nil {
		t.Fatalf("kafkatest: start embedded cluster: %v", err)
	}
	t.Cleanup(fc.Close)
	return &Cluster{Fake: fc, addrs: fc.ListenAddrs(), name: op.name, t: t}
}

// Addr returns the bootstrap addresses, comma separated.
func (c *Cluster) Addr() string { return strings.Join(c.addrs, ",") }

// Addrs returns the bootstrap addresses.
func (c *Cluster) Addrs() []string { return c.addrs }

// Name returns the cluster's configured name.
func (c *Cluster) Name() string { return c.name }

// Config returns a config.Cluster pointing at this cluster.
func (c *Cluster) Config() *config.Cluster {
	return &config.Cluster{Name: c.name, Brokers: c.addrs}
}

// TOML returns a [clusters.NAME] table for this cluster.
func (c *Cluster) TOML() string {
	q := make([]string, len(c.addrs))
	for i, a := range c.addrs {
		q[i] = fmt.Sprintf("%q", a)
	}
	return fmt.Sprintf("[clusters.%s]\nbrokers = [%s]\n", c.name, strings.Join(q, ", "))
}

// Client returns a franz-go client of this cluster, closed at test end.
func (c *Cluster) Client(t testing.TB, o ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.addrs...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, o...)...)
	if err != nil {
		t.Fatalf("kafkatest: client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Admin returns an admin client of this cluster.
func (c *Cluster) Admin(t testing.TB) *kadm.Client {
	t.Helper()
	return kadm.NewClient(c.Client(t))
}

func ctx(t testing.TB) context.Context {
	cx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	return cx
}

// CreateTopic creates a topic with n partitions (replication factor 1).
func (c *Cluster) CreateTopic(t testing.TB, topic string, partitions int32, configs ...string) {
	t.Helper()
	cfg := map[string]*string{}
	for _, kv := range configs {
		k, v, _ := strings.Cut(kv, "=")
		cfg[k] = &v
	}
	resp, err := c.Admin(t).CreateTopic(ctx(t), partitions, 1, cfg, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("kafkatest: create topic %s: %v", topic, err)
	}
	c.awaitTopic(t, topic, partitions)
}

// awaitTopic waits until metadata shows topic with n partitions, each with a
// leader. Apache Kafka answers CreateTopics once its controller committed the
// topic; the broker's metadata follows a moment later, so a metadata request
// right after the create can still say UNKNOWN_TOPIC_OR_PARTITION (kfake
// shows the topic at once).
func (c *Cluster) awaitTopic(t testing.TB, topic string, n int32) {
	t.Helper()
	adm := kadm.NewClient(c.Client(t, kgo.MetadataMinAge(10*time.Millisecond)))
	deadline := time.Now().Add(Timeout)
	for {
		tds, err := adm.ListTopics(ctx(t), topic)
		td, ok := tds[topic]
		if err == nil && ok && td.Err == nil && int32(len(td.Partitions)) == n {
			ready := true
			for _, p := range td.Partitions {
				ready = ready && p.Err == nil && p.Leader >= 0
			}
			if ready {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("kafkatest: topic %s was created but metadata did not show its %d partitions within %v (last: %v %+v)", topic, n, Timeout, err, td)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Produce writes records synchronously.
func (c *Cluster) Produce(t testing.TB, recs ...*kgo.Record) {
	t.Helper()
	cl := c.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := cl.ProduceSync(ctx(t), recs...).FirstErr(); err != nil {
		t.Fatalf("kafkatest: produce: %v", err)
	}
	cl.Close()
}

// ProduceN writes n records to topic, spread round-robin over its
// partitions, with value "value-I" and key "key-I", and returns them.
func (c *Cluster) ProduceN(t testing.TB, topic string, n int) []*kgo.Record {
	t.Helper()
	parts := c.Partitions(t, topic)
	recs := make([]*kgo.Record, n)
	for i := range n {
		recs[i] = &kgo.Record{Topic: topic, Partition: int32(i % int(parts)), Key: fmt.Appendf(nil, "key-%d", i), Value: fmt.Appendf(nil, "value-%d", i)}
	}
	c.Produce(t, recs...)
	return recs
}

// ReadToEnd reads every committed record of topic up to its end offsets as
// they are when it is called: it lists the last stable offsets (the end a
// read-committed reader can reach) and consumes, control records included,
// until its position has reached them on every partition, so a record
// written before the call is never missed however late it arrives (a read
// that stops at a silence can). Call it once the producing side is done, or
// inside WaitFor. It fails the test if the end is not reached within
// Timeout.
func (c *Cluster) ReadToEnd(t testing.TB, topic string) []*kgo.Record {
	t.Helper()
	cx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.addrs...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	if err != nil {
		t.Fatalf("kafkatest: read %s: %v", topic, err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	starts, err := adm.ListStartOffsets(cx, topic)
	if err == nil {
		err = starts.Error()
	}
	ends, err2 := adm.ListCommittedOffsets(cx, topic)
	if err == nil {
		err = errors.Join(err2, ends.Error())
	}
	if err != nil {
		t.Fatalf("kafkatest: read %s: listing its offsets: %v", topic, err)
	}
	want := map[int32]int64{} // partition → end offset not yet reached
	ends.Each(func(o kadm.ListedOffset) {
		if s, ok := starts.Lookup(topic, o.Partition); ok && o.Offset > s.Offset {
			want[o.Partition] = o.Offset
		}
	})
	var out []*kgo.Record
	for len(want) > 0 {
		fs := cl.PollFetches(cx)
		if cx.Err() != nil {
			t.Fatalf("kafkatest: read %s: after %v still short of the end offsets %v", topic, Timeout, want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if end, ok := want[r.Partition]; ok && r.Offset+1 >= end {
				delete(want, r.Partition)
			}
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
		})
	}
	return out
}

// ValueCounts reads topic from its start to its end offsets as they are
// when it is called (ReadToEnd: read_committed, never stopping at a
// silence), and counts each value: the way to find duplicates. Call it once
// the producing side is done.
func (c *Cluster) ValueCounts(t testing.TB, topic string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, r := range c.ReadToEnd(t, topic) {
		out[string(r.Value)]++
	}
	return out
}

// ProduceAt writes records with the given timestamps to one partition.
func (c *Cluster) ProduceAt(t testing.TB, topic string, partition int32, times ...time.Time) {
	t.Helper()
	recs := make([]*kgo.Record, len(times))
	for i, ts := range times {
		recs[i] = &kgo.Record{Topic: topic, Partition: partition, Timestamp: ts, Value: fmt.Appendf(nil, "at-%d", ts.UnixMilli())}
	}
	c.Produce(t, recs...)
}

// Partitions returns a topic's partition count.
func (c *Cluster) Partitions(t testing.TB, topic string) int32 {
	t.Helper()
	tds, err := c.Admin(t).ListTopics(ctx(t), topic)
	if err != nil {
		t.Fatalf("kafkatest: metadata %s: %v", topic, err)
	}
	td, ok := tds[topic]
	if !ok || td.Err != nil {
		t.Fatalf("kafkatest: topic %s does not exist", topic)
	}
	return int32(len(td.Partitions))
}

// Commit commits offsets for a group that has no members (creating it).
func (c *Cluster) Commit(t testing.TB, group string, offsets map[string]map[int32]int64) {
	t.Helper()
	os := kadm.Offsets{}
	for topic, ps := range offsets {
		for p, o := range ps {
			os.Add(kadm.Offset{Topic: topic, Partition: p, At: o, LeaderEpoch: -1})
		}
	}
	resp, err := c.Admin(t).CommitOffsets(ctx(t), group, os)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("kafkatest: commit %s: %v", group, err)
	}
}

// Committed returns a group's committed offsets.
func (c *Cluster) Committed(t testing.TB, group string) map[string]map[int32]int64 {
	t.Helper()
	resp, err := c.Admin(t).FetchOffsets(ctx(t), group)
	if err != nil {
		t.Fatalf("kafkatest: fetch offsets %s: %v", group, err)
	}
	out := map[string]map[int32]int64{}
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Err != nil || o.At < 0 {
			return
		}
		if out[o.Topic] == nil {
			out[o.Topic] = map[int32]int64{}
		}
		out[o.Topic][o.Partition] = o.At
	})
	return out
}

// ActiveMember joins group as a consumer of topics and stays in it until the
// returned stop function is called (or the test ends). It returns once the
// member holds an assignment. With kip848 it uses the consumer group
// protocol (group.protocol=consumer); on Apache Kafka 3.x, which has no
// KIP-848 groups, the test is then skipped (RequireKIP848).
func (c *Cluster) ActiveMember(t testing.TB, group string, kip848 bool, topics ...string) (stop func()) {
	t.Helper()
	if kip848 {
		RequireKIP848(t)
	}
	o := []kgo.Opt{kgo.ConsumerGroup(group), kgo.ConsumeTopics(topics...), kgo.DisableAutoCommit(), kgo.ClientID("kafkatest-member")}
	if kip848 {
		o = append(o, kgo.ServerSideBalancer(), kgo.Balancers(kgo.RangeBalancer()))
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.addrs...), kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd())}, o...)...)
	if err != nil {
		t.Fatalf("kafkatest: member: %v", err)
	}
	cx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for cx.Err() == nil {
			cl.PollFetches(cx)
		}
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		<-done
		cl.Close()
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(Timeout)
	adm := kadm.NewClient(c.Client(t))
	for time.Now().Before(deadline) {
		if kip848 {
			d, err := adm.DescribeConsumerGroups(ctx(t), group)
			if err == nil && len(d[group].Members) > 0 && len(d[group].Members[0].Assignment) > 0 {
				return stop
			}
		} else {
			d, err := adm.DescribeGroups(ctx(t), group)
			if err == nil && d[group].State == "Stable" && len(d[group].Members) > 0 {
				return stop
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("kafkatest: group %s did not become stable", group)
	return stop
}

// FailRequests makes the next n requests of kind key fail with err (nil:
// UNKNOWN_SERVER_ERROR); -1 fails until the returned function is called.
// On the real tier it skips the test that started the cluster
// (SkipNeedsFake): call it from that test's goroutine.
func (c *Cluster) FailRequests(key kmsg.Key, n int, err *kerr.Error) (remove func()) {
	if c.Fake == nil {
		c.t.Helper()
		c.t.Skip(SkipNeedsFake)
		return func() {}
	}
	h := c.Fake.Fault(kfake.Fault{Keys: []kmsg.Key{key}, Err: err, Count: n})
	return h.Remove
}

// DelayRequests delays the next n requests of kind key by d. On the real
// tier it skips the test that started the cluster, as FailRequests does.
func (c *Cluster) DelayRequests(key kmsg.Key, d time.Duration, n int) {
	if c.Fake == nil {
		c.t.Helper()
		c.t.Skip(SkipNeedsFake)
		return
	}
	left := n
	c.Fake.ControlKey(int16(key), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.Fake.KeepControl()
		if left <= 0 {
			return nil, nil, false
		}
		left--
		c.Fake.SleepControl(func() { time.Sleep(d) })
		return nil, nil, false
	})
}

// WaitFor polls cond until it holds or the timeout passes.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
