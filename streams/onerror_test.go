package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/plugin/kslog"

	"github.com/kdeck/kdeck/deadletter"
	"github.com/kdeck/kdeck/jobstate"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// badInput writes ten records to "in", the sixth (offset 5) not JSON.
func badInput(t *testing.T, c *kafkatest.Cluster) { badInputParts(t, c, 1) }

// badInputParts writes ten records round robin over parts partitions of
// "in", the sixth not JSON.
func badInputParts(t *testing.T, c *kafkatest.Cluster, parts int32) {
	t.Helper()
	for _, tp := range []string{"in", "out", "dlq"} {
		c.CreateTopic(t, tp, parts)
	}
	var recs []*kgo.Record
	for i := range 10 {
		v := fmt.Sprintf(`{"n":%d}`, i)
		if i == 5 {
			v = "not json {"
		}
		recs = append(recs, &kgo.Record{Topic: "in", Partition: int32(i) % parts, Key: []byte(fmt.Sprint(i)), Value: []byte(v)})
	}
	c.Produce(t, recs...)
}

func badSpec(name, guarantee, onError string) JobSpec {
	s := JobSpec{Name: name, Inputs: []string{"in"}, Format: "json", Value: "value.n", Output: "out", Guarantee: guarantee, OnError: onError}
	if onError == "dlq" {
		s.DLQTopic = "dlq"
	}
	return s
}

func values(rs []*kgo.Record) string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r.Value))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestOnErrorFailCommitsTheRecordsBeforeAndFailsOnce(t *testing.T) {
	for _, g := range []string{"at_least_once", "exactly_once"} {
		t.Run(g, func(t *testing.T) {
			c := kafkatest.New(t)
			badInput(t, c)
			name := "fail-" + g
			j, err := New(badSpec(name, g, ""), []kgo.Opt{kgo.SeedBrokers(c.Addrs()...), kgo.WithLogger(kslog.New(testLog))}, WithLogger(testLog), DataDir(t.TempDir()))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			err = j.Run(ctx) // returns by itself: the default is to fail
			var re *RecordError
			if !errors.As(err, &re) || re.Topic != "in" || re.Partition != 0 || re.Offset != 5 || !re.Permanent() {
				t.Fatalf("Run = %v, want a permanent RecordError at in/0@5", err)
			}
			if !strings.Contains(err.Error(), "in/0@5") || !strings.Contains(err.Error(), `on_error = "skip"`) {
				t.Errorf("error %q does not name the record and the way out", err)
			}
			if st := j.Status(); st.State != jobstate.Failed || !strings.Contains(st.Error, "in/0@5") {
				t.Errorf("status %s %q, want FAILED with the record", st.State, st.Error)
			}
			// The five records before the bad one are emitted, and
			// committed up to (not past) the bad one.
			if got := values(c.ReadToEnd(t, "out")); got != "0 1 2 3 4" {
				t.Fatalf("out = %q, want the five records before the bad one", got)
			}
			if got := c.Committed(t, name)["in"][0]; got != 5 {
				t.Fatalf("committed %d, want 5 (the bad record)", got)
			}
			// Skipping it from there emits the rest, once.
			_, stop := startJob(t, c, badSpec(name, g, "skip"), DataDir(t.TempDir()))
			out := readAll(t, c, "out", 9, 30*time.Second)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if got := values(c.ReadToEnd(t, "out")); got != "0 1 2 3 4 6 7 8 9" || len(out) != 9 {
				t.Fatalf("out after skip = %q, want every good record once", got)
			}
		})
	}
}

// TestOnErrorFailTwoPartitions: with the bad record in one partition of a
// batch, every good record is emitted exactly once across the failed run and
// the run that skips the bad record, whichever partition was processed
// first.
func TestOnErrorFailTwoPartitions(t *testing.T) {
	for _, g := range []string{"at_least_once", "exactly_once"} {
		t.Run(g, func(t *testing.T) {
			c := kafkatest.New(t)
			badInputParts(t, c, 2) // the bad record is partition 1, offset 2
			name := "fail2-" + g
			j, err := New(badSpec(name, g, ""), []kgo.Opt{kgo.SeedBrokers(c.Addrs()...), kgo.WithLogger(kslog.New(testLog))}, WithLogger(testLog), DataDir(t.TempDir()))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var re *RecordError
			if err := j.Run(ctx); !errors.As(err, &re) || re.Partition != 1 || re.Offset != 2 {
				t.Fatalf("Run = %v, want a RecordError at in/1@2", err)
			}
			if got := c.Committed(t, name)["in"][1]; got > 2 {
				t.Fatalf("partition 1 committed at %d, past the bad record", got)
			}
			_, stop := startJob(t, c, badSpec(name, g, "skip"), DataDir(t.TempDir()))
			readAll(t, c, "out", 9, 30*time.Second)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if got := values(c.ReadToEnd(t, "out")); got != "0 1 2 3 4 6 7 8 9" {
				t.Fatalf("out = %q, want every good record once", got)
			}
		})
	}
}

