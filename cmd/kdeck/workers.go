package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kdeck/kdeck/ops"
)

func init() {
	extraCommands = append(extraCommands, newWorkersCmd)
}

func newWorkersCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "workers",
		Short: "List the workers of the worker group: id, host, tasks and load",
		Long: `List the workers of the worker group ([worker] group, 'kdeck run
--worker-group'): each live member's id and host, the connector tasks and
mirror flow shards it runs (JOB[TASK,...]), and its load (task count and
records per second in and out, from the group's status topic
_kdeck-GROUP-status). Any worker answers for the whole group; attached to a
worker (same data dir, or --server) it asks that worker. Without a worker
group it lists this process alone.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			rep, err := svc.Workers(cmd.Context())
			if err != nil {
				return err
			}
			return a.emit(rep, func(w io.Writer) { printWorkers(w, rep) })
		},
	}
}

// workerTasks formats a worker's tasks as "job[0,2] other[1]".
func workerTasks(ts map[string][]int) string {
	jobs := make([]string, 0, len(ts))
	for j := range ts {
		jobs = append(jobs, j)
	}
	sort.Strings(jobs)
	var b strings.Builder
	for i, j := range jobs {
		if i > 0 {
			b.WriteByte(' ')
		}
		ids := make([]string, len(ts[j]))
		for k, id := range ts[j] {
			ids[k] = fmt.Sprint(id)
		}
		fmt.Fprintf(&b, "%s[%s]", j, strings.Join(ids, ","))
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

func printWorkers(w io.Writer, rep ops.WorkersReport) {
	group := rep.Group
	if group == "" {
		group = "(none: this process alone)"
	}
	fmt.Fprintf(w, "worker group %s: %d worker(s), %d task(s) unassigned\n", group, len(rep.Workers), rep.Unassigned)
	t := newTable("WORKER", "HOST", "TASKS", "IN/S", "OUT/S", "JOBS").Right(2, 3, 4).Flex(5)
	for _, wk := range rep.Workers {
		id := wk.ID
		if wk.Self {
			id += " *"
		}
		t.Row(id, wk.Host, wk.TaskCount, fmt.Sprintf("%.1f", wk.RecordsInPerSec), fmt.Sprintf("%.1f", wk.RecordsOutPerSec), workerTasks(wk.Tasks))
	}
	t.Write(w)
}
