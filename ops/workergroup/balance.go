package workergroup

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
)

// MemberState is one member of the group as the leader sees it: what it can
// run and what it runs now.
type MemberState struct {
	// ID is the member id the group gave it.
	ID string
	// Worker is its worker id.
	Worker string
	// Jobs are the jobs it can run.
	Jobs []Job
	// Owned are the tasks it runs or is still stopping, by job name.
	Owned map[string][]int
}

type taskRef struct {
	job string
	id  int
}

// Balance computes every member's assignment, by member id. It is
// deterministic, sticky and incremental: a task stays with its owner while
// the owner holds no more than its share (the task count divided by the
// member count, rounded down, or up for as many members as the remainder);
// a task beyond that share, or owned by a worker that may no longer run it,
// is assigned to nobody in this round (its owner stops it and rejoins); an
// unowned task goes to the eligible member with the fewest tasks. A job's
// eligible members are those declaring it with the hash most members agree
// on (ties: the smaller hash); the others get a conflict for it.
func Balance(members []MemberState) map[string]Assignment {
	ms := slices.Clone(members)
	slices.SortFunc(ms, func(a, b MemberState) int { return cmp.Or(cmp.Compare(a.Worker, b.Worker), cmp.Compare(a.ID, b.ID)) })
	out := make(map[string]Assignment, len(ms))
	for _, m := range ms {
		out[m.ID] = Assignment{Tasks: map[string][]int{}, Workers: len(ms)}
	}
	if len(ms) == 0 {
		return out
	}
	eligible, all := jobEligibility(ms, out)
	owned, busy := currentOwners(ms)

	load := make([]int, len(ms))
	assign := func(i int, t taskRef) {
		a := out[ms[i].ID]
		a.Tasks[t.job] = append(a.Tasks[t.job], t.id)
		load[i]++
	}
	keepShares(len(ms), owned, all, eligible, assign)

	// Give: unowned tasks go to the least loaded eligible member.
	for _, t := range all {
		if busy[t] {
			continue
		}
		best := -1
		for i := range ms {
			if eligible[t.job][i] && (best < 0 || load[i] < load[best]) {
				best = i
			}
		}
		if best >= 0 {
			assign(best, t)
		}
	}
	for id, a := range out {
		for j := range a.Tasks {
			slices.Sort(a.Tasks[j])
		}
		out[id] = a
	}
	return out
}

// jobEligibility finds which members (by index in ms) may run which job:
// those declaring it with the hash most members agree on (ties: the smaller
// hash). The others get a conflict for it in out. It returns the eligible
// members by job and every task of every job, in job order.
func jobEligibility(ms []MemberState, out map[string]Assignment) (eligible map[string]map[int]bool, all []taskRef) {
	type decl struct {
		hash  string
		tasks int
	}
	byJob := map[string]map[int]decl{} // job -> member index -> declaration
	for i, m := range ms {
		for _, j := range m.Jobs {
			if byJob[j.Name] == nil {
				byJob[j.Name] = map[int]decl{}
			}
			byJob[j.Name][i] = decl{j.Hash, j.Tasks}
		}
	}
	jobs := make([]string, 0, len(byJob))
	for j := range byJob {
		jobs = append(jobs, j)
	}
	sort.Strings(jobs)
	eligible = map[string]map[int]bool{}
	for _, j := range jobs {
		count := map[string]int{}
		for _, d := range byJob[j] {
			count[d.hash]++
		}
		win := ""
		for h, n := range count {
			if win == "" || n > count[win] || n == count[win] && h < win {
				win = h
			}
		}
		eligible[j] = map[int]bool{}
		tasks := 0
		for i, d := range byJob[j] {
			if d.hash == win {
				eligible[j][i] = true
				tasks = d.tasks
				continue
			}
			a := out[ms[i].ID]
			if a.Conflicts == nil {
				a.Conflicts = map[string]string{}
			}
			a.Conflicts[j] = fmt.Sprintf("its configuration here (hash %s) differs from the one %d of %d workers of the group run (hash %s): make every worker's file declare job %q identically",
				d.hash, count[win], len(byJob[j]), win, j)
			out[ms[i].ID] = a
		}
		for id := range tasks {
			all = append(all, taskRef{j, id})
		}
	}
	return eligible, all
}

// currentOwners returns who owns what now: each member's tasks (by index
// in ms, in job order) and the set of owned tasks, which are not assignable
// to another member this round. A task claimed twice keeps its first owner.
func currentOwners(ms []MemberState) (owned [][]taskRef, busy map[taskRef]bool) {
	owner := map[taskRef]int{}
	busy = map[taskRef]bool{}
	owned = make([][]taskRef, len(ms))
	for i, m := range ms {
		js := make([]string, 0, len(m.Owned))
		for j := range m.Owned {
			js = append(js, j)
		}
		sort.Strings(js)
		for _, j := range js {
			for _, id := range m.Owned[j] {
				t := taskRef{j, id}
				if _, dup := owner[t]; dup {
					continue
				}
				owner[t] = i
				busy[t] = true
				owned[i] = append(owned[i], t)
			}
		}
	}
	return owned, busy
}

// keepShares lets each of the n members keep the tasks it owns that still
// exist and that it may still run, up to its share: the task count divided
// by n, rounded down, or up for as many members as the remainder (those
// holding the most valid tasks first).
func keepShares(n int, owned [][]taskRef, all []taskRef, eligible map[string]map[int]bool, assign func(int, taskRef)) {
	exists := map[taskRef]bool{}
	for _, t := range all {
		exists[t] = true
	}
	floor, extra := len(all)/n, len(all)%n
	valid := make([][]taskRef, n)
	for i := range n {
		for _, t := range owned[i] {
			if exists[t] && eligible[t.job][i] {
				valid[i] = append(valid[i], t)
			}
		}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(valid[order[a]]) > len(valid[order[b]]) })
	for _, i := range order {
		limit := floor
		if extra > 0 && len(valid[i]) > floor {
			limit++
			extra--
		}
		for k, t := range valid[i] {
			if k < limit {
				assign(i, t)
			}
		}
	}
}
