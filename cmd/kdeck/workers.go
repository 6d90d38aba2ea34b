package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/tui/workers"
)

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
		t.Row(id, wk.Host, wk.TaskCount, fmt.Sprintf("%.1f", wk.RecordsInPerSec), fmt.Sprintf("%.1f", wk.RecordsOutPerSec), workers.Tasks(wk.Tasks))
	}
	t.Write(w)
}
