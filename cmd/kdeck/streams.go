package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdeck/kdeck/humanize"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/timespec"
)

func newStreamsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "streams",
		Short: "List, inspect, control, reset and query stream jobs",
		Long: `Stream jobs are [[streams]] tables in the configuration, run by 'kdeck run'
(or the TUI, or 'kdeck dev'). 'list', 'status' and 'reset' work from any
shell; 'start', 'stop', 'restart' and 'query' act on a running worker, which
kdeck attaches to by itself on the same data dir.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(a.streamsListCmd(), a.streamsStatusCmd(),
		a.streamsResetCmd(), a.streamsQueryCmd())
	cmd.AddCommand(a.jobVerbCmds(ops.KindStream, a.completeStreams,
		verbDoc{ops.ActionStart, "Start a stopped stream job"},
		verbDoc{ops.ActionStop, "Stop a stream job (it commits, checkpoints its stores and leaves its group)"},
		verbDoc{ops.ActionRestart, "Restart a stream job"},
	)...)
	return cmd
}

func (a *app) streamJobs(ctx context.Context) ([]ops.JobStatus, error) {
	return a.jobsOfKind(ctx, ops.KindStream)
}

func (a *app) completeStreams(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	return a.completeNames(cmd, args, func(ctx context.Context, _ ops.Service) ([]string, error) {
		jobs, err := a.streamJobs(ctx)
		names := make([]string, len(jobs))
		for i, j := range jobs {
			names[i] = j.Name
		}
		return names, err
	})
}

func (a *app) streamsListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List stream jobs with state, tasks, throughput, lag and late records",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := a.streamJobs(cmd.Context())
			if err != nil {
				return err
			}
			return a.emit(out, func(w io.Writer) {
				if len(out) == 0 {
					fmt.Fprintln(w, "no stream jobs are configured: add a [[streams]] table (see README, 'Stream jobs')")
					return
				}
				t := newTable("NAME", "CLUSTER", "STATE", "TASKS", "IN/S", "OUT/S", "LAG", "LATE", "LAST ERROR").Right(3, 4, 5, 6, 7).Flex(8)
				for _, j := range out {
					t.Row(j.Name, j.Cluster, string(j.State), len(j.Tasks), humanize.Rate(j.Metrics.RecordsInPerSec), humanize.Rate(j.Metrics.RecordsOutPerSec),
						j.Metrics.Lag, j.Metrics.LateRecords, j.LastError)
				}
				t.Write(w)
			})
		},
	}
}

func (a *app) streamsStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "status NAME",
		Short:             "Show a stream job's tasks (partitions), stores, restore progress, lag and late records",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeStreams,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, j, err := a.streamJob(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.emit(j, func(w io.Writer) {
				fmt.Fprintf(w, "%s  %s  cluster %s  in %s  out %s  lag %d  late %d  bad records %d (dead-lettered %d)\n", j.Name, j.State, j.Cluster,
					humanize.Rate(j.Metrics.RecordsInPerSec), humanize.Rate(j.Metrics.RecordsOutPerSec), j.Metrics.Lag, j.Metrics.LateRecords, j.Metrics.Errors, j.Metrics.DLQ)
				if j.LastError != "" {
					fmt.Fprintf(w, "last error: %s\n", j.LastError)
				}
				if len(j.Tasks) == 0 {
					fmt.Fprintln(w, "no tasks here (UNASSIGNED: the job runs in 'kdeck run', or holds no partitions)")
					return
				}
				if j.Tasks[0].Worker != "" {
					// In a worker group: one task per worker's instance.
					t := newTable("INSTANCE", "STATE", "WORKER", "PARTITIONS", "RECORDS IN", "LAG", "STORES").Right(0, 4, 5).Flex(6)
					for _, ts := range j.Tasks {
						t.Row(ts.ID, string(ts.State), ts.Worker, ts.Detail["partitions"], ts.Metrics.RecordsIn, ts.Metrics.Lag, streamStores(ts.Detail))
					}
					t.Write(w)
					return
				}
				t := newTable("PARTITION", "STATE", "RECORDS IN", "LAG", "LATE", "STORES").Right(0, 2, 3, 4).Flex(5)
				for _, ts := range j.Tasks {
					t.Row(ts.ID, string(ts.State), ts.Metrics.RecordsIn, ts.Metrics.Lag, ts.Metrics.LateRecords, streamStores(ts.Detail))
				}
				t.Write(w)
			})
		},
	}
}

// streamStores summarises a task's stores: name size [restored/total].
func streamStores(d map[string]string) string {
	var parts []string
	for k, v := range d {
		if name, ok := strings.CutSuffix(strings.TrimPrefix(k, "store."), ".bytes"); ok && strings.HasPrefix(k, "store.") {
			s := name + " " + v + "B"
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				s = name + " " + humanize.Bytes(float64(n))
			}
			if r := d["store."+name+".restore"]; r != "" {
				s += " restored " + r
			}
			parts = append(parts, s)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// streamJob returns the service and the status of the stream job name; a
// job of another kind is a usage error.
func (a *app) streamJob(ctx context.Context, name string) (ops.Service, ops.JobStatus, error) {
	return a.jobOfKind(ctx, name, ops.KindStream)
}

// streamService returns the service's stream operations.
func (a *app) streamService(ctx context.Context) (ops.StreamService, error) {
	return a.service(ctx)
}

type streamResetResult struct {
	Plan       *ops.StreamResetPlan `json:"plan"`
	Executed   bool                 `json:"executed"`
	AuditEntry *ops.AuditEntry      `json:"audit_entry,omitempty"`
}

func (a *app) streamsResetCmd() *cobra.Command {
	var run runFlags
	var datetime, duration, as string
	var earliest bool
	cmd := &cobra.Command{
		Use:   "reset NAME",
		Short: "Reset a stream job as Kafka's application reset tool does (previewed, audited)",
		Long: `Reset a stream job: reset its group's offsets on the input topics (to the
