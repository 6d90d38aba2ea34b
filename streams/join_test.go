package streams

import (
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

func TestStreamTableJoinWithCDCTable(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "customers", 2, "cleanup.policy=compact")
	c.CreateTopic(t, "orders", 2)
	c.CreateTopic(t, "enriched", 1)
	cdc := func(key, op, tier string) *kgo.Record {
		v := fmt.Sprintf(`{"op":%q,"after":{"tier":%q}}`, op, tier)
		if op == "d" {
			v = `{"op":"d","before":{"tier":"x"},"after":null}`
		}
		return &kgo.Record{Topic: "customers", Key: []byte(key), Value: []byte(v)}
	}
	c.Produce(t, cdc("c1", "c", "gold"), cdc("c2", "c", "silver"), cdc("c1", "u", "platinum"), cdc("c2", "d", ""), cdc("c4", "r", "tin"))
	order := func(id, customer string) *kgo.Record {
		return &kgo.Record{Topic: "orders", Key: []byte(id), Value: []byte(customer)}
	}
	c.Produce(t, order("o1", "c1"), order("o2", "c2"), order("o3", "c3"))

	top := NewTopology("enrich")
	customers := top.Table("customers", "customers", WithCDC(CDCJSON()))
	top.Stream("orders", []string{"orders"}).
		JoinTable("with-customer", customers,
			func(r Record) ([]byte, error) { return r.Value, nil },
			func(r Record, row []byte, found bool) (Record, bool, error) {
				r.Value = []byte(fmt.Sprintf("%s:%s:%s", r.Key, r.Value, row))
				return r, true, nil // left join: keep unmatched orders
			}).
		To("out", "enriched")
	j, _ := startJob(t, c, top, DataDir(t.TempDir()))
	got := func(n int) []string {
		var out []string
		for _, r := range readAll(t, c, "enriched", n, 20*time.Second) {
			out = append(out, string(r.Value))
		}
		sort.Strings(out)
		return out
	}
	want := []string{`o1:c1:{"tier":"platinum"}`, "o2:c2:", "o3:c3:"}
	if g := got(3); !reflect.DeepEqual(g, want) {
		t.Fatalf("joined %q, want %q", g, want)
	}
	// The table follows its topic: a new customer is joined once it
	// arrived in the local cache.
	c.Produce(t, cdc("c3", "c", "bronze"))
	kafkatest.WaitFor(t, 20*time.Second, "c3 in the local table", func() bool {
		rows, err := j.Get("customers", []byte("c3"))
		return err == nil && len(rows) == 1
	})
	if rows, _ := j.Get("customers", []byte("c2")); len(rows) != 0 {
		t.Fatalf("deleted customer c2 is still in the table: %+v", rows)
	}
	c.Produce(t, order("o4", "c3"))
	want = append(want, `o4:c3:{"tier":"bronze"}`)
	sort.Strings(want)
	if g := got(4); !reflect.DeepEqual(g, want) {
		t.Fatalf("joined %q, want %q", g, want)
	}
}

func TestStreamStreamJoin(t *testing.T) {
	for _, kind := range []JoinKind{InnerJoin, LeftJoin} {
		t.Run(fmt.Sprint(kind), func(t *testing.T) {
			c := kafkatest.New(t)
			c.CreateTopic(t, "views", 1)
			c.CreateTopic(t, "clicks", 1)
			c.CreateTopic(t, "pairs", 1)
			rec := func(topic, key, v string, m, s int) *kgo.Record {
				return &kgo.Record{Topic: topic, Key: []byte(key), Value: []byte(v), Timestamp: at(m, s)}
			}
			c.Produce(t,
				rec("views", "u1", "v1", 0, 0), rec("views", "u2", "v2", 0, 10), rec("views", "u3", "v3", 5, 0))
			c.Produce(t,
				rec("clicks", "u1", "k1", 0, 20), // within 30s of v1
				rec("clicks", "u2", "k2", 1, 0),  // 50s after v2: outside
				rec("clicks", "u1", "k3", 0, 25)) // within 30s of v1
			top := NewTopology("pairs")
			views := top.Stream("views", []string{"views"})
			clicks := top.Stream("clicks", []string{"clicks"})
			views.Join("view-click", clicks, 30*time.Second, time.Minute, kind, func(l Record, r *Record) (Record, error) {
				rv := "-"
				if r != nil {
					rv = string(r.Value)
				}
				l.Value = []byte(string(l.Value) + "+" + rv)
				return l, nil
			}).To("out", "pairs")
			startJob(t, c, top, DataDir(t.TempDir()))
			want := []string{"v1+k1", "v1+k3"}
			if kind == LeftJoin {
				// views arrive first (one partition each, views produced first
				// is not guaranteed to be processed first): unmatched views
				// are emitted at arrival. v2 and v3 never match.
				want = nil
			}
			kafkatest.WaitFor(t, 20*time.Second, "join results", func() bool {
				var got []string
				for _, r := range c.ReadToEnd(t, "pairs") {
					got = append(got, string(r.Value))
				}
				sort.Strings(got)
				if kind == LeftJoin {
					return contains(got, "v1+k1") && contains(got, "v1+k3") && contains(got, "v2+-") && contains(got, "v3+-") && !contains(got, "v2+k2")
				}
				return reflect.DeepEqual(got, want)
			})
		})
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
