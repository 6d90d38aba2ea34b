package tui

import (
	"testing"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// The console's plan dialog says when a shift clamps, at the log start as
// at the log end, with the notes ops computes (the CLI's table shows the
// same ones).
func TestPlanDialogSaysClamps(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "orders", 1)
	c.ProduceN(t, "orders", 20)
	c.Commit(t, "g", map[string]map[int32]int64{"orders": {0: 15}})
	l, err := ops.NewLocal(&config.Config{Clusters: map[string]*config.Cluster{c.Name(): c.Config()}, Ops: config.Ops{DataDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	for _, tt := range []struct{ shift, want string }{
		{"-100000", "clamped to log start 0 (asked -99985)"},
		{"9223372036854775807", "clamped to log end 20 (asked 9223372036854775807)"},
	} {
		h := newSvcHarness(t, l, nil, 160, 40)
		d := openReset(h, "g", false)
		h.keys("down", "right", "right", "down", tt.shift, "enter")
		if d.Confirm() == nil {
			t.Fatalf("shift-by %s: no plan:\n%s", tt.shift, h.screen())
		}
		h.wantScreen(tt.want)
	}
}
