package ops_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/kdeck/kdeck/ops"
)

func TestParseOffsetsCSV(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []ops.FileOffset
		err  string
	}{
		{"three columns", "orders,0,10\norders,1,20\n", []ops.FileOffset{{Topic: "orders", Partition: 0, Offset: 10, Line: 1}, {Topic: "orders", Partition: 1, Offset: 20, Line: 2}}, ""},
		{"four columns with header and blank line", "group,topic,partition,offset\n\nbilling, orders ,2,7\n", []ops.FileOffset{{Group: "billing", Topic: "orders", Partition: 2, Offset: 7, Line: 3}}, ""},
		{"offset not a number names the line", "orders,0,10\norders,1,ten\n", nil, `plan.csv line 2: offset "ten" is not an offset`},
		{"negative offset", "orders,0,-1\n", nil, "line 1: offset \"-1\""},
		{"partition not a number", "orders,x,1\n", nil, `line 1: partition "x"`},
		{"wrong column count", "orders,1\n", nil, "line 1: 2 columns"},
		{"empty topic", ",1,1\n", nil, "line 1: the topic column is empty"},
		{"bad quoting", "orders,0,\"1\n", nil, "plan.csv line"},
		{"empty file", "", nil, "has no rows"},
		{"two rows for one partition name both lines", "orders,0,10\norders,1,5\norders,0,12\n", nil, "plan.csv lines 1 and 3: both set orders partition 0"},
		{"two rows for one partition of a group", "g,orders,0,10\nh,orders,0,3\ng,orders,0,12\n", nil, `lines 1 and 3: both set orders partition 0 of group "g"`},
		{"one partition in two groups is fine", "g,orders,0,10\nh,orders,0,3\n", []ops.FileOffset{{Group: "g", Topic: "orders", Offset: 10, Line: 1}, {Group: "h", Topic: "orders", Offset: 3, Line: 2}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ops.ParseOffsetsCSV(strings.NewReader(tt.in), "plan.csv")
			if tt.err != "" {
				if !errors.Is(err, ops.ErrInvalid) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want ErrInvalid containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("row %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestPlanCSVRoundTrip(t *testing.T) {
	c := seed(t)
	l := newLocal(t, c)
	p, err := l.PlanReset(ctx(t), ops.ResetRequest{Group: "billing", Mode: ops.ResetShiftBy, Offset: -5, AllTopics: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, withGroup := range []bool{false, true} {
		var buf bytes.Buffer
		if err := ops.WritePlanCSV(&buf, p, withGroup); err != nil {
			t.Fatal(err)
		}
		want := "clicks,0,0\norders,0,5\norders,1,45\norders,2,85\n"
		if withGroup {
			want = "billing,clicks,0,0\nbilling,orders,0,5\nbilling,orders,1,45\nbilling,orders,2,85\n"
		}
		if buf.String() != want {
			t.Errorf("export = %q, want kafka-consumer-groups' format %q", buf.String(), want)
		}
		rows, err := ops.ParseOffsetsCSV(&buf, "export.csv")
		if err != nil {
			t.Fatal(err)
		}
		p2, err := l.PlanReset(ctx(t), ops.ResetRequest{Group: "billing", Mode: ops.ResetFromFile, FileOffsets: rows})
		if err != nil {
			t.Fatal(err)
		}
		if len(p2.Rows) != len(p.Rows) {
			t.Fatalf("imported plan has %d rows, want %d", len(p2.Rows), len(p.Rows))
		}
		for i := range p.Rows {
			if p.Rows[i].New != p2.Rows[i].New || p.Rows[i].Current != p2.Rows[i].Current {
				t.Errorf("row %d: exported %+v, imported %+v", i, p.Rows[i], p2.Rows[i])
			}
		}
	}
}

func FuzzParseOffsetsCSV(f *testing.F) {
	for _, s := range []string{"orders,0,10\n", "g,orders,1,2\n", "topic,partition,offset\na,1,2", "\"a,b\",1,2", "a,1", ",,,", "a,99999999999,1", "a,1,9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := ops.ParseOffsetsCSV(strings.NewReader(in), "f.csv")
		if err != nil {
			if !errors.Is(err, ops.ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		if len(rows) == 0 {
			t.Fatal("no error and no rows")
		}
		for _, r := range rows {
			if r.Topic == "" || r.Partition < 0 || r.Offset < 0 || r.Line < 1 {
				t.Fatalf("bad row accepted: %+v", r)
			}
		}
		// What parses writes back and parses to the same rows.
		p := &ops.Plan{Group: "g"}
		for _, r := range rows {
			p.Rows = append(p.Rows, ops.PlanRow{Topic: r.Topic, Partition: r.Partition, New: r.Offset})
		}
		var buf bytes.Buffer
		if err := ops.WritePlanCSV(&buf, p, false); err != nil {
			t.Fatal(err)
		}
		again, err := ops.ParseOffsetsCSV(&buf, "again.csv")
		if err != nil {
			// A topic named like a header row is skipped on the way back.
			if rows[0].Topic == "topic" {
				return
			}
			t.Fatalf("re-parse: %v (from %+v)", err, rows)
		}
		if len(again) != len(rows) && rows[0].Topic != "topic" {
			t.Fatalf("re-parse gave %d rows, want %d", len(again), len(rows))
		}
	})
}