func TestOnErrorSkipAndDLQ(t *testing.T) {
	for _, g := range []string{"at_least_once", "exactly_once"} {
		for _, mode := range []string{"skip", "dlq"} {
			t.Run(g+"/"+mode, func(t *testing.T) {
				c := kafkatest.New(t)
				badInput(t, c)
				j, stop := startJob(t, c, badSpec(mode+"-"+g, g, mode), DataDir(t.TempDir()))
				readAll(t, c, "out", 9, 30*time.Second)
				kafkatest.WaitFor(t, 30*time.Second, "input committed", func() bool { return c.Committed(t, mode+"-"+g)["in"][0] == 10 })
				st := j.Status()
				if err := stop(); err != nil {
					t.Fatal(err)
				}
				if got := values(c.ReadToEnd(t, "out")); got != "0 1 2 3 4 6 7 8 9" {
					t.Fatalf("out = %q, want the nine good records", got)
				}
				if st.Errors != 1 || st.OnError != ErrorMode(mode) {
					t.Errorf("status errors %d, on_error %q; want 1, %s", st.Errors, st.OnError, mode)
				}
				dlq := c.ReadToEnd(t, "dlq")
				if mode == "skip" {
					if len(dlq) != 0 || st.DLQ != 0 {
						t.Fatalf("skip wrote %d dead-letter records (status %d)", len(dlq), st.DLQ)
					}
					return
				}
				if len(dlq) != 1 || st.DLQ != 1 {
					t.Fatalf("dlq has %d records, status %d; want 1", len(dlq), st.DLQ)
				}
				d := dlq[0]
				h := map[string]string{}
				for _, x := range d.Headers {
					h[x.Key] = string(x.Value)
				}
				if string(d.Value) != "not json {" || string(d.Key) != "5" {
					t.Errorf("dead-letter record %q=%q, want the input record as it was", d.Key, d.Value)
				}
				if h[deadletter.HeaderTopic] != "in" || h[deadletter.HeaderPartition] != "0" || h[deadletter.HeaderOffset] != "5" || h[deadletter.HeaderMessage] == "" {
					t.Errorf("dead-letter headers %v lack the input's coordinates or the error", h)
				}
			})
		}
	}
}

func TestOnErrorValidation(t *testing.T) {
	for _, tc := range []struct {
		table map[string]any
		want  string
	}{
		{map[string]any{"on_error": "ignore"}, `on_error: "ignore" is unknown`},
		{map[string]any{"on_error": "dlq"}, "needs dlq_topic"},
		{map[string]any{"dlq_topic": "d"}, `on_error = "dlq"`},
	} {
		tab := map[string]any{"name": "v", "inputs": []any{"in"}, "output": "out"}
		for k, v := range tc.table {
			tab[k] = v
		}
		_, err := ParseJob(tab)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.table, err, tc.want)
		}
	}
	if _, err := New(badSpec("v", "", ""), nil, OnError(OnErrorDLQ)); err == nil || !strings.Contains(err.Error(), "dlq_topic") {
		t.Errorf("OnError(dlq) without DLQTopic: %v", err)
	}
}

