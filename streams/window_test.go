package streams

import (
	"fmt"
	"os"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(m, s int) time.Time {
	return t0.Add(time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
}

func TestWindowStarts(t *testing.T) {
	for _, tc := range []struct {
		w    Windows
		ms   int64
		want []int64
	}{
		{Tumbling(time.Minute), 59_999, []int64{0}},
		{Tumbling(time.Minute), 60_000, []int64{60_000}},
		{Tumbling(time.Minute), -1, []int64{-60_000}},
		{Hopping(time.Minute, 30*time.Second), 45_000, []int64{30_000, 0}},
		{Hopping(time.Minute, 30*time.Second), 30_000, []int64{30_000, 0}},
		{Hopping(time.Minute, 20*time.Second), 10_000, []int64{0, -20_000, -40_000}},
	} {
		if got := tc.w.starts(tc.ms); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v.starts(%d) = %v, want %v", tc.w, tc.ms, got, tc.want)
		}
	}
}

// windowResult is key@start=value.
func windowResults(recs []*kgo.Record) []string {
	last := map[string]float64{}
	for _, r := range recs {
		last[fmt.Sprintf("%s@%s", r.Key, r.Timestamp.UTC().Truncate(time.Minute).Format("15:04"))] = num(r.Value)
	}
	var out []string
	for k, v := range last {
		out = append(out, fmt.Sprintf("%s=%g", k, v))
	}
	sort.Strings(out)
	return out
}

// The clicks below, one partition, tumbling 1m windows with 10s grace:
//
//	a@0:05 a@0:30 b@0:50      -> [0:00,0:01) a=2 b=1
//	a@1:05                    -> stream time 1:05, window 0:00 open until 1:10
//	b@0:55                    -> within grace: [0:00) b=2
//	a@1:20                    -> stream time 1:20: window 0:00 closes
//	a@0:58                    -> late: dropped, counted
//	c@2:30                    -> window 1:00 closes
//	c@3:15                    -> window 2:00 closes; 3:00 stays open
//
// Final results: a@00:00=2 b@00:00=2 a@00:01=2 c@00:02=1; one late record.
var clicks = []struct {
	key  string
	m, s int
}{{"a", 0, 5}, {"a", 0, 30}, {"b", 0, 50}, {"a", 1, 5}, {"b", 0, 55}, {"a", 1, 20}, {"a", 0, 58}, {"c", 2, 30}, {"c", 3, 15}}

func produceClicks(t *testing.T, c *kafkatest.Cluster, topic string, batches int) {
	t.Helper()
	// Several produce calls, so that batches of the job split the sequence.
	per := (len(clicks) + batches - 1) / batches
	for i := 0; i < len(clicks); i += per {
		var recs []*kgo.Record
		for _, ck := range clicks[i:min(i+per, len(clicks))] {
			recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(ck.key), Value: []byte("x"), Timestamp: at(ck.m, ck.s)})
		}
		c.Produce(t, recs...)
	}
}

func TestWindowedCountFinalWithGraceAndLateRecords(t *testing.T) {
	for _, batches := range []int{1, 9} {
		t.Run(fmt.Sprintf("batches=%d", batches), func(t *testing.T) {
			c := kafkatest.New(t)
			c.CreateTopic(t, "clicks", 1)
			c.CreateTopic(t, "per-minute", 1)
			produceClicks(t, c, "clicks", batches)
			top := NewTopology("clicks-final")
			top.Stream("clicks", []string{"clicks"}).GroupByKey().
				Windowed(Tumbling(time.Minute).WithGrace(10*time.Second)).
				Aggregate("per-minute", Count(), EmitFinal).
				To("out", "per-minute")
			j, _ := startJob(t, c, top, DataDir(t.TempDir()), MaxPollRecords(len(clicks)/batches+1))
			want := []string{"a@00:00=2", "a@00:01=2", "b@00:00=2", "c@00:02=1"}
			recs := readAll(t, c, "per-minute", 4, 20*time.Second)
			if got := windowResults(recs); !reflect.DeepEqual(got, want) || len(recs) != 4 {
				t.Fatalf("final results %v (%d records), want %v once each", got, len(recs), want)
			}
			kafkatest.WaitFor(t, 10*time.Second, "late record counted", func() bool { return j.Status().LateRecords == 1 })
			// The store keeps only open windows: c@3:00.
			kafkatest.WaitFor(t, 10*time.Second, "store holds c@3:00=1 only", func() bool {
				open, err := j.Get("per-minute", []byte("c"))
				return err == nil && len(open) == 1 && *open[0].Number == 1 && open[0].Window.Start.Equal(at(3, 0))
			})
		})
	}
}

