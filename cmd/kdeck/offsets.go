package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/timespec"
)

func newOffsetsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "offsets",
		Short: "Reset, delete and undo consumer group offsets: previewed, audited, undoable",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newOffsetsResetCmd(a), newOffsetsUndoCmd(a), newOffsetsDeleteCmd(a))
	return cmd
}

// runFlags are the flags every previewed mutation has.
type runFlags struct {
	dryRun, execute bool
	export          string
}

func (r *runFlags) add(f *pflag.FlagSet, export bool) {
	f.BoolVar(&r.dryRun, "dry-run", false, "print the plan and change nothing (the default)")
	f.BoolVar(&r.execute, "execute", false, "apply the plan")
	if export {
		f.StringVar(&r.export, "export", "", "write the plan's new offsets to FILE as CSV in kafka-consumer-groups' format")
		markLocalFile(f, "export")
	}
}

func (r *runFlags) check() error {
	if r.dryRun && r.execute {
		return usagef("--dry-run and --execute exclude each other: give one (a dry run is the default)")
	}
	return nil
}

// resetFlags hold the mode and scope flags of a reset.
type resetFlags struct {
	topics    []string
	allTopics bool
	earliest  bool
	latest    bool
	current   bool
	toOffset  string
	shiftBy   string
	datetime  string
	duration  string
	toGroup   string
	fromFile  string
	// fileRows is --from-file read once (stdin can be read only once, and
	// a multi-group reset asks for each group).
	fileRows []ops.FileOffset
}

var modeFlags = []string{"to-earliest", "to-latest", "to-current", "to-offset", "shift-by", "to-datetime", "by-duration", "to-group", "from-file"}

func newOffsetsResetCmd(a *app) *cobra.Command {
	var rf resetFlags
	var run runFlags
	var allGroups bool
	cmd := &cobra.Command{
		Use:   "reset GROUP... | --all-groups",
		Short: "Plan (and with --execute apply) a reset of a group's committed offsets",
		Long: `Reset a consumer group's committed offsets, as kafka-consumer-groups.sh
--reset-offsets does, but previewed: the default is a dry run that prints the
plan (current and new offset per partition, records re-read or skipped), and
--execute applies it with one batched commit. Targets outside the log are
clamped to it. A group with active members is refused; a group that does not
exist yet is created. Every execution is audited and can be undone with
'kdeck offsets undo ID'.

Scope: --topic T (all partitions) or --topic T:0,2,5, repeatable, or
--all-topics (the topics the group has committed offsets for).
Mode, exactly one: --to-earliest, --to-latest, --to-current, --to-offset N,
--shift-by N, --to-datetime T, --by-duration D, --to-group OTHER, --from-file F.

Several groups (GROUP GROUP... or --all-groups) are planned and applied
together, each with its own plan, refusal checks and audit entry; the table
gains a GROUP column and --export writes group,topic,partition,offset.`,
		Example: `  kdeck offsets reset billing --topic orders --to-earliest
  kdeck offsets reset billing --topic orders:0,2 --shift-by -100 --execute
  kdeck offsets reset billing --all-topics --to-datetime 2026-11-25T10:00:00.000 --export plan.csv
  kdeck offsets reset billing --from-file plan.csv --execute
  kdeck offsets reset --all-groups --all-topics --to-latest --execute`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case allGroups && len(args) > 0:
				return fmt.Errorf("give GROUP arguments or --all-groups, not both")
			case !allGroups && len(args) == 0:
				return errNoGroup
			}
			return nil
		},
		ValidArgsFunction: a.completeGroups,
		RunE: func(cmd *cobra.Command, args []string) error {
			if allGroups || len(args) > 1 {
				return a.resetGroups(cmd, args, allGroups, &rf, run)
			}
			if err := run.check(); err != nil {
				return err
			}
			req, err := rf.request(cmd, args[0])
			if err != nil {
				return err
			}
			req.Command = commandLine(cmd, args)
			return a.runPlan(cmd, args, run, func(ctx context.Context, svc ops.Service) (*ops.Plan, error) {
				return svc.PlanReset(ctx, req)
			})
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&rf.topics, "topic", nil, "topic to reset, all partitions (T) or some (T:0,2,5); repeatable")
	f.BoolVar(&rf.allTopics, "all-topics", false, "reset every topic the group has committed offsets for")
	f.BoolVar(&allGroups, "all-groups", false, "reset every consumer group of the cluster")
	f.BoolVar(&rf.earliest, "to-earliest", false, "reset to the log start offset")
	f.BoolVar(&rf.latest, "to-latest", false, "reset to the log end offset")
	f.BoolVar(&rf.current, "to-current", false, "reset to the committed offset (the log end where none)")
	f.StringVar(&rf.toOffset, "to-offset", "", "reset to offset N")
	f.StringVar(&rf.shiftBy, "shift-by", "", "move the committed offset by N (negative rewinds)")
	f.StringVar(&rf.datetime, "to-datetime", "", "reset to the first record at or after T (RFC 3339, or YYYY-MM-DDTHH:mm:SS.sss with an optional zone; UTC when none)")
	f.StringVar(&rf.duration, "by-duration", "", "reset to the first record at or after D ago (ISO 8601 PnDTnHnMnS, or 90m)")
	f.StringVar(&rf.toGroup, "to-group", "", "copy the committed offsets of group OTHER")
	f.StringVar(&rf.fromFile, "from-file", "", `reset to the offsets of a CSV plan (topic,partition,offset or group,topic,partition,offset); "-" reads stdin`)
	markLocalFile(f, "from-file")
	run.add(f, true)
	_ = cmd.RegisterFlagCompletionFunc("topic", a.completeTopics)
	_ = cmd.RegisterFlagCompletionFunc("to-group", a.completeGroups)
	return cmd
}

