package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/timespec"
)

func newReplayCmd(a *app) *cobra.Command {
	var run runFlags
	var topics []string
	var from, as string
	cmd := &cobra.Command{
		Use:   "replay GROUP --from TIME|DURATION",
		Short: "Plan (and with --execute apply) reprocessing a group's input from a time, optionally as a new group",
		Long: `Replay is a reset to a time: each partition goes back to the first record at
or after --from (RFC 3339, YYYY-MM-DDTHH:mm:SS.sss with an optional zone, UTC
when none, or a duration ago such as 2h or PT2H). Without --topic it covers
every topic the group has committed offsets for.

With --as NEW the offsets are written to group NEW and GROUP is left untouched:
start the new version of the application with group NEW ("activate a new
application group") instead of rewinding the live one.`,
		Example: `  kdeck replay billing --from 2h
  kdeck replay billing --from 2026-11-25T08:00:00Z --as billing-v2 --execute`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeGroups,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := run.check(); err != nil {
				return err
			}
			if from == "" {
				return usagef("--from is required: give a time (2026-11-25T08:00:00Z) or a duration ago (2h, PT2H)")
			}
			at, err := timespec.ParseTime(from, time.Now())
			if err != nil {
				return usagef("--from: %v", err)
			}
			scope, err := parseTopicSpecs(topics)
			if err != nil {
				return err
			}
			req := ops.ResetRequest{Group: args[0], TargetGroup: as, TargetGiven: cmd.Flags().Changed("as"), Mode: ops.ResetToDatetime, Time: at, Scope: scope, AllTopics: len(scope) == 0}
			return a.runPlan(cmd, args, run, func(ctx context.Context, svc ops.Service) (*ops.Plan, error) {
				return svc.PlanReset(ctx, req)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "where to replay from: a time or a duration ago")
	f.StringArrayVar(&topics, "topic", nil, "topic to replay, T or T:0,2; repeatable (default: the group's topics)")
	f.StringVar(&as, "as", "", "write the offsets to this new group and leave GROUP untouched")
	run.add(f, true)
	_ = cmd.RegisterFlagCompletionFunc("topic", a.completeTopics)
	return cmd
}