// TestCorruptAggregateIsAnError: a stored aggregate that does not decode
// fails the job naming the store and the key (whatever on_error says), not
// a silent restart of the aggregate at 0.
func TestCorruptAggregateIsAnError(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "in", 1)
	c.CreateTopic(t, "out", 1)
	c.CreateTopic(t, "counts-aggregate-changelog", 1, "cleanup.policy=compact")
	c.Produce(t, &kgo.Record{Topic: "counts-aggregate-changelog", Key: []byte("ka"), Value: []byte("bad")})
	c.Produce(t, &kgo.Record{Topic: "in", Value: []byte(`{"k":"a"}`)})
	spec := JobSpec{Name: "counts", Inputs: []string{"in"}, Key: "value.k", Aggregate: &AggregateSpec{Op: "count"}, Output: "out", OnError: "skip"}
	j, err := New(spec, []kgo.Opt{kgo.SeedBrokers(c.Addrs()...), kgo.WithLogger(kslog.New(testLog))}, WithLogger(testLog), DataDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = j.Run(ctx)
	var ce *CorruptStateError
	if !errors.As(err, &ce) || ce.Store != "aggregate" || string(ce.Key) != "a" || !ce.Permanent() {
		t.Fatalf("Run = %v, want a CorruptStateError naming store aggregate, key a", err)
	}
	if !strings.Contains(err.Error(), "kdeck streams reset") {
		t.Errorf("error %q does not say what to do", err)
	}
	if got := c.ReadToEnd(t, "out"); len(got) != 0 {
		t.Errorf("emitted %d records from corrupt state", len(got))
	}
}

// TestStopIsBoundedWhenOutputsHang: a batch whose outputs the cluster never
// acknowledges does not hold Run past the produce grace after a stop (it
// waited twice the network timeout, 30s, before).
func TestStopIsBoundedWhenOutputsHang(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "in", 1)
	c.CreateTopic(t, "out", 1)
	c.ProduceN(t, "in", 100)
	c.DelayRequests(kmsg.Produce, 2*time.Minute, 1000) // from now on nothing is acknowledged
	j, stop := startJob(t, c, JobSpec{Name: "hang", Inputs: []string{"in"}, Format: "string", Output: "out"}, DataDir(t.TempDir()))
	kafkatest.WaitFor(t, 30*time.Second, "a batch in flight", func() bool { return j.Status().RecordsOut > 0 })
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("Run = %v, want a clean stop (the batch is not committed)", err)
	}
	if took := time.Since(start); took > produceGrace+10*time.Second {
		t.Fatalf("Run took %v to stop, want about the produce grace (%v)", took, produceGrace)
	}
	if got := c.Committed(t, "hang")["in"][0]; got != 0 {
		t.Errorf("committed %d for a batch never acknowledged", got)
	}
}

// TestOnErrorFailKeepsStateBeforeTheBadRecord: an aggregate folds the
// records before the bad one, emits and keeps that state (store and
// changelog), and goes on from it once the bad record is skipped.
func TestOnErrorFailKeepsStateBeforeTheBadRecord(t *testing.T) {
	for _, g := range []Guarantee{AtLeastOnce, ExactlyOnce} {
		t.Run(string(g), func(t *testing.T) {
			c := kafkatest.New(t)
			badInput(t, c)
			name := "count-" + string(g)
			top := func() *Topology {
				top := NewTopology(name)
				top.Stream("in", []string{"in"}).
					Map("decode", func(r Record) (Record, error) {
						if !json.Valid(r.Value) {
							return r, errors.New("value is not JSON")
						}
						r.Key = []byte("all")
						return r, nil
					}).
					GroupByKey().Aggregate("count", Count()).To("out", "out")
				return top
			}
			j, err := New(top(), []kgo.Opt{kgo.SeedBrokers(c.Addrs()...), kgo.WithLogger(kslog.New(testLog))}, WithLogger(testLog), DataDir(t.TempDir()), WithGuarantee(g))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var re *RecordError
			if err := j.Run(ctx); !errors.As(err, &re) || re.Offset != 5 {
				t.Fatalf("Run = %v, want a RecordError at offset 5", err)
			}
			last := func() float64 {
				out := c.ReadToEnd(t, "out")
				if len(out) == 0 {
					return -1
				}
				return num(out[len(out)-1].Value)
			}
			if got := last(); got != 5 {
				t.Fatalf("last count %v, want 5: the records before the bad one", got)
			}
			// A fresh data dir: the state comes back from the changelog.
			_, stop := startJob(t, c, top(), DataDir(t.TempDir()), WithGuarantee(g), OnError(OnErrorSkip))
			kafkatest.WaitFor(t, 30*time.Second, "the count of the nine good records", func() bool { return last() == 9 })
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