// request builds a ResetRequest from the flags, or a usage error.
func (rf *resetFlags) request(cmd *cobra.Command, group string) (ops.ResetRequest, error) {
	req := ops.ResetRequest{Group: group, AllTopics: rf.allTopics}
	mode, err := resetMode(cmd)
	if err != nil {
		return req, err
	}
	scope, err := parseTopicSpecs(rf.topics)
	if err != nil {
		return req, err
	}
	req.Scope = scope
	if len(scope) > 0 && rf.allTopics {
		return req, usagef("--topic and --all-topics exclude each other: give one")
	}
	if len(scope) == 0 && !rf.allTopics && mode != "--from-file" && mode != "--to-group" {
		return req, usagef("no topics given: use --topic T (repeatable, T:0,2,5 for some partitions) or --all-topics")
	}
	if err := rf.applyMode(cmd, mode, &req); err != nil {
		return req, err
	}
	return req, nil
}

// applyMode fills req (whose Scope is already parsed) for the reset mode
// flag mode, checking that flag's value; a bad value is a usage error.
func (rf *resetFlags) applyMode(cmd *cobra.Command, mode string, req *ops.ResetRequest) error {
	scope := req.Scope
	now := time.Now()
	switch mode {
	case "--to-earliest":
		req.Mode = ops.ResetToEarliest
	case "--to-latest":
		req.Mode = ops.ResetToLatest
	case "--to-current":
		req.Mode = ops.ResetToCurrent
	case "--to-offset":
		req.Mode = ops.ResetToOffset
		n, err := strconv.ParseInt(strings.TrimSpace(rf.toOffset), 10, 64)
		if err != nil || n < 0 {
			return usagef("--to-offset %q is not an offset: give a number of 0 or more", rf.toOffset)
		}
		req.Offset = n
	case "--shift-by":
		req.Mode = ops.ResetShiftBy
		n, err := strconv.ParseInt(strings.TrimSpace(rf.shiftBy), 10, 64)
		if err != nil {
			return usagef("--shift-by %q is not a number: give a count such as -100 or 50", rf.shiftBy)
		}
		req.Offset = n
	case "--to-datetime":
		req.Mode = ops.ResetToDatetime
		t, err := timespec.ParseTime(rf.datetime, now)
		if err != nil {
			return usagef("--to-datetime: %v", err)
		}
		req.Time = t
	case "--by-duration":
		req.Mode = ops.ResetByDuration
		d, err := timespec.ParseDuration(rf.duration)
		if err != nil {
			return usagef("--by-duration: %v", err)
		}
		if d == 0 {
			return usagef("--by-duration %q is zero: give how far back, such as PT15M or 90m", rf.duration)
		}
		req.Duration = d
	case "--to-group":
		req.Mode = ops.ResetToGroup
		req.FromGroup = rf.toGroup
		if req.FromGroup == "" {
			return usagef("--to-group needs the name of the group to copy")
		}
		if len(scope) == 0 {
			req.AllTopics = true
		}
	case "--from-file":
		req.Mode = ops.ResetFromFile
		if len(scope) > 0 || rf.allTopics {
			return usagef("--from-file takes its partitions from the file: drop --topic and --all-topics")
		}
		if rf.fileRows == nil {
			rows, err := rf.readFile(cmd.InOrStdin())
			if err != nil {
				return err
			}
			rf.fileRows = rows
		}
		req.FileOffsets = rf.fileRows
	}
	return nil
}

