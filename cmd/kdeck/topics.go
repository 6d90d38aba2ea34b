package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kdeck/kdeck/ops"
)

func newTopicsCmd(a *app) *cobra.Command {
	var internal bool
	list := a.topicsListCmd(&internal)
	topics := &cobra.Command{
		Use:   "topics",
		Short: "List, describe, create and delete topics",
		Args:  cobra.NoArgs,
		RunE:  list.RunE,
	}
	topics.Flags().BoolVar(&internal, "internal", false, "include internal topics")
	topics.AddCommand(list, a.topicsDescribeCmd(), a.topicsCreateCmd(), a.topicsDeleteCmd())
	return topics
}

// topicsListCmd is 'topics list'; internal is its --internal flag, which
// 'topics' alone shares.
func (a *app) topicsListCmd(internal *bool) *cobra.Command {
	list := &cobra.Command{
		Use:   "list",
		Short: "List topics with partitions, replication factor and record counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			ts, err := svc.ListTopics(cmd.Context(), "", ops.ListTopicsOptions{Internal: *internal})
			if err != nil {
				return err
			}
			return a.emit(ts, func(w io.Writer) {
				t := newTable("TOPIC", "PARTITIONS", "RF", "RECORDS", "INTERNAL").Right(1, 2, 3).Flex(0)
				for _, x := range ts {
					in := ""
					if x.Internal {
						in = "yes"
					}
					t.Row(x.Name, x.Partitions, x.ReplicationFactor, x.Records, in)
				}
				t.Write(w)
			})
		},
	}
	list.Flags().BoolVar(internal, "internal", false, "include internal topics")
	return list
}

// topicsDescribeCmd is 'topics describe TOPIC'.
func (a *app) topicsDescribeCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "describe TOPIC",
		Short:             "Show a topic's partitions (leader, replicas, ISR, offsets) and configs",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeTopics,
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			td, err := svc.DescribeTopic(cmd.Context(), "", args[0])
			if err != nil {
				return err
			}
			return a.emit(td, func(w io.Writer) { printTopic(w, td) })
		},
	}
}

// printTopic prints a topic's partitions and its non-default configs.
func printTopic(w io.Writer, td ops.TopicDetail) {
	fmt.Fprintf(w, "Topic: %s  ID: %s  Partitions: %d  RF: %d  Records: %d\n\n", td.Name, td.ID, len(td.Partitions), td.ReplicationFactor, td.Records)
	t := newTable("PARTITION", "LEADER", "REPLICAS", "ISR", "LOG START", "LOG END", "RECORDS").Right(0, 1, 4, 5, 6)
	for _, p := range td.Partitions {
		n := int64(-1)
		if p.LogEndOffset >= 0 && p.LogStartOffset >= 0 {
			n = p.LogEndOffset - p.LogStartOffset
		}
		t.Row(p.Partition, p.Leader, ints(p.Replicas), ints(p.ISR), dash(p.LogStartOffset), dash(p.LogEndOffset), dash(n))
	}
	t.Write(w)
	var nondefault []ops.ConfigEntry
	for _, c := range td.Configs {
		if c.Source != "DEFAULT_CONFIG" {
			nondefault = append(nondefault, c)
		}
	}
	fmt.Fprintf(w, "\nConfigs (%d set, %d default; -o json for all):\n", len(nondefault), len(td.Configs)-len(nondefault))
	ct := newTable("NAME", "VALUE", "SOURCE").Flex(1)
	for _, c := range nondefault {
		ct.Row(c.Name, c.Value, c.Source)
	}
	ct.Write(w)
}

// topicsCreateCmd is 'topics create TOPIC'.
func (a *app) topicsCreateCmd() *cobra.Command {
	var partitions int32
	var rf int16
	var configs []string
	create := &cobra.Command{
		Use:   "create TOPIC",
		Short: "Create a topic",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfgs := map[string]string{}
			for _, kv := range configs {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usagef("--config %q is not key=value", kv)
				}
				cfgs[k] = v
			}
			if partitions < 0 {
				return usagef("--partitions must be positive, got %d", partitions)
			}
			if rf < 0 {
				return usagef("--replication-factor must be positive, got %d", rf)
			}
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			if err := svc.CreateTopic(cmd.Context(), "", ops.CreateTopicRequest{Name: args[0], Partitions: partitions, ReplicationFactor: rf, Configs: cfgs}); err != nil {
				return err
			}
			return a.emit(map[string]any{"created": args[0]}, func(w io.Writer) { fmt.Fprintf(w, "created topic %s\n", args[0]) })
		},
	}
	create.Flags().Int32VarP(&partitions, "partitions", "p", 0, "number of partitions (default: the broker's)")
	create.Flags().Int16VarP(&rf, "replication-factor", "r", 0, "replication factor (default: the broker's)")
	create.Flags().StringArrayVar(&configs, "config", nil, "topic config key=value, repeatable")
	return create
}

// topicsDeleteCmd is 'topics delete TOPIC': a dry run without --execute.
func (a *app) topicsDeleteCmd() *cobra.Command {
	var execute bool
	del := &cobra.Command{
		Use:   "delete TOPIC",
		Short: "Show (and with --execute delete) a topic and its records",
		Long: `Show what deleting a topic removes (partitions, records); with --execute,
delete it. As every destructive verb of kdeck (groups delete, offsets reset),
nothing changes without --execute. Deleting a topic cannot be undone.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeTopics,
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			d, err := svc.DescribeTopic(cmd.Context(), "", args[0])
			if err != nil {
				return err
			}
			out := map[string]any{"topic": d.Name, "partitions": len(d.Partitions), "records": d.Records, "executed": false}
			if !execute {
				return a.emit(out, func(w io.Writer) {
					fmt.Fprintf(w, "Would delete topic %s: %d partition(s), %d record(s). This cannot be undone.\n\nDry run: nothing changed. Delete it with --execute.\n",
						escapeControl(d.Name, false), len(d.Partitions), d.Records)
				})
			}
			if err := svc.DeleteTopic(cmd.Context(), "", args[0]); err != nil {
				return err
			}
			out["executed"], out["deleted"] = true, d.Name
			return a.emit(out, func(w io.Writer) { fmt.Fprintf(w, "deleted topic %s\n", escapeControl(d.Name, false)) })
		},
	}
	del.Flags().BoolVar(&execute, "execute", false, "delete the topic (without it: show what would be deleted)")
	return del
}

func ints(v []int32) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(int(x))
	}
	return strings.Join(s, ",")
}
