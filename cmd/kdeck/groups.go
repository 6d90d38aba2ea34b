package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kdeck/kdeck/humanize"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/timespec"
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
	var watch string
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
			var d ops.GroupDetail
			if watch != "" {
				wd, perr := timespec.ParseDuration(watch)
				if perr != nil || wd <= 0 {
					return usagef("--watch %q is not a positive duration: use 30s, 2m or PT30S", watch)
				}
				d, err = watchGroup(cmd.Context(), svc, args[0], wd)
			} else {
				d, err = svc.DescribeGroup(cmd.Context(), "", args[0])
			}
			if err != nil {
				return err
			}
			return a.emit(d, func(w io.Writer) { printGroupDetail(w, d) })
		},
	}
	describe.Flags().StringVar(&watch, "watch", "", "sample the group for this long (such as 30s) so its lag status (OK, WARN, STALL, STOP, REWIND) is known, then print")
	groups.AddCommand(list, describe, newGroupsDeleteCmd(a))
	return groups
}

func printGroups(w io.Writer, gs []ops.GroupSummary) {
	t := newTable("GROUP", "STATE", "PROTOCOL", "MEMBERS", "TOPICS", "LAG", "TIME LAG", "STATUS").Right(3, 5, 6).Flex(4).Last(0).Drop(2, 4, 1)
	for _, g := range gs {
		status := g.Status
		if g.Owner != "" {
			status = g.Owner // a mirror's progress group: not judged by lag rules
		} else if status == "" {
			status = "-"
		}
		t.Row(g.Group, g.State, g.Protocol, g.Members, strings.Join(g.Topics, ","), g.Lag, humanize.Seconds(g.TimeLagEstimate), status)
	}
	t.Write(w)
}

func printGroupDetail(w io.Writer, d ops.GroupDetail) {
	status := d.Status
	if d.Owner != "" {
		status = d.Owner // a mirror's progress group: not judged by lag rules
	} else if status == "" {
		status = "-"
	}
	printFields(w, "Group: "+d.Group, "State: "+d.State, "Protocol: "+d.Protocol, fmt.Sprintf("Members: %d", d.Members),
		fmt.Sprintf("Coordinator: %d", d.Coordinator), fmt.Sprintf("Lag: %d", d.Lag), "Status: "+status)
	fmt.Fprintln(w)
	t := newTable("TOPIC", "PARTITION", "COMMITTED", "LOG END", "LAG", "TIME LAG", "STATUS", "CLIENT", "HOST").Right(1, 2, 3, 4, 5).Flex(7, 8).Last(0).Drop(8, 3, 7)
	for _, o := range d.Offsets {
		client, host := o.ClientID, o.Host
		if client == "" {
			client, host = "-", "-"
		}
		st := o.Status
		if st == "" {
			st = "-"
		}
		lag, timeLag := dash(o.Lag), humanize.Seconds(o.TimeLag)
		if o.Committed < 0 {
			lag, timeLag = "-", "-" // no commit: as kafka-consumer-groups prints it
		}
		t.Row(o.Topic, o.Partition, dash(o.Committed), dash(o.LogEndOffset), lag, timeLag, st, client, host)
	}
	t.Write(w)
	if len(d.MemberList) > 0 {
		fmt.Fprintln(w)
		mt := newTable("MEMBER", "CLIENT", "HOST", "ASSIGNED").Flex(0, 1, 2, 3).Drop(2)
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