// resetMode returns the one reset mode flag given ("--to-earliest"...), or a
// usage error when there is none or more than one.
func resetMode(cmd *cobra.Command) (string, error) {
	var set []string
	for _, m := range modeFlags {
		if cmd.Flags().Changed(m) {
			set = append(set, "--"+m)
		}
	}
	switch len(set) {
	case 0:
		return "", usagef("no reset mode given: use exactly one of --%s", strings.Join(modeFlags, ", --"))
	case 1:
	default:
		return "", usagef("%s are two modes: use exactly one", strings.Join(set, " and "))
	}
	return set[0], nil
}

// readFile reads the --from-file CSV plan ("-": stdin).
func (rf *resetFlags) readFile(stdin io.Reader) ([]ops.FileOffset, error) {
	in, name := stdin, "standard input"
	if rf.fromFile != "-" {
		f, err := os.Open(rf.fromFile)
		if err != nil {
			return nil, usagef("cannot read --from-file %s: %v", rf.fromFile, pathError(err))
		}
		defer f.Close()
		in, name = f, rf.fromFile
	}
	return ops.ParseOffsetsCSV(in, name)
}

func pathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// parseTopicSpecs parses --topic values: T or T:0,2,5. Repeated topics merge.
func parseTopicSpecs(specs []string) ([]ops.TopicScope, error) {
	var out []ops.TopicScope
	idx := map[string]int{}
	for _, s := range specs {
		name, parts, hasParts := strings.Cut(strings.TrimSpace(s), ":")
		if name == "" {
			return nil, usagef("--topic %q names no topic: use T or T:0,2,5", s)
		}
		var ps []int32
		if hasParts {
			for _, p := range strings.Split(parts, ",") {
				n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 32)
				if err != nil || n < 0 {
					return nil, usagef("--topic %q: partition %q is not a partition number: use T:0,2,5", s, p)
				}
				ps = append(ps, int32(n))
			}
		}
		i, seen := idx[name]
		switch {
		case !seen:
			idx[name] = len(out)
			out = append(out, ops.TopicScope{Topic: name, Partitions: ps})
		case len(out[i].Partitions) == 0 || len(ps) == 0:
			out[i].Partitions = nil // the whole topic
		default:
			out[i].Partitions = append(out[i].Partitions, ps...)
		}
	}
	for i := range out {
		ps := out[i].Partitions
		sort.Slice(ps, func(a, b int) bool { return ps[a] < ps[b] })
		out[i].Partitions = dedupInt32(ps)
	}
	return out, nil
}

