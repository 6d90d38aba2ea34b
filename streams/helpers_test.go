package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kslog"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

// startJob runs a job until the test ends (or stop is called) and returns
// it with a stop func that waits for Run and returns its error.
func startJob(t *testing.T, c *kafkatest.Cluster, b Builder, opts ...Opt) (*Job, func() error) {
	t.Helper()
	j, err := New(b, []kgo.Opt{kgo.SeedBrokers(c.Addrs()...), kgo.HeartbeatInterval(250 * time.Millisecond), kgo.WithLogger(kslog.New(testLog))}, append([]Opt{WithLogger(testLog)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- j.Run(ctx) }()
	stopped := false
	var runErr error
	stop := func() error {
		if stopped {
			return runErr
		}
		stopped = true
		cancel()
		select {
		case runErr = <-done:
		case <-time.After(30 * time.Second):
			runErr = errors.New("Run did not return within 30s of cancel")
		}
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return j, stop
}

// readAll reads topic from the start until want records were read or the
// timeout passes (read_committed).
func readAll(t *testing.T, c *kafkatest.Cluster, topic string, want int, timeout time.Duration) []*kgo.Record {
	t.Helper()
	cl := c.Client(t, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []*kgo.Record
	for len(out) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		out = append(out, fs.Records()...)
	}
	return out
}

func jsonRec(topic, key string, ts time.Time, v any) *kgo.Record {
	b, _ := json.Marshal(v)
	return &kgo.Record{Topic: topic, Key: []byte(key), Value: b, Timestamp: ts}
}

func num(b []byte) float64 {
	n, ok := DecodeNumber(b)
	if !ok {
		panic(fmt.Sprintf("not a number: %q", b))
	}
	return n
}
