package streams

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

func TestStatelessSteps(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "in", 3)
	c.CreateTopic(t, "in2", 3)
	c.CreateTopic(t, "small", 1)
	c.CreateTopic(t, "big", 1)
	var recs []*kgo.Record
	for i := 0; i < 30; i++ {
		recs = append(recs, &kgo.Record{Topic: "in", Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprint(i))})
	}
	recs = append(recs, &kgo.Record{Topic: "in2", Key: []byte("x"), Value: []byte("100")})
	c.Produce(t, recs...)

	top := NewTopology("stateless")
	a := top.Stream("a", []string{"in"})
	b := top.Stream("b", []string{"in2"})
	m := top.Merge("both", a, b)
	even := m.Filter("even", func(r Record) (bool, error) { return r.Value[len(r.Value)-1]%2 == 0, nil })
	tagged := even.Map("tag", func(r Record) (Record, error) { r.Value = append([]byte("v"), r.Value...); return r, nil })
	twice := tagged.FlatMap("twice", func(r Record) ([]Record, error) { return []Record{r, r}, nil })
	br := twice.Branch([]string{"small", "big"},
		func(r Record) (bool, error) { return len(r.Value) <= 2, nil },
		func(r Record) (bool, error) { return true, nil })
	br[0].To("small-out", "small")
	br[1].To("big-out", "big")
	startJob(t, c, top)

	small := readAll(t, c, "small", 10, 20*time.Second) // v0 v2 v4 v6 v8, twice
	big := readAll(t, c, "big", 22, 20*time.Second)     // v10..v28 even (10) + v100, twice
	if len(small) != 10 || len(big) != 22 {
		t.Fatalf("got %d small and %d big records, want 10 and 22", len(small), len(big))
	}
	var got []string
	for _, r := range small {
		got = append(got, string(r.Value))
	}
	sort.Strings(got)
	if want := "v0 v0 v2 v2 v4 v4 v6 v6 v8 v8"; strings.Join(got, " ") != want {
		t.Fatalf("small = %v, want %s", got, want)
	}
}

func TestValidationNamesEveryProblem(t *testing.T) {
	top := NewTopology("bad app")
	s := top.Stream("src", nil)
	s.Filter("x", func(Record) (bool, error) { return true, nil }).To("x", "")
	s.GroupByKey().Windowed(Tumbling(0)).Aggregate("agg", Count(), EmitFinal)
	_, err := New(top, nil)
	if err == nil {
		t.Fatal("New accepted an invalid topology")
	}
	for _, want := range []string{"application id", "no input topic", "already used", "no topic", "window size"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestGroupByCountWithRepartition(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "words", 2)
	c.CreateTopic(t, "counts", 1)
	var recs []*kgo.Record
	words := strings.Fields("a b a c b a d a")
	for i, w := range words {
		recs = append(recs, &kgo.Record{Topic: "words", Key: []byte(fmt.Sprint(i)), Value: []byte(w)})
	}
	c.Produce(t, recs...)
	top := NewTopology("wc")
	top.Stream("words", []string{"words"}).
		GroupBy("by-word", func(r Record) ([]byte, error) { return r.Value, nil }).
		Aggregate("counts", Count()).
		To("out", "counts")
	dir := t.TempDir()
	j, _ := startJob(t, c, top, DataDir(dir))
	final := map[string]float64{}
	kafkatest.WaitFor(t, 20*time.Second, "counts a=4", func() bool {
		for _, r := range c.ReadToEnd(t, "counts") {
			final[string(r.Key)] = num(r.Value)
		}
		return final["a"] == 4 && final["b"] == 2 && final["c"] == 1 && final["d"] == 1
	})
	got, err := j.Get("counts", []byte("a"))
	if err != nil || len(got) != 1 || *got[0].Number != 4 {
		t.Fatalf("Get(counts, a) = %+v, %v; want 4", got, err)
	}
	top3, err := j.TopN("counts", 2)
	if err != nil || len(top3) != 2 || !bytes.Equal(top3[0].Key, []byte("a")) || !bytes.Equal(top3[1].Key, []byte("b")) {
		t.Fatalf("TopN = %+v, %v", top3, err)
	}
	for _, topic := range []string{"wc-counts-changelog", "wc-by-word-repartition"} {
		if c.Partitions(t, topic) != 2 {
			t.Errorf("%s has %d partitions, want 2", topic, c.Partitions(t, topic))
		}
	}
}