func dedupInt32(ps []int32) []int32 {
	var out []int32
	for i, p := range ps {
		if i == 0 || p != ps[i-1] {
			out = append(out, p)
		}
	}
	return out
}

// commandLine rebuilds the command as typed, for the audit log.
func commandLine(cmd *cobra.Command, args []string) string {
	parts := []string{cmd.CommandPath()}
	parts = append(parts, args...)
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if sa, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sa.GetSlice() {
				parts = append(parts, "--"+f.Name+"="+v)
			}
			return
		}
		if f.Value.Type() == "bool" {
			parts = append(parts, "--"+f.Name)
			return
		}
		parts = append(parts, "--"+f.Name+"="+f.Value.String())
	})
	return strings.Join(parts, " ")
}

// planResult is what -o json prints after --execute.
type planResult struct {
	Plan       *ops.Plan       `json:"plan"`
	Executed   bool            `json:"executed"`
	AuditEntry *ops.AuditEntry `json:"audit_entry,omitempty"`
}

// runPlan checks the run flags, makes a plan with the service and applies
// it as applyPlan does.
func (a *app) runPlan(cmd *cobra.Command, args []string, run runFlags, plan func(ctx context.Context, svc ops.Service) (*ops.Plan, error)) error {
	if err := run.check(); err != nil {
		return err
	}
	svc, err := a.service(cmd.Context())
	if err != nil {
		return err
	}
	p, err := plan(cmd.Context(), svc)
	if err != nil {
		return err
	}
	if p.Command == "" {
		p.Command = commandLine(cmd, args)
	}
	return a.applyPlan(cmd, svc, p, run)
}

// applyPlan exports, prints and (with --execute) executes a plan.
func (a *app) applyPlan(cmd *cobra.Command, svc ops.Service, p *ops.Plan, run runFlags) error {
	if run.export != "" {
		if err := exportPlan(run.export, p); err != nil {
			return err
		}
	}
	if !run.execute {
		if a.output == "json" {
			return writeJSON(a.out, p)
		}
		printPlan(a.out, p)
		fmt.Fprintln(a.out)
		fmt.Fprintln(a.out, "Dry run: nothing changed. Apply it with --execute.")
		if run.export != "" {
			fmt.Fprintf(a.out, "Plan exported to %s.\n", run.export)
		}
		return nil
	}
	entry, err := svc.ExecutePlan(cmd.Context(), p)
	if err != nil {
		return err
	}
	if a.output == "json" {
		return writeJSON(a.out, planResult{Plan: p, Executed: true, AuditEntry: &entry})
	}
	printPlan(a.out, p)
	fmt.Fprintln(a.out)
	fmt.Fprintf(a.out, "Executed: %d offset(s) changed in group %q. Audit entry %s; undo with 'kdeck offsets undo %s --execute'.\n",
		len(entry.After), p.Group, entry.ID, entry.ID)
	return nil
}

func exportPlan(path string, p *ops.Plan) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cannot write --export %s: %v", path, pathError(err))
	}
	if err := ops.WritePlanCSV(f, p, false); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var planTitles = map[ops.PlanKind]string{
	ops.PlanReset:         "Reset offsets of",
	ops.PlanUndo:          "Undo: restore offsets of",
	ops.PlanDeleteOffsets: "Delete committed offsets of",
	ops.PlanDeleteGroup:   "Delete",
}

