package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/humanize"
	"github.com/kdeck/kdeck/ops"
)

// needsWorker is appended to the help of verbs that act on hosted jobs.
const needsWorker = `
These verbs act on the jobs of a running worker: kdeck attaches to the
'kdeck run' that serves its data dir (or to --server, KDECK_SERVER, [client]
server); without a worker they say so and change nothing.`

func newConnectCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "connect",
		Short: "List, inspect and control connectors; read and reset their offsets",
		Long: `Connectors are [[connectors]] tables in the configuration, run by 'kdeck run'
(or the TUI). 'list', 'status', 'offsets', 'plugins' and 'validate' work from
any shell; 'start', 'pause', 'resume', 'stop' and 'restart' act on a running
worker, which kdeck attaches to by itself on the same data dir.`,
		Args: cobra.NoArgs,
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List connectors with state, tasks and throughput",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := a.jobsOfKind(cmd.Context(), ops.KindConnector)
			if err != nil {
				return err
			}
			return a.emit(out, func(w io.Writer) {
				if len(out) == 0 {
					fmt.Fprintln(w, "no connectors are configured: add a [[connectors]] table (see 'kdeck connect plugins')")
					return
				}
				t := newTable("NAME", "CLASS", "CLUSTER", "STATE", "TASKS", "IN/S", "OUT/S", "RECORDS OUT", "ERRORS", "DLQ", "LAST ERROR").Right(5, 6, 7, 8, 9).Flex(10)
				for _, j := range out {
					t.Row(j.Name, j.Class, j.Cluster, string(j.State), taskSummary(j.Tasks), humanize.Rate(j.Metrics.RecordsInPerSec), humanize.Rate(j.Metrics.RecordsOutPerSec),
						j.Metrics.RecordsOut, j.Metrics.Errors, j.Metrics.DLQ, j.LastError)
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
		Short:             "Show a connector's state, tasks, metrics and the error of failed tasks",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeConnectors,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, j, err := a.jobOfKind(cmd.Context(), args[0], ops.KindConnector)
			if err != nil {
				return err
			}
			return a.emit(j, func(w io.Writer) { printJob(w, j) })
		},
	}
	cmd.AddCommand(list, status)
	cmd.AddCommand(a.jobVerbCmds(ops.KindConnector, a.completeConnectors,
		verbDoc{ops.ActionStart, "Start a stopped or failed connector"},
		verbDoc{ops.ActionPause, "Pause a connector: sources stop polling, sinks stop fetching"},
		verbDoc{ops.ActionResume, "Resume a paused connector"},
		verbDoc{ops.ActionStop, "Stop a connector gracefully (flush, save offsets)"},
	)...)
	var task int
	var onlyFailed bool
	restart := &cobra.Command{
		Use:               "restart NAME",
		Short:             "Restart a connector, one task (--task) or only its failed tasks (--only-failed)",
		Long:              "Restart a connector, one of its tasks, or only its FAILED tasks." + needsWorker,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeConnectors,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := ops.JobActionOptions{OnlyFailed: onlyFailed}
			if cmd.Flags().Changed("task") {
				if task < 0 {
					return usagef("--task %d is not a task id: use 0 or more", task)
				}
				opts.Task = &task
			}
			return a.jobVerb(cmd, args[0], ops.KindConnector, ops.ActionRestart, opts)
		},
	}
	restart.Flags().IntVar(&task, "task", -1, "restart only this task")
	restart.Flags().BoolVar(&onlyFailed, "only-failed", false, "restart only FAILED tasks")
	cmd.AddCommand(restart, newConnectOffsetsCmd(a), newConnectPluginsCmd(a), newConnectValidateCmd(a), newConnectDropSlotCmd(a))
	return cmd
}

func unhosted(js []ops.JobStatus) bool {
	for _, j := range js {
		if j.State == ops.StateUnassigned {
			return true
		}
	}
	return false
}

