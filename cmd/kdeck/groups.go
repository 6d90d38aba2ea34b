package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kdeck/kdeck/ops"
)

func newGroupsCmd(a *app) *cobra.Command {
	list := &cobra.Command{
		Use:   "list",
		Short: "List consumer groups (classic and KIP-848) with state, members and lag",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			gs, err := svc.ListGroups(cmd.Context(), "")
			if err != nil {
				return err
			}
			return a.emit(gs, func(w io.Writer) { printGroups(w, gs) })
		},
	}
	groups := &cobra.Command{
		Use:     "groups",
		Aliases: []string{"lag"},
		Short:   "List and describe consumer groups and their lag",
		Args:    cobra.NoArgs,
		RunE:    list.RunE,
	}
	describe := &cobra.Command{
		Use:               "describe GROUP",
		Short:             "Show a group's members and per-partition offsets, lag and time lag",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeGroups,
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			d, err := svc.DescribeGroup(cmd.Context(), "", args[0])
			if err != nil {
				return err
			}
			return a.emit(d, func(w io.Writer) { printGroupDetail(w, d) })
		},
	}
	groups.AddCommand(list, describe)
	for _, f := range groupsExtra {
		groups.AddCommand(f(a))
	}
	return groups
}

// groupsExtra lets other files add subcommands to 'groups' (delete).
var groupsExtra []func(a *app) *cobra.Command

func printGroups(w io.Writer, gs []ops.GroupSummary) {
	t := newTable("GROUP", "STATE", "PROTOCOL", "MEMBERS", "TOPICS", "LAG", "TIME LAG", "STATUS").Right(3, 5, 6).Flex(4)
	for _, g := range gs {
		status := g.Status
		if status == "" {
			status = "-"
		}
		t.Row(g.Group, g.State, g.Protocol, g.Members, strings.Join(g.Topics, ","), g.Lag, humanSeconds(g.TimeLagEstimate), status)
	}
	t.Write(w)
}

func printGroupDetail(w io.Writer, d ops.GroupDetail) {
	status := d.Status
	if status == "" {
		status = "-"
	}
	fmt.Fprintf(w, "Group: %s  State: %s  Protocol: %s  Members: %d  Coordinator: %d  Lag: %d  Status: %s\n\n",
		d.Group, d.State, d.Protocol, d.Members, d.Coordinator, d.Lag, status)
	t := newTable("TOPIC", "PARTITION", "COMMITTED", "LOG END", "LAG", "TIME LAG", "CLIENT", "HOST").Right(1, 2, 3, 4, 5).Flex(0, 6, 7)
	for _, o := range d.Offsets {
		client, host := o.ClientID, o.Host
		if client == "" {
			client, host = "-", "-"
		}
		t.Row(o.Topic, o.Partition, dash(o.Committed), dash(o.LogEndOffset), o.Lag, humanSeconds(o.TimeLag), client, host)
	}
	t.Write(w)
	if len(d.MemberList) > 0 {
		fmt.Fprintln(w)
		mt := newTable("MEMBER", "CLIENT", "HOST", "ASSIGNED").Flex(0, 3)
		for _, m := range d.MemberList {
			var as []string
			for _, s := range m.Assigned {
				as = append(as, fmt.Sprintf("%s:%s", s.Topic, ints(s.Partitions)))
			}
			mt.Row(m.MemberID, m.ClientID, m.Host, strings.Join(as, " "))
		}
		mt.Write(w)
	}
}