// printPlan prints a plan as a table with its totals.
func printPlan(w io.Writer, p *ops.Plan) {
	fmt.Fprintf(w, "%s group %q on cluster %q", planTitles[p.Kind], p.Group, p.Cluster)
	if p.Mode != "" {
		fmt.Fprintf(w, " (%s", p.Mode)
		if p.SourceGroup != "" {
			fmt.Fprintf(w, " from group %q", p.SourceGroup)
		}
		fmt.Fprint(w, ")")
	}
	if p.UndoOf != "" {
		fmt.Fprintf(w, ", reverting audit entry %s", p.UndoOf)
	}
	fmt.Fprintln(w)
	if p.Instant != nil {
		fmt.Fprintf(w, "Instant: %s (%s local)\n", p.Instant.UTC().Format(time.RFC3339Nano), p.Instant.Local().Format("2006-01-02 15:04:05.000 MST"))
	}
	fmt.Fprintln(w)
	t := newTable("TOPIC", "PARTITION", "CURRENT", "NEW", "DELTA", "RE-READ", "SKIPPED", "NOTE").Right(1, 2, 3, 4, 5, 6).Flex(0, 7)
	for _, r := range p.Rows {
		delta := "-"
		if r.Current >= 0 && r.New >= 0 {
			delta = fmt.Sprintf("%+d", r.Delta)
		}
		t.Row(r.Topic, r.Partition, dash(r.Current), dash(r.New), delta, r.Reread, r.Skipped, r.Note)
	}
	t.Write(w)
	fmt.Fprintf(w, "\nTotal: %d partition(s), %d changed, %d record(s) re-read, %d skipped\n",
		p.Totals.Partitions, p.Totals.Changed, p.Totals.Reread, p.Totals.Skipped)
}

func newOffsetsUndoCmd(a *app) *cobra.Command {
	var run runFlags
	cmd := &cobra.Command{
		Use:   "undo ID",
		Short: "Plan (and with --execute apply) restoring the offsets an audit entry replaced",
		Long: `Restore the committed offsets that an audited offsets change (a reset, a
delete, or an undo) replaced. Refused when the group has active members, when
its offsets changed since that entry, or when the entry is not an offsets
change. The undo is itself audited. Find ids with 'kdeck audit'.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runPlan(cmd, args, run, func(ctx context.Context, svc ops.Service) (*ops.Plan, error) {
				return svc.PlanUndo(ctx, args[0])
			})
		},
	}
	run.add(cmd.Flags(), false)
	return cmd
}

func newOffsetsDeleteCmd(a *app) *cobra.Command {
	var run runFlags
	var topics []string
	cmd := &cobra.Command{
		Use:   "delete GROUP --topic T[:P,...]",
		Short: "Plan (and with --execute apply) deleting a group's committed offsets for some topics",
		Long: `Delete a group's committed offsets for topics or partitions (OffsetDelete),
previewed like a reset. Refused for a group with active members. The deleted
offsets are kept in the audit entry, so 'kdeck offsets undo ID' restores them.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeGroups,
		RunE: func(cmd *cobra.Command, args []string) error {
			scope, err := parseTopicSpecs(topics)
			if err != nil {
				return err
			}
			if len(scope) == 0 {
				return usagef("no topics given: use --topic T or T:0,2 (to delete the whole group use 'kdeck groups delete')")
			}
			return a.runPlan(cmd, args, run, func(ctx context.Context, svc ops.Service) (*ops.Plan, error) {
				return svc.PlanDeleteOffsets(ctx, "", args[0], scope)
			})
		},
	}
	cmd.Flags().StringArrayVar(&topics, "topic", nil, "topic whose offsets to delete, all partitions (T) or some (T:0,2); repeatable")
	_ = cmd.RegisterFlagCompletionFunc("topic", a.completeTopics)
	run.add(cmd.Flags(), false)
	return cmd
}

func newGroupsDeleteCmd(a *app) *cobra.Command {
	var run runFlags
	cmd := &cobra.Command{
		Use:   "delete GROUP",
		Short: "Plan (and with --execute apply) deleting a consumer group and its offsets",
		Long: `Delete a consumer group (DeleteGroups), previewed: the plan lists the
committed offsets that go with it. Refused for a group with active members.
The offsets are kept in the audit entry, so 'kdeck offsets undo ID' restores
them (recreating the group).`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeGroups,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runPlan(cmd, args, run, func(ctx context.Context, svc ops.Service) (*ops.Plan, error) {
				return svc.PlanDeleteOffsets(ctx, "", args[0], nil)
			})
		},
	}
	run.add(cmd.Flags(), false)
	return cmd
}
