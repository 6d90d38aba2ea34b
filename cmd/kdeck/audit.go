package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/timespec"
)

func newAuditCmd(a *app) *cobra.Command {
	var group, since, until, action string
	var limit int
	list := func(cmd *cobra.Command, args []string) error {
		f := ops.AuditFilter{Group: group, Action: action, Limit: limit}
		now := time.Now()
		if since != "" {
			t, err := timespec.ParseTime(since, now)
			if err != nil {
				return usagef("--since: %v", err)
			}
			f.Since = t
		}
		if until != "" {
			t, err := timespec.ParseTime(until, now)
			if err != nil {
				return usagef("--until: %v", err)
			}
			f.Until = t
		}
		svc, err := a.service(cmd.Context())
		if err != nil {
			return err
		}
		es, err := svc.Audit(cmd.Context(), f)
		if err != nil {
			return err
		}
		return a.emit(es, func(w io.Writer) { printAuditList(w, es) })
	}
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "List and show the audit log of mutations (who, when, what, before and after)",
		Args:  cobra.NoArgs,
		RunE:  list,
	}
	listCmd := &cobra.Command{
		Use:   "list",
		Short: "List audit entries, newest first",
		Args:  cobra.NoArgs,
		RunE:  list,
	}
	for _, c := range []*cobra.Command{cmd, listCmd} {
		f := c.Flags()
		f.StringVar(&group, "group", "", "only entries of this consumer group")
		f.StringVar(&since, "since", "", "only entries at or after this time (or duration ago, such as 24h)")
		f.StringVar(&until, "until", "", "only entries at or before this time")
		f.StringVar(&action, "action", "", "only this action (offsets.reset) or family (offsets)")
		f.IntVar(&limit, "limit", 0, "at most this many entries (0: all)")
	}
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one audit entry with the offsets before and after",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			e, err := svc.AuditEntry(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.emit(e, func(w io.Writer) { printAuditEntry(w, e) })
		},
	}
	cmd.AddCommand(listCmd, show)
	return cmd
}

func auditSubject(e ops.AuditEntry) string {
	switch {
	case e.Group != "":
		return "group " + e.Group
	case e.Topic != "":
		return "topic " + e.Topic
	case e.Job != "":
		return "job " + e.Job
	}
	return "-"
}

func printAuditList(w io.Writer, es []ops.AuditEntry) {
	// The id stays whole (undo needs it); cluster, changed count and user go
	// first when the terminal is narrow.
	t := newTable("ID", "TIME", "USER", "ACTION", "CLUSTER", "SUBJECT", "CHANGED", "OUTCOME").Right(6).Flex(5).Drop(4, 6, 2)
	for _, e := range es {
		t.Row(e.ID, e.Time.Local().Format("2006-01-02 15:04:05"), e.User, e.Action, e.Cluster, auditSubject(e), len(e.After), e.Outcome)
	}
	t.Write(w)
}

func printAuditEntry(w io.Writer, e ops.AuditEntry) {
	kv := newTable("FIELD", "VALUE").Flex(1)
	kv.Row("id", e.ID)
	kv.Row("time", e.Time.UTC().Format(time.RFC3339Nano))
	kv.Row("user", e.User)
	if e.SSHClient != "" {
		kv.Row("ssh", e.SSHClient)
	}
	kv.Row("host", e.Host)
	kv.Row("command", e.Command)
	kv.Row("action", e.Action)
	kv.Row("cluster", e.Cluster)
	kv.Row("subject", auditSubject(e))
	if e.UndoOf != "" {
		kv.Row("undo of", e.UndoOf)
	}
	for k, v := range e.Details {
		kv.Row(k, v)
	}
	kv.Row("outcome", e.Outcome)
	if e.Error != "" {
		kv.Row("error", e.Error)
	}
	kv.Write(w)
	if len(e.Before) == 0 && len(e.After) == 0 {
		return
	}
	fmt.Fprintln(w)
	after := map[string]int64{}
	for _, o := range e.After {
		after[fmt.Sprintf("%s/%d", o.Topic, o.Partition)] = o.Offset
	}
	t := newTable("TOPIC", "PARTITION", "BEFORE", "AFTER").Right(1, 2, 3).Flex(0)
	for _, o := range e.Before {
		a, ok := after[fmt.Sprintf("%s/%d", o.Topic, o.Partition)]
		if !ok {
			a = -1
		}
		t.Row(o.Topic, o.Partition, dash(o.Offset), dash(a))
	}
	t.Write(w)
}
