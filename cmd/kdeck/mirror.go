package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/kdeck/kdeck/humanize"
	"github.com/kdeck/kdeck/ops"
)

func newMirrorCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mirror",
		Short: "List, inspect and control mirror flows; fail consumer groups over",
		Long: `Mirror flows are [[mirrors]] tables in the configuration (MirrorMaker 2's job),
run by 'kdeck run' (or the TUI). 'list', 'status' and 'failover' work from any
shell; 'start', 'pause', 'resume', 'stop' and 'restart' act on a running
worker, which kdeck attaches to by itself on the same data dir.`,
		Args: cobra.NoArgs,
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List mirror flows with state, throughput, lag and replication latency",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := a.jobsOfKind(cmd.Context(), ops.KindMirror)
			if err != nil {
				return err
			}
			return a.emit(out, func(w io.Writer) {
				if len(out) == 0 {
					fmt.Fprintln(w, "no mirror flows are configured: add a [[mirrors]] table with name, source and target")
					return
				}
				t := newTable("NAME", "STATE", "PARTITIONS", "RECORDS/S", "BYTES/S", "RECORDS", "LAG", "LATENCY", "LAST ERROR").Right(2, 3, 4, 5, 6, 7).Flex(8)
				for _, j := range out {
					t.Row(j.Name, string(j.State), len(j.Tasks), humanize.Rate(j.Metrics.RecordsOutPerSec), humanize.ByteRate(j.Metrics.BytesOutPerSec),
						j.Metrics.RecordsOut, j.Metrics.Lag, humanize.Millis(j.Metrics.LatencyMillis), j.LastError)
				}
				t.Write(w)
				if unhosted(out) {
					fmt.Fprintln(w, "(UNASSIGNED: not hosted by this process; 'kdeck run' runs them)")
				}
			})
		},
	}
	status := &cobra.Command{
		Use:               "status NAME",
		Short:             "Show a flow's state, per-partition lag, latency and last error",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeMirrors,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, j, err := a.jobOfKind(cmd.Context(), args[0], ops.KindMirror)
			if err != nil {
				return err
			}
			return a.emit(j, func(w io.Writer) { printMirror(w, j) })
		},
	}
	cmd.AddCommand(list, status, newMirrorFailoverCmd(a))
	cmd.AddCommand(a.jobVerbCmds(ops.KindMirror, a.completeMirrors,
		verbDoc{ops.ActionStart, "Start a stopped or failed flow (it resumes from its last committed progress)"},
		verbDoc{ops.ActionPause, "Pause a flow: it stops fetching; records already sent are still committed"},
		verbDoc{ops.ActionResume, "Resume a paused flow"},
		verbDoc{ops.ActionStop, "Stop a flow gracefully (flush, commit progress)"},
		verbDoc{ops.ActionRestart, "Restart a flow (stop gracefully, then start)"},
	)...)
	return cmd
}

func newMirrorFailoverCmd(a *app) *cobra.Command {
	var flow string
	var run runFlags
	cmd := &cobra.Command{
		Use:   "failover GROUP --flow NAME",
		Short: "Move a consumer group to the flow's target at its translated offsets (plan; --execute applies)",
		Long: `Shows the plan that moves GROUP, in the flow's target cluster, to the offsets
translated from its committed offsets in the source: the flow's latest
checkpoints, read from the target (the source may be down). The translation
never points past a record the group has not consumed; it re-reads fewer than
offset_lag_max records per partition. With --execute the plan is applied as
an offset reset: refused while the group has members in the target, audited,
and undoable with 'kdeck offsets undo'.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if flow == "" {
				return usagef("--flow is required: name the mirror flow whose checkpoints translate %q", args[0])
			}
			return a.runPlan(cmd, args, run, func(ctx context.Context, svc ops.Service) (*ops.Plan, error) {
				return svc.PlanMirrorFailover(ctx, flow, args[0])
			})
		},
	}
	cmd.Flags().StringVar(&flow, "flow", "", "the mirror flow (required)")
	run.add(cmd.Flags(), true)
	_ = cmd.RegisterFlagCompletionFunc("flow", a.completeMirrors)
	return cmd
}

func (a *app) completeMirrors(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	cfg, err := a.loadConfig()
	if err != nil || (len(args) > 0 && cmd.Name() != "failover") {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, j := range cfg.Mirrors {
		names = append(names, j.Name())
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// printMirror prints a flow's status and its partitions.
func printMirror(w io.Writer, j ops.JobStatus) {
	fmt.Fprintf(w, "%s (mirror): %s\n", j.Name, j.State)
	if j.State == ops.StateUnassigned {
		fmt.Fprintln(w, "not hosted by this process: 'kdeck run' (or the TUI) runs it")
	}
	m := j.Metrics
	fmt.Fprintf(w, "records %d (%s, %s), lag %d, replication latency %s\n", m.RecordsOut, humanize.Rate(m.RecordsOutPerSec), humanize.ByteRate(m.BytesOutPerSec), m.Lag, humanize.Millis(m.LatencyMillis))
	if j.LastError != "" {
		at := ""
		if j.LastErrorAt != nil {
			at = " at " + j.LastErrorAt.UTC().Format("2006-01-02T15:04:05Z")
		}
		fmt.Fprintf(w, "last error%s: %s\n", at, j.LastError)
	}
	if len(j.Tasks) == 0 {
		return
	}
	fmt.Fprintln(w)
	t := newTable("TOPIC", "PARTITION", "REMOTE TOPIC", "POSITION", "COMMITTED", "END", "LAG").Right(1, 3, 4, 5, 6)
	for _, ts := range j.Tasks {
		d := ts.Detail
		t.Row(d["topic"], d["partition"], d["remote_topic"], d["position"], d["committed"], d["end"], d["lag"])
	}
	t.Write(w)
}
