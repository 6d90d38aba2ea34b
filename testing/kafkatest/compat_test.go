package kafkatest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestBackendDifferences pins, per backend, the answers in which kfake and
// Apache Kafka differ (docs/compatibility.md lists them and what kdeck does
// about each). It passes on both tiers; when either side changes, it fails
// and the document needs updating.
func TestBackendDifferences(t *testing.T) {
	c := kafkatest.New(t)
	real := c.IsReal()
	cx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := c.Client(t)
	adm := kadm.NewClient(cl)
	c.CreateTopic(t, "p", 2)
	c.ProduceN(t, "p", 10)
	// Apache Kafka 3.x has no KIP-848 groups: there the KIP-848 rows skip
	// and same_on_both runs on a live classic group.
	live := "live-848"
	if !kafkatest.KIP848() {
		live = "live-classic"
	}
	stop := c.ActiveMember(t, live, live == "live-848", "p")
	defer stop()
	c.Commit(t, "committed-only", map[string]map[int32]int64{"p": {0: 1}})

	t.Run("classic_describe_of_kip848_group", func(t *testing.T) {
		kafkatest.RequireKIP848(t)
		req := kmsg.NewPtrDescribeGroupsRequest()
		req.Groups = []string{"live-848"}
		resp, err := req.RequestWith(cx, cl)
		if err != nil {
			t.Fatal(err)
		}
		g := resp.Groups[0]
		wantState, wantCode := "Stable", int16(0)
		if real {
			wantState, wantCode = "Dead", kerr.GroupIDNotFound.Code
		}
		if g.State != wantState || g.ErrorCode != wantCode {
			t.Errorf("DescribeGroups(KIP-848 group) = state %q code %d, want %q %d", g.State, g.ErrorCode, wantState, wantCode)
		}
	})

	t.Run("consumer_group_describe_topic_names", func(t *testing.T) {
		kafkatest.RequireKIP848(t)
		req := kmsg.NewPtrConsumerGroupDescribeRequest()
		req.Groups = []string{"live-848", "committed-only"}
		resp, err := req.RequestWith(cx, cl)
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]kmsg.ConsumerGroupDescribeResponseGroup{}
		for _, g := range resp.Groups {
			byName[g.Group] = g
		}
		live := byName["live-848"]
		if len(live.Members) != 1 || len(live.Members[0].Assignment.TopicPartitions) != 1 {
			t.Fatalf("ConsumerGroupDescribe = %+v", live)
		}
		name := live.Members[0].Assignment.TopicPartitions[0].Topic
		want := ""
		if real {
			want = "p"
		}
		if name != want {
			t.Errorf("assignment topic name = %q, want %q", name, want)
		}
		classic := byName["committed-only"]
		hasMsg := classic.ErrorMessage != nil && *classic.ErrorMessage != ""
		if classic.ErrorCode != kerr.GroupIDNotFound.Code || hasMsg != real {
			t.Errorf("ConsumerGroupDescribe(classic group) = code %d message %v, want code 69 with a message only on Apache Kafka", classic.ErrorCode, classic.ErrorMessage)
		}
	})

	t.Run("list_groups_protocol_type_of_kip848_group", func(t *testing.T) {
		kafkatest.RequireKIP848(t)
		lg, err := adm.ListGroups(cx)
		if err != nil {
			t.Fatal(err)
		}
		want := ""
		if real {
			want = "consumer"
		}
		if got := lg["live-848"].ProtocolType; got != want {
			t.Errorf("ListGroups protocol type of a KIP-848 group = %q, want %q", got, want)
		}
	})

	t.Run("fetch_offsets_of_unknown_group", func(t *testing.T) {
		_, err := adm.FetchOffsets(cx, "no-such-group")
		if real && err != nil {
			t.Errorf("Apache Kafka: FetchOffsets(unknown group) = %v, want no error and no offsets", err)
		}
		if !real && !errors.Is(err, kerr.GroupIDNotFound) {
			t.Errorf("kfake: FetchOffsets(unknown group) = %v, want GROUP_ID_NOT_FOUND", err)
		}
	})

	t.Run("create_topic_validation", func(t *testing.T) {
		bad := []struct {
			name    string
			configs map[string]*string
			want    *kerr.Error
		}{
			{"unknown-config", map[string]*string{"bogus.config": kadm.StringPtr("1")}, kerr.InvalidConfig},
			{"bad-value", map[string]*string{"retention.ms": kadm.StringPtr("abc")}, kerr.InvalidConfig},
			{"bad name!", nil, kerr.InvalidTopicException},
		}
		for _, b := range bad {
			r, err := adm.CreateTopic(cx, 1, 1, b.configs, b.name)
			if err == nil {
				err = r.Err
			}
			if real && !errors.Is(err, b.want) {
				t.Errorf("Apache Kafka: create %q = %v, want %v", b.name, err, b.want)
			}
			if !real && err != nil {
				t.Errorf("kfake: create %q = %v, want it accepted", b.name, err)
			}
		}
	})

	t.Run("topic_names_colliding_in_metrics", func(t *testing.T) {
		// The same on both: a topic whose name equals an existing one's
		// with '.' and '_' swapped is refused (they clash in Kafka's metric
		// names), so a mirror's a.t and a_t remote topics cannot live in one
		// cluster. Apache Kafka says why in the error message.
		c.CreateTopic(t, "col.x", 1)
		r, err := adm.CreateTopic(cx, 1, 1, nil, "col_x")
		if err == nil {
			err = r.Err
		}
		if !errors.Is(err, kerr.InvalidTopicException) {
			t.Errorf("create col_x beside col.x = %v, want INVALID_TOPIC_EXCEPTION", err)
		}
		if real && !strings.Contains(r.ErrMessage, "collides") {
			t.Errorf("Apache Kafka: create col_x beside col.x: message %q, want it to say the name collides", r.ErrMessage)
		}
	})

	t.Run("describe_topic_configs", func(t *testing.T) {
		rc, err := adm.DescribeTopicConfigs(cx, "p")
		if err != nil {
			t.Fatal(err)
		}
		broker := 0
		for _, e := range rc[0].Configs {
			if e.Source != kmsg.ConfigSourceDefaultConfig {
				broker++
			}
		}
		if n := len(rc[0].Configs); real && (n < 25 || broker == 0) || !real && (n > 20 || broker != 0) {
			t.Errorf("topic configs: %d entries, %d from broker configuration", n, broker)
		}
	})

	t.Run("log_append_time", func(t *testing.T) {
		c.CreateTopic(t, "appended", 1, "message.timestamp.type=LogAppendTime")
		sent := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		c.Produce(t, &kgo.Record{Topic: "appended", Partition: 0, Timestamp: sent, Value: []byte("x")})
		rc := c.Client(t, kgo.ConsumeTopics("appended"))
		var got *kgo.Record
		for got == nil && cx.Err() == nil {
			rc.PollFetches(cx).EachRecord(func(r *kgo.Record) { got = r })
		}
		if got == nil {
			t.Fatal("record not read back")
		}
		brokerTime := got.Timestamp.After(time.Now().Add(-time.Hour)) && got.Attrs.TimestampType() == 1
		if brokerTime != real {
			t.Errorf("LogAppendTime topic: timestamp %v type %d; want the broker's time only on Apache Kafka (kfake keeps the producer's)", got.Timestamp, got.Attrs.TimestampType())
		}
	})

	t.Run("timestamp_in_the_future", func(t *testing.T) {
		pc := c.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
		err := pc.ProduceSync(cx, &kgo.Record{Topic: "p", Timestamp: time.Now().Add(48 * time.Hour), Value: []byte("x")}).FirstErr()
		// message.timestamp.after.max.ms defaults to 1h since Apache Kafka
		// 4.0; 3.x accepts any future timestamp by default.
		refuses := real && kafkatest.KIP848() // 4.x
		if refuses && !errors.Is(err, kerr.InvalidTimestamp) {
			t.Errorf("Apache Kafka 4.x: produce 48h ahead = %v, want INVALID_TIMESTAMP (message.timestamp.after.max.ms is 1h)", err)
		}
		if !refuses && err != nil {
			t.Errorf("kfake or Apache Kafka 3.x: produce 48h ahead = %v, want it accepted", err)
		}
	})

	t.Run("transaction_fencing", func(t *testing.T) {
		// The same on both: the fenced producer's next produce fails with
		// INVALID_PRODUCER_EPOCH, its commit is not attempted, and only the
		// new producer's records are committed.
		c.CreateTopic(t, "tx", 1)
		p1 := c.Client(t, kgo.TransactionalID("tid"), kgo.DefaultProduceTopic("tx"))
		p2 := c.Client(t, kgo.TransactionalID("tid"), kgo.DefaultProduceTopic("tx"))
		if err := p1.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := p1.ProduceSync(cx, &kgo.Record{Value: []byte("old")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := p2.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := p2.ProduceSync(cx, &kgo.Record{Value: []byte("new")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := p1.ProduceSync(cx, &kgo.Record{Value: []byte("zombie")}).FirstErr(); !errors.Is(err, kerr.InvalidProducerEpoch) {
			t.Errorf("fenced produce = %v, want INVALID_PRODUCER_EPOCH", err)
		}
		if err := p1.EndTransaction(cx, kgo.TryCommit); !errors.Is(err, kerr.OperationNotAttempted) {
			t.Errorf("fenced commit = %v, want OPERATION_NOT_ATTEMPTED", err)
		}
		if err := p2.EndTransaction(cx, kgo.TryCommit); err != nil {
			t.Fatal(err)
		}
		rc := c.Client(t, kgo.ConsumeTopics("tx"), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		var vals []string
		for len(vals) < 1 && cx.Err() == nil {
			rc.PollFetches(cx).EachRecord(func(r *kgo.Record) { vals = append(vals, string(r.Value)) })
		}
		if len(vals) != 1 || vals[0] != "new" {
			t.Errorf("read_committed = %v, want [new]", vals)
		}
	})

	t.Run("same_on_both", func(t *testing.T) {
		// Commits to a live group without its member id, deleting a live
		// group, and replication above the broker count fail alike.
		os := kadm.Offsets{}
		os.Add(kadm.Offset{Topic: "p", Partition: 0, At: 2, LeaderEpoch: -1})
		r, err := adm.CommitOffsets(cx, live, os)
		if err == nil {
			err = r.Error()
		}
		if !errors.Is(err, kerr.UnknownMemberID) {
			t.Errorf("commit to live group %s = %v, want UNKNOWN_MEMBER_ID", live, err)
		}
		dg, err := adm.DeleteGroups(cx, live)
		if err != nil || !errors.Is(dg[live].Err, kerr.NonEmptyGroup) {
			t.Errorf("delete live group %s = %v %v, want NON_EMPTY_GROUP", live, err, dg[live].Err)
		}
		ct, err := adm.CreateTopic(cx, 1, 3, nil, "rf3")
		if err == nil {
			err = ct.Err
		}
		if !errors.Is(err, kerr.InvalidReplicationFactor) {
			t.Errorf("create with replication factor 3 on one broker = %v", err)
		}
	})
}