func TestWindowedEmitUpdateAndHopping(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "clicks", 1)
	c.CreateTopic(t, "updates", 1)
	c.CreateTopic(t, "hops", 1)
	produceClicks(t, c, "clicks", 3)
	top := NewTopology("clicks-update")
	g := top.Stream("clicks", []string{"clicks"}).GroupByKey()
	g.Windowed(Tumbling(time.Minute).WithGrace(10*time.Second)).
		Aggregate("per-minute", Count(), EmitUpdate).To("out", "updates")
	g.Windowed(Hopping(2*time.Minute, time.Minute)).
		Aggregate("per-2-minutes", Count(), EmitFinal).To("hops-out", "hops")
	startJob(t, c, top, DataDir(t.TempDir()), MaxPollRecords(3))
	// Update mode: the latest value of every window, including the still
	// open 3:00 window.
	want := []string{"a@00:00=2", "a@00:01=2", "b@00:00=2", "c@00:02=1", "c@00:03=1"}
	kafkatest.WaitFor(t, 20*time.Second, "update results", func() bool {
		return reflect.DeepEqual(windowResults(c.ReadToEnd(t, "updates")), want)
	})
	// Hopping 2m/1m without grace: windows [-1:00,1:00) [0:00,2:00)
	// [1:00,3:00) [2:00,4:00). With no grace, a record is late once stream
	// time passed its window's end: b@0:55 arrives at stream time 1:05, so
	// window [-1:00,1:00) no longer takes it but [0:00,2:00) does.
	// Closed by stream time 3:15: windows ending at or before 3:15.
	recs := readAll(t, c, "hops", 6, 20*time.Second)
	got := map[string]float64{}
	for _, r := range recs {
		got[fmt.Sprintf("%s@%s", r.Key, r.Timestamp.Add(time.Millisecond).Add(-2*time.Minute).UTC().Format("15:04"))] = num(r.Value)
	}
	// a@0:58 arrives at stream time 1:20: window [0:00,2:00) is open, so
	// it counts there, while [-1:00,1:00) has closed.
	wantHops := map[string]float64{
		"a@23:59": 2, "b@23:59": 1, // [-1:00,1:00): a@0:05 a@0:30 b@0:50
		"a@00:00": 5, "b@00:00": 2, // [0:00,2:00): a 0:05 0:30 1:05 1:20 0:58; b 0:50 0:55
		"a@00:01": 2, "c@00:01": 1, // [1:00,3:00): a 1:05 1:20; c 2:30
	}
	if !reflect.DeepEqual(got, wantHops) {
		t.Fatalf("hopping results %v, want %v", got, wantHops)
	}
}

func TestRestoreAfterDataDirWiped(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "words", 2)
	c.CreateTopic(t, "counts", 2)
	produce := func(words ...string) {
		var recs []*kgo.Record
		for _, w := range words {
			recs = append(recs, &kgo.Record{Topic: "words", Key: []byte(w), Value: []byte(w)})
		}
		c.Produce(t, recs...)
	}
	build := func() *Topology {
		top := NewTopology("restore")
		top.Stream("words", []string{"words"}).GroupByKey().Aggregate("counts", Count()).To("out", "counts")
		return top
	}
	dir := t.TempDir()
	wait := func(j *Job, key string, want float64) {
		t.Helper()
		kafkatest.WaitFor(t, 20*time.Second, fmt.Sprintf("count %s=%g", key, want), func() bool {
			got, _ := j.Get("counts", []byte(key))
			return len(got) == 1 && *got[0].Number == want
		})
	}
	produce("a", "b", "a", "c", "a")
	j, stop := startJob(t, c, build(), DataDir(dir))
	wait(j, "a", 3)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// Restart with the checkpoint: nothing to restore.
	produce("a")
	j, stop = startJob(t, c, build(), DataDir(dir))
	wait(j, "a", 4)
	for _, ts := range j.Status().Tasks {
		for _, s := range ts.Stores {
			if s.RestoreTotal != 0 {
				t.Errorf("partition %d restored %d records despite a valid checkpoint", ts.Partition, s.RestoreTotal)
			}
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	produce("a", "b")
	j, _ = startJob(t, c, build(), DataDir(dir))
	wait(j, "a", 5)
	wait(j, "b", 2)
	wait(j, "c", 1)
	var restored int64
	for _, ts := range j.Status().Tasks {
		for _, s := range ts.Stores {
			restored += s.Restored
		}
	}
	if restored == 0 {
		t.Error("status reports no restored records after wiping the data dir")
	}
}
