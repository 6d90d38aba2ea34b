package main

import (
	"context"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

// kcatRead consumes topic in group with kcat -G (librdkafka's balanced
// consumer, auto commit on close) until the end, and returns the values.
func kcatRead(t *testing.T, addr, group, topic string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "kcat", "-b", addr, "-G", group, "-X", "auto.offset.reset=earliest", "-e", "-q", "-f", "%s\n", topic).Output()
	if err != nil {
		t.Fatalf("kcat -G: %v", err)
	}
	vals := strings.Fields(string(out))
	sort.Strings(vals)
	return vals
}

// TestKcatRereadsAfterResetToEarliest is the acceptance test: a
// third-party consumer (kcat -G) rewound with 'kdeck offsets reset
// --to-earliest --execute' re-reads every record.
func TestKcatRereadsAfterResetToEarliest(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	needKcat(t)
	k := newCLI(t, "")
	k.c.ProduceN(t, "orders", 30) // on top of the 300 seeded ones
	first := kcatRead(t, k.c.Addr(), "kcat-group", "orders")
	if len(first) != 330 {
		t.Fatalf("first kcat read %d records, want 330", len(first))
	}
	if again := kcatRead(t, k.c.Addr(), "kcat-group", "orders"); len(again) != 0 {
		t.Fatalf("kcat did not commit: second read got %d records", len(again))
	}
	var code int
	var out, errOut string
	kafkatest.WaitFor(t, 20*time.Second, "kcat's member to leave the group", func() bool {
		code, out, errOut = k.run("offsets", "reset", "kcat-group", "--topic", "orders", "--to-earliest", "--execute")
		return code == 0
	})
	if !strings.Contains(out, "Executed: 3 offset(s) changed") {
		t.Fatalf("reset: exit %d, %s %s", code, out, errOut)
	}
	if reread := kcatRead(t, k.c.Addr(), "kcat-group", "orders"); strings.Join(reread, ",") != strings.Join(first, ",") {
		t.Errorf("after the reset kcat re-read %d records, want the same %d", len(reread), len(first))
	}
}
