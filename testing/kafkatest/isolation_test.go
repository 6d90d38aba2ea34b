package kafkatest_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestNewIsolates: each test starts on an empty cluster (on the real tier,
// New deletes what earlier tests left), and a second New while the first
// is held gives a different cluster.
func TestNewIsolates(t *testing.T) {
	t.Run("leave_data", func(t *testing.T) {
		c := kafkatest.New(t)
		c.CreateTopic(t, "leftover", 1)
		c.ProduceN(t, "leftover", 3)
		c.Commit(t, "leftover-group", map[string]map[int32]int64{"leftover": {0: 1}})
	})
	t.Run("starts_empty", func(t *testing.T) {
		c := kafkatest.New(t)
		adm := c.Admin(t)
		ts, err := adm.ListTopics(t.Context())
		if err != nil || len(ts) != 0 {
			t.Errorf("topics at test start = %v, %v; want none", ts.Names(), err)
		}
		gs, err := adm.ListGroups(t.Context())
		if err != nil || len(gs) != 0 {
			t.Errorf("groups at test start = %v, %v; want none", gs.Groups(), err)
		}
	})
	t.Run("second_cluster", func(t *testing.T) {
		if kafkatest.Backend() == "real" && kafkatest.RealClusters() < 2 {
			t.Fatal("the real tier needs at least 2 clusters: testing/realkafka/kafka.sh start 3")
		}
		a := kafkatest.New(t)
		b := kafkatest.New(t, kafkatest.Name("dr"))
		if a.Addr() == b.Addr() || b.Name() != "dr" {
			t.Fatalf("two clusters share %s (names %s, %s)", a.Addr(), a.Name(), b.Name())
		}
		a.CreateTopic(t, "only-on-a", 1)
		ts, err := b.Admin(t).ListTopics(t.Context())
		if err != nil || slices.Contains(ts.Names(), "only-on-a") {
			t.Errorf("second cluster sees %v, %v", ts.Names(), err)
		}
	})
}

// TestFaultsNeedFake: fault injection works on kfake and skips, saying so,
// on the real tier.
func TestFaultsNeedFake(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "t", 1)
	remove := c.FailRequests(kmsg.CreateTopics, 1, kerr.PolicyViolation)
	defer remove()
	if c.IsReal() {
		t.Fatal("FailRequests returned on the real tier; it must skip the test")
	}
	resp, err := c.Admin(t).CreateTopic(t.Context(), 1, 1, nil, "u")
	if err == nil {
		err = resp.Err
	}
	if !errors.Is(err, kerr.PolicyViolation) {
		t.Errorf("create under a fault = %v, want POLICY_VIOLATION", err)
	}
}
