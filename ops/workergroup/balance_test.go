package workergroup

import (
	"reflect"
	"testing"
)

func jobs(hash string) []Job {
	return []Job{{Name: "files", Kind: "connector", Hash: hash, Tasks: 4}, {Name: "mirror", Kind: "mirror", Hash: "m", Tasks: 1}}
}

// settle applies rounds of Balance as the members would (each runs what it
// was assigned) until the assignment stops changing; it checks that no
// task is ever assigned to a member while another member still owns it.
func settle(t *testing.T, ms []MemberState) map[string]Assignment {
	t.Helper()
	for range 5 {
		out := Balance(ms)
		for i, m := range ms {
			for j, ids := range out[m.ID].Tasks {
				for _, id := range ids {
					for k, o := range ms {
						if k != i && contains(o.Owned[j], id) {
							t.Fatalf("task %s/%d assigned to %s while %s still runs it", j, id, m.Worker, o.Worker)
						}
					}
				}
			}
		}
		changed := false
		for i, m := range ms {
			if !reflect.DeepEqual(normal(m.Owned), normal(out[m.ID].Tasks)) {
				changed = true
			}
			ms[i].Owned = out[m.ID].Tasks
		}
		if !changed {
			return out
		}
	}
	t.Fatal("assignment did not settle in 5 rounds")
	return nil
}

func normal(m map[string][]int) map[string][]int {
	out := map[string][]int{}
	for k, v := range m {
		if len(v) > 0 {
			out[k] = v
		}
	}
	return out
}

func contains(s []int, x int) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func count(a Assignment) int {
	n := 0
	for _, ids := range a.Tasks {
		n += len(ids)
	}
	return n
}

func TestBalanceSpreadsStickyAndMovesOnlyWhatMust(t *testing.T) {
	ms := []MemberState{{ID: "a", Worker: "w1", Jobs: jobs("h")}}
	out := settle(t, ms)
	if count(out["a"]) != 5 {
		t.Fatalf("one worker runs every task, got %v", out["a"].Tasks)
	}
	// Two more join: 5 tasks over 3 workers is 2/2/1, and w1 keeps two of its own.
	before := ms[0].Owned
	ms = append(ms, MemberState{ID: "b", Worker: "w2", Jobs: jobs("h")}, MemberState{ID: "c", Worker: "w3", Jobs: jobs("h")})
	out = settle(t, ms)
	loads := []int{count(out["a"]), count(out["b"]), count(out["c"])}
	total, hi, lo := 0, 0, 99
	for _, l := range loads {
		total += l
		hi, lo = max(hi, l), min(lo, l)
	}
	if total != 5 || hi-lo > 1 {
		t.Fatalf("loads %v: want 5 tasks balanced within one", loads)
	}
	for j, ids := range out["a"].Tasks {
		for _, id := range ids {
			if !contains(before[j], id) {
				t.Fatalf("w1 was given %s/%d it did not run before: not sticky", j, id)
			}
		}
	}
	// w2 leaves: only its tasks move.
	kept := map[string]map[string][]int{"a": out["a"].Tasks, "c": out["c"].Tasks}
	ms = []MemberState{ms[0], ms[2]}
	out = settle(t, ms)
	if count(out["a"])+count(out["c"]) != 5 {
		t.Fatalf("after a leave every task must run: %v %v", out["a"].Tasks, out["c"].Tasks)
	}
	for m, tasks := range kept {
		for j, ids := range tasks {
			for _, id := range ids {
				if !contains(out[m].Tasks[j], id) {
					t.Fatalf("%s lost %s/%d when another worker left", m, j, id)
				}
			}
		}
	}
}

func TestBalanceConflictingConfigRunsNothingThere(t *testing.T) {
	ms := []MemberState{
		{ID: "a", Worker: "w1", Jobs: jobs("h")},
		{ID: "b", Worker: "w2", Jobs: jobs("h")},
		{ID: "c", Worker: "w3", Jobs: jobs("other")},
	}
	out := settle(t, ms)
	if len(out["c"].Tasks["files"]) != 0 || out["c"].Conflicts["files"] == "" {
		t.Fatalf("w3 declares files differently: it must run none of it and be told why, got %+v", out["c"])
	}
	if n := len(out["a"].Tasks["files"]) + len(out["b"].Tasks["files"]); n != 4 {
		t.Fatalf("files' 4 tasks must run on the agreeing workers, got %d", n)
	}
	if out["a"].Conflicts != nil || out["b"].Conflicts != nil {
		t.Fatalf("agreeing workers have no conflict: %+v %+v", out["a"].Conflicts, out["b"].Conflicts)
	}
}
