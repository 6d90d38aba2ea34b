package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kdeck/kdeck/ops"
)

// sampleAudit, sampleGroups and sampleDetail are what a user of the demo
// sees, with the long names real deployments have.
func sampleAudit() []ops.AuditEntry {
	at := time.Date(2026, 11, 26, 9, 14, 7, 0, time.UTC)
	return []ops.AuditEntry{
		{ID: "20261126-091407-38fcbf", Time: at, User: "oncall-engineer", Action: "offsets.reset", Cluster: "local", Group: "demo-billing-reconciliation", After: make([]ops.OffsetValue, 6), Outcome: "ok"},
		{ID: "20261126-091502-a1b2c3", Time: at.Add(time.Minute), User: "root", Action: "offsets.undo", Cluster: "production-eu-west-1", Group: "demo-billing", After: make([]ops.OffsetValue, 12), Outcome: "failed"},
	}
}

func sampleGroups() []ops.GroupSummary {
	return []ops.GroupSummary{
		{Group: "demo-orders-reader", State: "Stable", Protocol: "consumer", Members: 1, Topics: []string{"demo.orders", "demo.clicks", "payments.settled.v2"}, Lag: 1210, TimeLagEstimate: 24.5, Status: "STALL"},
		{Group: "kdeck-mirror-demo-local-to-dr", State: "Stable", Protocol: "classic", Members: 1, Topics: []string{"demo.orders"}, Lag: 3, TimeLagEstimate: 0.2, Status: "OK"},
	}
}

func sampleDetail() ops.GroupDetail {
	d := ops.GroupDetail{GroupSummary: sampleGroups()[0], Coordinator: 0}
	for p := range int32(3) {
		d.Offsets = append(d.Offsets, ops.PartitionOffset{Topic: "payments.settled.v2", Partition: p, Committed: 1000 + int64(p), LogEndOffset: 2000, Lag: 999,
			TimeLag: 12, Status: "STALL", ClientID: "kgo-consumer-payments-settlement-service", Host: "/10.244.17.203", MemberID: "kgo-consumer-payments-0f3e1c2a-9b7d-4c1e-a5f6-7d8e9f0a1b2c"})
	}
	d.MemberList = []ops.GroupMember{{MemberID: "kgo-consumer-payments-0f3e1c2a-9b7d-4c1e-a5f6-7d8e9f0a1b2c", ClientID: "kgo-consumer-payments-settlement-service", Host: "/10.244.17.203",
		Assigned: []ops.TopicScope{{Topic: "payments.settled.v2", Partitions: []int32{0, 1, 2}}}}}
	return d
}

// TestTablesFit prints audit, groups and groups describe at 80 columns (a
// terminal) and piped: at 80 no line is longer and the important columns
// stay (the audit id whole, lag and status); piped nothing is cut. Before,
// audit was 99-102 columns at 80 and groups wrapped TIME LAG and STATUS.
func TestTablesFit(t *testing.T) {
	prints := []struct {
		name  string
		print func(w *bytes.Buffer, width int)
		keep  []string // must be present at 80 columns
		whole []string // must be present when piped
	}{
		{"audit", func(b *bytes.Buffer, width int) { printAuditList(writerOf(b, width), sampleAudit()) },
			[]string{"ID", "OUTCOME", "20261126-091407-38fcbf", "20261126-091502-a1b2c3", "failed", "offsets.undo"},
			[]string{"production-eu-west-1", "group demo-billing-reconciliation", "oncall-engineer"}},
		{"groups", func(b *bytes.Buffer, width int) { printGroups(writerOf(b, width), sampleGroups()) },
			[]string{"TIME LAG", "STATUS", "STALL", "1210", "24s", "kdeck-mirror-demo-local-to-dr"},
			[]string{"demo.orders,demo.clicks,payments.settled.v2", "consumer"}},
		{"groups describe", func(b *bytes.Buffer, width int) { printGroupDetail(writerOf(b, width), sampleDetail()) },
			[]string{"COMMITTED", "LAG", "STATUS", "1000", "999", "STALL", "Status: STALL"},
			[]string{"kgo-consumer-payments-settlement-service", "/10.244.17.203", "kgo-consumer-payments-0f3e1c2a-9b7d-4c1e-a5f6-7d8e9f0a1b2c"}},
	}
	for _, p := range prints {
		t.Run(p.name, func(t *testing.T) {
			for _, width := range []int{80, 100, 60} {
				var b bytes.Buffer
				p.print(&b, width)
				for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
					if n := utf8.RuneCountInString(l); n > width {
						t.Errorf("at %d columns a line is %d long: %q", width, n, l)
					}
				}
				if width != 80 {
					continue
				}
				for _, k := range p.keep {
					if !strings.Contains(b.String(), k) {
						t.Errorf("at 80 columns %q is gone:\n%s", k, b.String())
					}
				}
			}
			var piped bytes.Buffer
			p.print(&piped, 0)
			if strings.Contains(piped.String(), "…") {
				t.Errorf("piped output is cut:\n%s", piped.String())
			}
			for _, k := range append(p.keep, p.whole...) {
				if !strings.Contains(piped.String(), k) {
					t.Errorf("piped output lacks %q:\n%s", k, piped.String())
				}
			}
		})
	}
}

func writerOf(b *bytes.Buffer, width int) fixedWidth { return fixedWidth{b, width} }

// TestTableControlBytes checks that a name with control bytes cannot drive
// the terminal when printed.
func TestTableControlBytes(t *testing.T) {
	var b bytes.Buffer
	tb := newTable("TOPIC")
	tb.Row("evil\x1b[2J\r")
	tb.Write(&b)
	if strings.ContainsAny(b.String(), "\x1b\r") || !strings.Contains(b.String(), `evil\x1b[2J\r`) {
		t.Errorf("control bytes printed raw: %q", b.String())
	}
}

// FuzzTableFit feeds tables of any cells at any width: on a terminal no
// line passes the width, piped nothing is cut.
func FuzzTableFit(f *testing.F) {
	f.Add("demo-orders-reader", "Stable, 1 member(s)", "kgo-consumer-0f3e1c2a /10.244.17.203", uint8(80))
	f.Add("a", "", "\x1b[2J", uint8(5))
	f.Add("日本語のグループ", "x y z", strings.Repeat("w ", 60), uint8(30))
	f.Fuzz(func(t *testing.T, a, b, c string, w uint8) {
		if !utf8.ValidString(a + b + c) {
			return
		}
		width := int(w)
		tb := newTable("NAME", "STATE", "CLIENT", "LAG").Right(3).Flex(2).Last(0).Drop(1)
		tb.Row(a, b, c, int64(len(a)))
		tb.Row(c, a, b, int64(len(b)))
		var out bytes.Buffer
		tb.Write(fixedWidth{&out, width})
		for _, l := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
			if width > 0 && utf8.RuneCountInString(l) > width {
				t.Fatalf("at %d a line is %d long: %q", width, utf8.RuneCountInString(l), l)
			}
		}
		var piped bytes.Buffer
		tb.Write(&piped)
		if strings.Contains(piped.String(), "…") && !strings.Contains(a+b+c, "…") {
			t.Fatalf("piped output cut: %q", piped.String())
		}
	})
}
