package connect

import (
	"context"
	"encoding/json"
	"testing"
)

type fakeTC struct{ off map[string]any }

func (f fakeTC) Offset(map[string]any) map[string]any { return f.off }
func (fakeTC) TaskID() int                            { return 0 }
func (fakeTC) Name() string                           { return "t" }

func datagenTasks(t *testing.T, table map[string]any) []SourceTask {
	t.Helper()
	p, err := CommonSpec().With(datagenPlugin().Spec).Parse(table)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := datagenPlugin().NewSource(p)
	if err != nil {
		t.Fatal(err)
	}
	confs, _ := sc.Tasks(int(p.Int(FieldTasksMax)))
	var out []SourceTask
	for _, c := range confs {
		st, err := sc.NewTask(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, st)
	}
	return out
}

func TestDatagenValueSizeJSONAndCount(t *testing.T) {
	ts := datagenTasks(t, map[string]any{"name": "d", "class": "datagen", "topic": "t", "value_size": int64(100), "count": int64(2500), "shape": map[string]any{"id": "seq", "customer": "key", "n": "int:1:1000"}, "tasks_max": int64(2), "batch": int64(1000)})
	total := 0
	seqs := map[int64]bool{}
	for _, st := range ts {
		st.Start(context.Background(), fakeTC{})
		for {
			recs, err := st.Poll(context.Background())
			if err == ErrEndOfInput {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				v := r.Value.(RawJSON)
				if len(v) != 100 {
					t.Fatalf("value of %d bytes: %s", len(v), v)
				}
				var m map[string]any
				if err := json.Unmarshal(v, &m); err != nil {
					t.Fatalf("not JSON: %s", v)
				}
				seqs[int64(m["id"].(float64))] = true
			}
			total += len(recs)
			if last := recs[len(recs)-1].SourceOffset; last == nil {
				t.Fatal("the last record of a batch carries no source offset")
			}
		}
	}
	if total != 2500 || len(seqs) != 2500 {
		t.Fatalf("%d records, %d distinct ids; want 2500", total, len(seqs))
	}
	// A restarted task resumes its sequence from the saved offset.
	st := datagenTasks(t, map[string]any{"name": "d", "class": "datagen", "topic": "t", "count": int64(10)})[0]
	st.Start(context.Background(), fakeTC{off: map[string]any{"generated": float64(7)}})
	recs, _ := st.Poll(context.Background())
	if len(recs) != 3 {
		t.Fatalf("resumed at 7 of 10: %d records", len(recs))
	}
}

func TestDatagenShapeErrors(t *testing.T) {
	for _, shape := range []map[string]any{{"a": "int:5:1"}, {"a": "choice:"}, {"a": 5}, {"a": "string:x"}, {"a": "float:1"}} {
		p, err := CommonSpec().With(datagenPlugin().Spec).Parse(map[string]any{"name": "d", "class": "datagen", "topic": "t", "shape": shape})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := datagenPlugin().NewSource(p); err == nil {
			t.Errorf("shape %v accepted", shape)
		}
	}
}
