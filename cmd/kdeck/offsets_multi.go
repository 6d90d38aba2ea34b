package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/kdeck/kdeck/ops"
)

// multiParallel bounds how many groups a multi-group reset plans or
// executes at once.
const multiParallel = 8

// groupOutcome is one group of a multi-group reset.
type groupOutcome struct {
	Group      string          `json:"group"`
	Plan       *ops.Plan       `json:"plan,omitempty"`
	Executed   bool            `json:"executed"`
	AuditEntry *ops.AuditEntry `json:"audit_entry,omitempty"`
	Error      string          `json:"error,omitempty"`
	err        error
}

// resetGroups resets several groups (GROUP... or --all-groups), as
// kafka-consumer-groups --reset-offsets does with several --group or
// --all-groups: each group gets its own plan, its own refusal checks and its
// own audit entry (so each can be undone alone). Plans are made, and with
// --execute applied, several at a time.
func (a *app) resetGroups(cmd *cobra.Command, groups []string, all bool, rf *resetFlags, run runFlags) error {
	if err := run.check(); err != nil {
		return err
	}
	ctx := cmd.Context()
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	if all {
		if groups, err = allGroups(ctx, svc, groups); err != nil {
			return err
		}
	}
	sort.Strings(groups)
	outs := make([]groupOutcome, len(groups))
	reqs := make([]ops.ResetRequest, len(groups))
	for i, g := range groups {
		req, err := rf.request(cmd, g)
		if err != nil {
			return err
		}
		req.Command = commandLine(cmd, groups)
		reqs[i] = req
		outs[i].Group = g
	}
	progress := newProgress(a.err, len(groups))
	forEach(ctx, len(groups), func(ctx context.Context, i int) {
		defer progress.step()
		p, err := svc.PlanReset(ctx, reqs[i])
		if err != nil {
			outs[i].err = err
			return
		}
		outs[i].Plan = p
		if !run.execute {
			return
		}
		entry, err := svc.ExecutePlan(ctx, p)
		if err != nil {
			outs[i].err = err
			return
		}
		outs[i].Executed, outs[i].AuditEntry = true, &entry
	})
	progress.done()
	var failed []string
	var firstErr error
	for i := range outs {
		if outs[i].err != nil {
			outs[i].Error = outs[i].err.Error()
			failed = append(failed, outs[i].Group)
			if firstErr == nil {
				firstErr = outs[i].err
			}
		}
	}
	if run.export != "" {
		if err := exportPlans(run.export, outs); err != nil {
			return err
		}
	}
	if a.output == "json" {
		if err := writeJSON(a.out, outs); err != nil {
			return err
		}
	} else {
		printMultiPlan(a.out, outs, run.execute)
	}
	if len(failed) > 0 {
		// Keep the first failure's kind (refused, usage) for the exit code.
		return &multiError{first: firstErr, msg: fmt.Sprintf("%d of %d group(s) failed (%s); the first: %v",
			len(failed), len(groups), strings.Join(first(failed, 5), ", "), firstErr)}
	}
	return nil
}

// allGroups adds every consumer group of the default cluster to groups
// (--all-groups); a cluster without groups is an error.
func allGroups(ctx context.Context, svc ops.Service, groups []string) ([]string, error) {
	gs, err := svc.ListGroups(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, g := range gs {
		groups = append(groups, g.Group)
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("--all-groups: the cluster has no consumer groups")
	}
	return groups, nil
}

type multiError struct {
	first error
	msg   string
}

func (m *multiError) Error() string { return m.msg }
func (m *multiError) Unwrap() error { return m.first }

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "…")
	}
	return s
}

// forEach runs fn for 0..n-1, multiParallel at a time, and waits.
func forEach(ctx context.Context, n int, fn func(ctx context.Context, i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(multiParallel, n) {
		wg.Go(func() {
			for i := range next {
				fn(ctx, i)
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
}

func exportPlans(path string, outs []groupOutcome) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cannot write --export %s: %v", path, pathError(err))
	}
	for _, o := range outs {
		if o.Plan == nil {
			continue
		}
		if err := ops.WritePlanCSV(f, o.Plan, true); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// printMultiPlan prints every group's rows in one table with a GROUP column,
// as kafka-consumer-groups does, and the totals.
func printMultiPlan(w io.Writer, outs []groupOutcome, executed bool) {
	t := newTable("GROUP", "TOPIC", "PARTITION", "CURRENT", "NEW", "DELTA", "RE-READ", "SKIPPED", "NOTE").Right(2, 3, 4, 5, 6, 7).Flex(0, 1, 8)
	var tot ops.PlanTotals
	groups := 0
	for _, o := range outs {
		if o.Plan == nil {
			continue
		}
		groups++
		for _, r := range o.Plan.Rows {
			delta := "-"
			if r.Current >= 0 && r.New >= 0 {
				delta = fmt.Sprintf("%+d", r.Delta)
			}
			t.Row(o.Group, r.Topic, r.Partition, dash(r.Current), dash(r.New), delta, r.Reread, r.Skipped, r.Note)
		}
		tot.Partitions += o.Plan.Totals.Partitions
		tot.Changed += o.Plan.Totals.Changed
		tot.Reread += o.Plan.Totals.Reread
		tot.Skipped += o.Plan.Totals.Skipped
	}
	t.Write(w)
	fmt.Fprintf(w, "\nTotal: %d group(s), %d partition(s), %d changed, %d record(s) re-read, %d skipped\n",
		groups, tot.Partitions, tot.Changed, tot.Reread, tot.Skipped)
	for _, o := range outs {
		if o.err != nil {
			fmt.Fprintf(w, "group %s: %v\n", o.Group, o.err)
		}
	}
	if !executed {
		fmt.Fprintln(w, "\nDry run: nothing changed. Apply it with --execute.")
		return
	}
	n := 0
	for _, o := range outs {
		if o.Executed {
			n++
		}
	}
	fmt.Fprintf(w, "\nExecuted for %d group(s), each with its own audit entry ('kdeck audit' lists them; undo one with 'kdeck offsets undo ID').\n", n)
}

// progress prints "planned N/M groups" to stderr on a terminal only.
type progress struct {
	w     io.Writer
	total int
	mu    sync.Mutex
	n     int
	on    bool
}

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, total: total, on: isTerminal(w) && total > 1}
}

func (p *progress) step() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if p.on {
		fmt.Fprintf(p.w, "\r%d/%d groups", p.n, p.total)
	}
}

func (p *progress) done() {
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

var errNoGroup = errors.New("give a GROUP, several, or --all-groups")