func (a *app) completeConnectors(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	cfg, err := a.loadConfig()
	if err != nil || len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, j := range cfg.Connectors {
		names = append(names, j.Name())
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

func taskSummary(ts []ops.TaskStatus) string {
	if len(ts) == 0 {
		return "-"
	}
	n := map[ops.State]int{}
	for _, t := range ts {
		n[t.State]++
	}
	states := make([]string, 0, len(n))
	for s, c := range n {
		states = append(states, fmt.Sprintf("%d %s", c, s))
	}
	sort.Strings(states)
	return strings.Join(states, ", ")
}

func printJob(w io.Writer, j ops.JobStatus) {
	fmt.Fprintf(w, "%s (%s %s on %s): %s\n", j.Name, j.Kind, j.Class, j.Cluster, j.State)
	if j.State == ops.StateUnassigned {
		fmt.Fprintln(w, "not hosted by this process: 'kdeck run' (or the TUI) runs it")
	}
	m := j.Metrics
	fmt.Fprintf(w, "records in %d (%s), out %d (%s), errors %d, dead-lettered %d\n", m.RecordsIn, humanize.Rate(m.RecordsInPerSec), m.RecordsOut, humanize.Rate(m.RecordsOutPerSec), m.Errors, m.DLQ)
	if j.LastError != "" {
		at := ""
		if j.LastErrorAt != nil {
			at = " at " + j.LastErrorAt.UTC().Format("2006-01-02T15:04:05Z")
		}
		fmt.Fprintf(w, "last error%s: %s\n", at, j.LastError)
	}
	if len(j.Tasks) > 0 {
		fmt.Fprintln(w)
		// In a worker group every task shows the worker that runs it.
		grouped := slices.ContainsFunc(j.Tasks, func(ts ops.TaskStatus) bool { return ts.Worker != "" })
		t := newTable("TASK", "STATE", "IN/S", "OUT/S", "RECORDS OUT", "ERRORS", "DLQ", "LAST ACTIVITY").Right(0, 2, 3, 4, 5, 6)
		if grouped {
			t = newTable("TASK", "STATE", "WORKER", "IN/S", "OUT/S", "RECORDS OUT", "ERRORS", "DLQ", "LAST ACTIVITY").Right(0, 3, 4, 5, 6, 7)
		}
		for _, ts := range j.Tasks {
			last := "-"
			if ts.Metrics.LastActivity != nil {
				last = ts.Metrics.LastActivity.UTC().Format("15:04:05")
			}
			cells := []any{ts.ID, string(ts.State), humanize.Rate(ts.Metrics.RecordsInPerSec), humanize.Rate(ts.Metrics.RecordsOutPerSec), ts.Metrics.RecordsOut, ts.Metrics.Errors, ts.Metrics.DLQ, last}
			if grouped {
				w := ts.Worker
				if w == "" {
					w = "-"
				}
				cells = slices.Insert(cells, 2, any(w))
			}
			t.Row(cells...)
		}
		t.Write(w)
		for _, ts := range j.Tasks {
			if len(ts.Detail) > 0 {
				printTaskDetail(w, ts.ID, ts.Detail)
			}
		}
		for _, ts := range j.Tasks {
			if ts.Trace != "" {
				fmt.Fprintf(w, "\ntask %d trace:\n%s\n", ts.ID, ts.Trace)
			}
		}
	}
}

// printTaskDetail prints a task's own facts (postgres-cdc: its slot, the
// confirmed LSN, the WAL retained), sorted, with a warning on its own line.
func printTaskDetail(w io.Writer, id int, d map[string]string) {
	keys := make([]string, 0, len(d))
	for k := range d {
		if k != "warning" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + d[k]
	}
	fmt.Fprintf(w, "\ntask %d: %s\n", id, strings.Join(parts, " "))
	if warn := d["warning"]; warn != "" {
		fmt.Fprintf(w, "WARNING: %s\n", warn)
	}
}

// offsetsFile is Kafka Connect's offsets API body: {"offsets": [...]}.
type offsetsFile struct {
	Offsets []ops.JobOffset `json:"offsets"`
}

func newConnectOffsetsCmd(a *app) *cobra.Command {
	var reset bool
	var setFile, undo string
	cmd := &cobra.Command{
		Use:   "offsets NAME",
		Short: "Show a connector's offsets; --reset or --set FILE alter them while it is stopped",
		Long: `Show a connector's offsets in Kafka Connect's offsets API shape: for a source,
each source partition with its saved offset; for a sink, kafka_topic and
kafka_partition with the kafka_offset committed by the group connect-NAME.

--set FILE writes offsets from a file ("-" for stdin) in the same shape,
{"offsets": [{"partition": {...}, "offset": {...}}]}, where a null offset
resets that partition; --reset removes them all (the connector starts over);
--undo ID writes back the offsets an audited --set or --reset replaced
(refused when the offsets changed since). All require the connector to be STOPPED (or not hosted by this process), as
Kafka Connect does, and are audited.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeConnectors,
		RunE: func(cmd *cobra.Command, args []string) error {
			if n := btoi(reset) + btoi(setFile != "") + btoi(undo != ""); n > 1 {
				return usagef("--reset, --set and --undo cannot be combined: pick one")
			}
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			if undo != "" {
				return a.undoConnectOffsets(cmd, args, svc, undo)
			}
			if reset || setFile != "" {
				req := ops.AlterOffsetsRequest{Reset: reset, Command: commandLine(cmd, args)}
				if setFile != "" {
					if req.Offsets, err = a.readOffsetsFile(setFile); err != nil {
						return err
					}
				}
				e, err := svc.AlterJobOffsets(cmd.Context(), args[0], req)
				if err != nil {
					return err
				}
				return a.emit(e, func(w io.Writer) {
					fmt.Fprintf(w, "offsets of %s %s (audit %s)\nbefore: %s\nafter:  %s\n", args[0], map[bool]string{true: "reset", false: "altered"}[reset], e.ID, e.Details["offsets_before"], e.Details["offsets_after"])
				})
			}
			offs, err := svc.JobOffsets(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.emit(offsetsFile{Offsets: offs}, func(w io.Writer) {
				if len(offs) == 0 {
					fmt.Fprintf(w, "%s has no saved offsets: it starts from the beginning\n", args[0])
					return
				}
				t := newTable("PARTITION", "OFFSET").Flex(0)
				for _, o := range offs {
					p, _ := json.Marshal(o.Partition)
					v, _ := json.Marshal(o.Offset)
					t.Row(string(p), string(v))
				}
				t.Write(w)
			})
		},
	}
	cmd.Flags().BoolVar(&reset, "reset", false, "remove every offset (the connector must be STOPPED)")
	cmd.Flags().StringVar(&setFile, "set", "", `write offsets from FILE ("-" for stdin), Kafka Connect's {"offsets": [...]} shape`)
	markLocalFile(cmd.Flags(), "set")
	cmd.Flags().StringVar(&undo, "undo", "", "write back the offsets audit entry ID replaced (the connector must be STOPPED)")
	return cmd
}

// undoConnectOffsets is 'connect offsets NAME --undo ID': it writes back the
// offsets audit entry ID replaced.
func (a *app) undoConnectOffsets(cmd *cobra.Command, args []string, svc ops.Service, undo string) error {
	entry, err := svc.AuditEntry(cmd.Context(), undo)
	if err != nil {
		return err
	}
	if entry.Job != args[0] {
		return usagef("audit entry %s is about %q, not job %q", undo, firstNonBlank(entry.Job, entry.Group, entry.Action), args[0])
	}
	cur, err := svc.JobOffsets(cmd.Context(), args[0])
	if err != nil {
		return err
	}
	req, err := ops.JobOffsetsUndo(entry, cur)
	if err != nil {
		return err
	}
	req.Command = commandLine(cmd, args)
	e, err := svc.AlterJobOffsets(cmd.Context(), args[0], req)
	if err != nil {
		return err
	}
	return a.emit(e, func(w io.Writer) {
		fmt.Fprintf(w, "offsets of %s restored as before audit entry %s (audit %s)\nbefore: %s\nafter:  %s\n", args[0], undo, e.ID, e.Details["offsets_before"], e.Details["offsets_after"])
	})
}

// readOffsetsFile reads --set FILE ("-": standard input) in Kafka
// Connect's offsets API shape.
func (a *app) readOffsetsFile(setFile string) ([]ops.JobOffset, error) {
	var r io.Reader = a.in
	if setFile != "-" {
		f, err := os.Open(setFile)
		if err != nil {
			return nil, usagef("cannot read --set %s: %v", setFile, err)
		}
		defer f.Close()
		r = f
	}
	var body offsetsFile
	if err := json.NewDecoder(r).Decode(&body); err != nil {
		return nil, usagef(`--set %s is not {"offsets": [{"partition": {...}, "offset": {...}}]}: %v`, setFile, err)
	}
	return body.Offsets, nil
}

func newConnectPluginsCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "plugins [CLASS]",
		Short: "List connector classes and transforms, or show one's configuration keys",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			ps, err := svc.ConnectorPlugins(cmd.Context())
			if err != nil {
				return err
			}
			if len(args) == 1 {
				var names []string
				for _, p := range ps {
					names = append(names, p.Class)
					if p.Class == args[0] || contains(p.Aliases, args[0]) {
						return a.emit(p, func(w io.Writer) { printPlugin(w, p) })
					}
				}
				return usagef("unknown connector class or transform %q%s (see 'kdeck connect plugins')", args[0], config.Suggest(args[0], names))
			}
			return a.emit(ps, func(w io.Writer) {
				t := newTable("CLASS", "TYPE", "SUMMARY").Flex(2)
				for _, p := range ps {
					t.Row(p.Class, p.Type, p.Summary)
				}
				t.Write(w)
			})
		},
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func printPlugin(w io.Writer, p ops.ConnectorPlugin) {
	fmt.Fprintf(w, "%s (%s): %s\n", p.Class, p.Type, p.Summary)
	if len(p.Aliases) > 0 {
		fmt.Fprintf(w, "also: %s\n", strings.Join(p.Aliases, ", "))
	}
	fmt.Fprintln(w)
	t := newTable("KEY", "TYPE", "DEFAULT", "DESCRIPTION").Flex(3)
	for _, f := range p.Fields {
		def := "required"
		if !f.Required {
			def = "-"
			if f.Default != nil {
				def = fmt.Sprint(f.Default)
			}
		}
		t.Row(f.Name, f.Type, def, f.Description)
	}
	t.Write(w)
}

func newConnectValidateCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:               "validate [NAME]",
		Short:             "Validate the configured connectors (or one) and list every problem by field",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: a.completeConnectors,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				for i, j := range cfg.Connectors {
					if j.Name() == args[0] {
						return a.reportValidation(cfg, []string{args[0]}, onlyConnector(ops.ValidateConnectors(cfg, nil), i))
					}
				}
				var names []string
				for _, j := range cfg.Connectors {
					names = append(names, j.Name())
				}
				return usagef("connector %q is not configured%s", args[0], config.Suggest(args[0], names))
			}
			var names []string
			for _, j := range cfg.Connectors {
				names = append(names, j.Name())
			}
			return a.reportValidation(cfg, names, ops.ValidateConnectors(cfg, nil))
		},
	}
}

// onlyConnector keeps the problems of the i-th connector.
func onlyConnector(err error, i int) error {
	var ce *config.Errors
	if !errors.As(err, &ce) {
		return err
	}
	prefix := fmt.Sprintf("connectors[%d].", i)
	out := &config.Errors{Path: ce.Path}
	for _, e := range ce.List {
		if strings.HasPrefix(e.Key, prefix) {
			out.List = append(out.List, e)
		}
	}
	if len(out.List) == 0 {
		return nil
	}
	return out
}

func (a *app) reportValidation(cfg *config.Config, names []string, err error) error {
	if err != nil {
		return err
	}
	return a.emit(map[string]any{"path": cfg.Path, "valid": true, "connectors": names}, func(w io.Writer) {
		fmt.Fprintf(w, "%d connector(s) valid: %s\n", len(names), strings.Join(names, ", "))
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func firstNonBlank(s ...string) string {
	for _, x := range s {
		if strings.TrimSpace(x) != "" {
			return x
		}
	}
	return ""
}