earliest offset by default, --to-datetime or --by-duration), delete its
internal topics (changelogs and repartition topics) and wipe its local state
directory. Refused while any instance of the job runs. Without --execute the
plan is printed and nothing changes.

With --as NEWID the job is replayed under a new application id instead: only
the new group's offsets are set; set application_id = "NEWID" in the job's
table and start it.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeStreams,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := run.check(); err != nil {
				return err
			}
			req := ops.StreamResetRequest{Job: args[0], As: as, Command: commandLine(cmd, args), Mode: ops.ResetToEarliest}
			n := 0
			if earliest {
				n++
			}
			if datetime != "" {
				n++
				t, err := timespec.ParseTime(datetime, time.Now())
				if err != nil {
					return usagef("--to-datetime %q: %v", datetime, err)
				}
				req.Mode, req.Time = ops.ResetToDatetime, t
			}
			if duration != "" {
				n++
				d, err := timespec.ParseDuration(duration)
				if err != nil {
					return usagef("--by-duration %q: %v", duration, err)
				}
				req.Mode, req.Duration = ops.ResetByDuration, d
			}
			if n > 1 {
				return usagef("--to-earliest, --to-datetime and --by-duration exclude each other: give one")
			}
			ss, err := a.streamService(cmd.Context())
			if err != nil {
				return err
			}
			p, err := ss.PlanStreamReset(cmd.Context(), req)
			if err != nil {
				return err
			}
			res := streamResetResult{Plan: p}
			if run.execute {
				entry, err := ss.ExecuteStreamReset(cmd.Context(), p)
				if err != nil {
					return err
				}
				res.Executed, res.AuditEntry = true, &entry
			}
			return a.emit(res, func(w io.Writer) { printStreamReset(w, res) })
		},
	}
	run.add(cmd.Flags(), false)
	cmd.Flags().BoolVar(&earliest, "to-earliest", false, "reset the inputs to their earliest offsets (the default)")
	cmd.Flags().StringVar(&datetime, "to-datetime", "", "reset the inputs to the first offsets at or after TIME (RFC 3339, or kafka-consumer-groups' format)")
	cmd.Flags().StringVar(&duration, "by-duration", "", "reset the inputs to DURATION ago (PT1H, 90m)")
	cmd.Flags().StringVar(&as, "as", "", "replay under the new application id NEWID instead of deleting the job's state")
	return cmd
}

