package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOffsetsResetSeveralGroups(t *testing.T) {
	k := newCLI(t, "")
	k.c.Commit(t, "audit-svc", map[string]map[int32]int64{"orders": {0: 5, 1: 5, 2: 5}})
	stop := k.c.ActiveMember(t, "live", false, "orders")
	defer stop()

	// Dry run over every group: each group's rows, nothing changed.
	code, out, errOut := k.run("offsets", "reset", "--all-groups", "--all-topics", "--to-earliest", "-o", "json")
	var outs []groupOutcome
	if err := json.Unmarshal([]byte(out), &outs); err != nil {
		t.Fatalf("exit %d: %v\n%s\n%s", code, err, out, errOut)
	}
	if code != 3 || len(outs) != 3 {
		t.Fatalf("all-groups dry run: exit %d, %d outcomes, stderr %s", code, len(outs), errOut)
	}
	byGroup := map[string]groupOutcome{}
	for _, o := range outs {
		byGroup[o.Group] = o
	}
	if byGroup["live"].Error == "" || !strings.Contains(byGroup["live"].Error, "active member") {
		t.Errorf("the active group should be refused: %+v", byGroup["live"])
	}
	if p := byGroup["billing"].Plan; p == nil || p.Totals.Changed != 3 || byGroup["billing"].Executed {
		t.Errorf("billing plan = %+v", byGroup["billing"])
	}
	if got := k.committed("orders", 0); got != 10 {
		t.Errorf("dry run changed billing: %d", got)
	}

	// Execute two named groups; export the plan with a group column.
	csv := filepath.Join(t.TempDir(), "plan.csv")
	code, out, errOut = k.run("offsets", "reset", "billing", "audit-svc", "--topic", "orders", "--to-offset", "7", "--execute", "--export", csv)
	if code != 0 || !strings.Contains(out, "Executed for 2 group(s)") || !strings.Contains(out, "Total: 2 group(s), 6 partition(s)") {
		t.Fatalf("execute: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, g := range []string{"billing", "audit-svc"} {
		for p, o := range k.c.Committed(t, g)["orders"] {
			if o != 7 {
				t.Errorf("%s/%d = %d, want 7", g, p, o)
			}
		}
	}
	b, _ := os.ReadFile(csv)
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 6 || !strings.HasPrefix(lines[0], "audit-svc,orders,") {
		t.Errorf("export:\n%s", b)
	}
	// Each group has its own audit entry, undoable alone.
	code, out, _ = k.run("audit", "-o", "json")
	var entries []struct{ ID, Group, Action string }
	if err := json.Unmarshal([]byte(out), &entries); err != nil || code != 0 {
		t.Fatalf("audit: %v %s", err, out)
	}
	n := 0
	for _, e := range entries {
		if e.Action == "offsets.reset" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d reset entries, want 2: %+v", n, entries)
	}

	for _, bad := range [][]string{
		{"offsets", "reset", "--to-earliest", "--all-topics"},
		{"offsets", "reset", "billing", "--all-groups", "--to-earliest", "--all-topics"},
	} {
		if code, _, errOut := k.run(bad...); code != 2 || errOut == "" {
			t.Errorf("%v: exit %d %s", bad, code, errOut)
		}
	}
}
