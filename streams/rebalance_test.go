package streams

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/jobstate"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestRebalanceBetweenInstances runs one instance, adds a second one
// mid-stream (partitions and their state move to it), then stops the
// first (everything moves back to the second): the sums are exact.
func TestRebalanceBetweenInstances(t *testing.T) {
	for _, g := range []Guarantee{AtLeastOnce, ExactlyOnce} {
		t.Run(string(g), func(t *testing.T) {
			c := kafkatest.New(t)
			c.CreateTopic(t, "amounts", 4)
			c.CreateTopic(t, "sums", 1)
			const keys = 12
			want := map[string]float64{}
			produce := func(round int) {
				var recs []*kgo.Record
				for i := 0; i < 300; i++ {
					k := fmt.Sprintf("k%d", i%keys)
					v := float64(round*1000 + i)
					want[k] += v
					recs = append(recs, &kgo.Record{Topic: "amounts", Key: []byte(k), Value: []byte(fmt.Sprint(v))})
				}
				c.Produce(t, recs...)
			}
			build := func() *Topology {
				top := NewTopology("rebalance")
				top.Stream("amounts", []string{"amounts"}).GroupByKey().
					Aggregate("sums", Sum(func(r Record) (float64, error) {
						var f float64
						_, err := fmt.Sscan(string(r.Value), &f)
						return f, err
					})).To("out", "sums")
				return top
			}
			last := map[string]float64{}
			caughtUp := func() bool {
				for _, r := range c.ReadToEnd(t, "sums") {
					last[string(r.Key)] = num(r.Value)
				}
				for k, v := range want {
					if last[k] != v {
						return false
					}
				}
				return true
			}
			opts := []Opt{WithGuarantee(g), MaxPollRecords(50)}
			produce(0)
			a, stopA := startJob(t, c, build(), append(opts, DataDir(t.TempDir()))...)
			kafkatest.WaitFor(t, 30*time.Second, "round 0 summed", caughtUp)
			b, _ := startJob(t, c, build(), append(opts, DataDir(t.TempDir()))...)
			kafkatest.WaitFor(t, 30*time.Second, "partitions shared", func() bool {
				return len(a.Status().Tasks) > 0 && len(b.Status().Tasks) > 0 && len(a.Status().Tasks)+len(b.Status().Tasks) == 4
			})
			produce(1)
			kafkatest.WaitFor(t, 30*time.Second, "round 1 summed", caughtUp)
			if err := stopA(); err != nil {
				t.Fatal(err)
			}
			kafkatest.WaitFor(t, 30*time.Second, "b owns every partition", func() bool { return len(b.Status().Tasks) == 4 })
			produce(2)
			kafkatest.WaitFor(t, 30*time.Second, "round 2 summed", caughtUp)
			for k, v := range want {
				got, err := b.Get("sums", []byte(k))
				if err != nil || len(got) != 1 || *got[0].Number != v {
					t.Fatalf("b's store: %s = %+v, %v; want %g", k, got, err, v)
				}
			}
		})
	}
}

func TestPauseResume(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "in", 1)
	c.CreateTopic(t, "out", 1)
	top := NewTopology("pause")
	top.Stream("in", []string{"in"}).To("out", "out")
	j, _ := startJob(t, c, top, DataDir(t.TempDir()))
	c.ProduceN(t, "in", 5)
	kafkatest.WaitFor(t, 20*time.Second, "5 records copied", func() bool { return j.Status().RecordsIn == 5 })
	j.Pause()
	kafkatest.WaitFor(t, 10*time.Second, "PAUSED", func() bool { return j.Status().State == jobstate.Paused })
	// Fetching is paused before the state says so; records produced now
	// wait until Resume.
	c.ProduceN(t, "in", 5)
	if n := len(c.ReadToEnd(t, "out")); n != 5 {
		t.Fatalf("%d records out while paused, want 5", n)
	}
	j.Resume()
	kafkatest.WaitFor(t, 20*time.Second, "10 records copied after resume", func() bool { return j.Status().RecordsIn == 10 })
}
