package plan_test

import (
	"bytes"
	"testing"

	"github.com/kdeck/kdeck/ops/plan"
)

// Finish sums a rewind as re-read records, a forward move as skipped ones,
// and leaves the delta 0 where either side has no commit.
func TestFinish(t *testing.T) {
	p := &plan.Plan{Rows: []plan.Row{
		{Topic: "t", Partition: 0, Current: 40, New: 10},
		{Topic: "t", Partition: 1, Current: 5, New: 9},
		{Topic: "t", Partition: 2, Current: -1, New: 3},
		{Topic: "t", Partition: 3, Current: 7, New: 7},
	}}
	p.Finish()
	want := plan.Totals{Partitions: 4, Changed: 3, Reread: 30, Skipped: 4}
	if p.Totals != want {
		t.Fatalf("totals %+v, want %+v", p.Totals, want)
	}
	if r := p.Rows[2]; r.Delta != 0 || r.Reread != 0 || r.Skipped != 0 {
		t.Fatalf("row without a commit: %+v, want no delta", r)
	}
	if r := p.Rows[0]; r.Delta != -30 || r.Reread != 30 {
		t.Fatalf("rewind row: %+v, want delta -30, reread 30", r)
	}
}

// WriteCSV leaves out deleted commits, and ParseCSV reads back what it
// wrote, group column included.
func TestCSVRoundTrip(t *testing.T) {
	p := &plan.Plan{Group: "billing", Rows: []plan.Row{
		{Topic: "orders", Partition: 0, New: 12},
		{Topic: "orders", Partition: 1, New: -1},
	}}
	var b bytes.Buffer
	if err := plan.WriteCSV(&b, p, true); err != nil {
		t.Fatal(err)
	}
	if b.String() != "billing,orders,0,12\n" {
		t.Fatalf("csv %q", b.String())
	}
	rows, err := plan.ParseCSV(&b, "plan.csv")
	if err != nil || len(rows) != 1 || rows[0] != (plan.FileOffset{Group: "billing", Topic: "orders", Partition: 0, Offset: 12, Line: 1}) {
		t.Fatalf("rows %+v, err %v", rows, err)
	}
	if _, err := plan.ParseCSV(bytes.NewBufferString("orders,x,1\n"), "bad.csv"); err == nil {
		t.Fatal("a partition that is not a number was accepted")
	}
}
