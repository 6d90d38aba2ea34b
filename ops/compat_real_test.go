package ops_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestCreateTopicRejectedByBroker: Apache Kafka validates topic names and
// configurations (kfake accepts any); kdeck turns its refusal into
// ErrInvalid with the broker's reason, and nothing is created.
func TestCreateTopicRejectedByBroker(t *testing.T) {
	kafkatest.NeedsReal(t, "topic name and configuration validation")
	c := kafkatest.New(t)
	l := newLocal(t, c)
	tests := []struct {
		name    string
		req     ops.CreateTopicRequest
		wantMsg string
	}{
		{"unknown config", ops.CreateTopicRequest{Name: "t1", Configs: map[string]string{"retention.msec": "1"}}, "retention.msec"},
		{"bad value", ops.CreateTopicRequest{Name: "t2", Configs: map[string]string{"retention.ms": "soon"}}, "retention.ms"},
		{"bad name", ops.CreateTopicRequest{Name: "bad name!"}, "bad name!"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := l.CreateTopic(ctx(t), "", tc.req)
			if !errors.Is(err, ops.ErrInvalid) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("CreateTopic = %v, want ErrInvalid naming %q", err, tc.wantMsg)
			}
			t.Logf("error: %v", err)
		})
	}
	ts, err := l.ListTopics(ctx(t), "", ops.ListTopicsOptions{})
	if err != nil || len(ts) != 0 {
		t.Errorf("topics after refused creates = %+v, %v; want none", ts, err)
	}
}