// printStreamReset prints a stream reset's plan: the offsets, the internal
// topics and local state it removes, and whether it was executed.
func printStreamReset(w io.Writer, res streamResetResult) {
	p := res.Plan
	if p.As != "" {
		fmt.Fprintf(w, "Replay stream job %q under the new application id %q (nothing of the old id is deleted)\n\n", p.Job, p.As)
	} else {
		fmt.Fprintf(w, "Reset stream job %q (application id %q) on cluster %q\n\n", p.Job, p.Group, p.Cluster)
	}
	printPlan(w, p.Offsets)
	if p.RepartitionOffsets != nil {
		fmt.Fprintln(w)
		printPlan(w, p.RepartitionOffsets)
	}
	if p.As == "" {
		fmt.Fprintln(w)
		if len(p.DeleteTopics) == 0 {
			fmt.Fprintln(w, "Internal topics to delete: none exist")
		} else {
			fmt.Fprintf(w, "Internal topics to delete: %s\n", strings.Join(p.DeleteTopics, ", "))
		}
		if p.WipeDir == "" {
			fmt.Fprintln(w, "Local state to wipe: none here")
		} else {
			fmt.Fprintf(w, "Local state to wipe: %s\n", p.WipeDir)
		}
	}
	fmt.Fprintln(w)
	if res.Executed {
		fmt.Fprintf(w, "Executed. Audit entry %s.\n", res.AuditEntry.ID)
		if p.As != "" {
			fmt.Fprintf(w, "Now set application_id = %q in the job's table and start it.\n", p.As)
		}
	} else {
		fmt.Fprintln(w, "Dry run: nothing changed. Apply it with --execute.")
	}
}

func (a *app) streamsQueryCmd() *cobra.Command {
	var q ops.StreamQuery
	var top int
	var key string
	cmd := &cobra.Command{
		Use:   "query NAME",
		Short: "Read a stream job's store: a key, a key range, or the top N values",
		Long: `Read a store of a stream job running in the attached worker ('kdeck run' on
the same data dir, or --server) or in this process: --key K for one key (all its open windows), --from A [--to B] for a key
range, --top N for the largest numeric values. --store picks the store (the
job's aggregate by default).`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeStreams,
		RunE: func(cmd *cobra.Command, args []string) error {
			q.Job = args[0]
			modes := 0
			if cmd.Flags().Changed("key") {
				modes++
				q.Op, q.Key = "get", key
			}
			if cmd.Flags().Changed("from") || cmd.Flags().Changed("to") {
				modes++
				q.Op = "range"
			}
			if cmd.Flags().Changed("top") {
				modes++
				q.Op, q.Limit = "top", top
			}
			if modes != 1 {
				return usagef("give one of --key, --from/--to or --top")
			}
			ss, err := a.streamService(cmd.Context())
			if err != nil {
				return err
			}
			res, err := ss.QueryStream(cmd.Context(), q)
			if err != nil {
				return err
			}
			return a.emit(res, func(w io.Writer) {
				if len(res.Rows) == 0 {
					fmt.Fprintf(w, "no rows in store %q of %s on this instance's partitions\n", res.Store, res.Job)
					return
				}
				t := newTable("KEY", "VALUE", "WINDOW START", "WINDOW END", "PARTITION").Right(1, 4).Flex(0)
				for _, r := range res.Rows {
					ws, we := "", ""
					if r.WindowStart != nil {
						ws, we = r.WindowStart.UTC().Format(time.RFC3339), r.WindowEnd.UTC().Format(time.RFC3339)
					}
					t.Row(r.Key, r.Value, ws, we, r.Partition)
				}
				t.Write(w)
			})
		},
	}
	cmd.Flags().StringVar(&q.Store, "store", "", "store name (default: the job's aggregate)")
	cmd.Flags().StringVar(&key, "key", "", "read one key")
	cmd.Flags().StringVar(&q.From, "from", "", "range start (inclusive)")
	cmd.Flags().StringVar(&q.To, "to", "", "range end (exclusive; default: unbounded)")
	cmd.Flags().IntVar(&q.Limit, "limit", 100, "at most N rows of a range")
	cmd.Flags().IntVar(&top, "top", 10, "the N largest values")
	return cmd
}
