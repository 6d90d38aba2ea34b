package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
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

// drain reads every committed record of topic up to its end offsets as
// they are when drain is called: it lists the last stable offsets (the end
// a read-committed reader can reach) and consumes until its position has
// reached them on every partition, control records included, so a record
// written before the call is never missed however late it arrives. Call it
// once the producing side is done, or inside WaitFor. It fails the test if
// the end is not reached within 30s.
func drain(t *testing.T, c *kafkatest.Cluster, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	if err != nil {
		t.Fatalf("drain %s: %v", topic, err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	ends, err2 := adm.ListCommittedOffsets(ctx, topic)
	if err == nil {
		err = errors.Join(err2, ends.Error())
	}
	if err != nil {
		t.Fatalf("drain %s: listing its offsets: %v", topic, err)
	}
	want := map[int32]int64{} // partition → end offset not yet reached
	ends.Each(func(o kadm.ListedOffset) {
		if s, ok := starts.Lookup(topic, o.Partition); ok && o.Offset > s.Offset {
			want[o.Partition] = o.Offset
		}
	})
	var out []*kgo.Record
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("drain %s: after 30s still short of the end offsets %v", topic, want)
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
