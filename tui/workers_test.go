package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/tui/tuitest"
)

// TestGoldenWorkers renders the :workers screen of a three-worker group
// at 80x24: each worker with its host, task count, rates and tasks, this
// worker starred, the unassigned count in the title; enter opens the job
// of the selected worker's first task.
func TestGoldenWorkers(t *testing.T) {
	f := tuitest.New()
	started := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	f.WorkerList = ops.WorkersReport{Group: "etl", Unassigned: 1, Workers: []ops.WorkerStatus{
		{ID: "ops1-3f2a", Host: "ops1", Live: true, Self: true, Started: &started, Tasks: map[string][]int{"orders-datagen": {0}, "tail": {0, 2}}, TaskCount: 3, RecordsInPerSec: 0, RecordsOutPerSec: 1520.5},
		{ID: "ops2-9c1d", Host: "ops2", Live: true, Started: &started, Tasks: map[string][]int{"tail": {1}}, TaskCount: 1, RecordsOutPerSec: 498},
		{ID: "ops3-77e0", Host: "ops3", Live: true, Started: &started, Tasks: map[string][]int{}},
	}}
	h := newHarness(t, f, 80, 24)
	h.keys(":", "workers", "enter")
	s := h.screen()
	for _, want := range []string{"workers: etl, 1 unassigned", "ops1-3f2a *", "orders-datagen[0] tail[0,2]", "tail[1]"} {
		if !strings.Contains(s, want) {
			t.Errorf("the workers screen lacks %q:\n%s", want, s)
		}
	}
	golden.RequireEqual(t, s)
	h.keys("enter")
	h.wantScreen("orders-datagen")
}
