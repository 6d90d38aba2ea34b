package tui

import (
	"fmt"
	"testing"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/tui/tuitest"
)

// BenchmarkGroupsFrame10k renders a whole 120x40 frame of the groups
// screen with 10,000 groups (header, tabs, table, status and help): the
// budget is 16 ms.
func BenchmarkGroupsFrame10k(b *testing.B) {
	f := tuitest.New()
	f.Groups = make([]ops.GroupDetail, 10000)
	for i := range f.Groups {
		f.Groups[i] = ops.GroupDetail{GroupSummary: ops.GroupSummary{Group: fmt.Sprintf("group-%05d", i), State: "Stable", Members: i % 7,
			Lag: int64(i * 13 % 9999), TimeLagEstimate: float64(i % 600), Status: "OK", Topics: []string{"orders"}}}
	}
	h := newHarness(b, f, 120, 40)
	h.keys("3", "s", "s", "s", "s", "G")
	b.ResetTimer()
	for b.Loop() {
		_ = h.m.View()
	}
}
