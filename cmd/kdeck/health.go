package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdeck/kdeck/jobstate"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/timespec"
)

// errUnhealthy is returned by 'kdeck health' when something is wrong (exit 1).
var errUnhealthy = errors.New("unhealthy")

func newHealthCmd(a *app) *cobra.Command {
	var sample string
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Exit 0 when every cluster answers, no job is FAILED and no group is in STOP or STALL",
		Long: `Check kdeck's world for cron and monitoring scripts: every configured cluster
answers, no job is FAILED, and no consumer group's lag status is STOP or STALL.
Prints what is wrong and exits 1 otherwise.

Lag statuses need a window of samples: a worker or TUI keeps one; a one-shot
'kdeck health' sees none unless --sample D observes the groups for D first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var d time.Duration
			if sample != "" {
				var err error
				if d, err = timespec.ParseDuration(sample); err != nil {
					return usagef("--sample: %v", err)
				}
			}
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			if d > 0 {
				if _, err := svc.Health(cmd.Context()); err != nil {
					return err
				}
				if err := jobstate.Sleep(cmd.Context(), d); err != nil {
					return err
				}
			}
			rep, err := svc.Health(cmd.Context())
			if err != nil {
				return err
			}
			if err := a.emit(rep, func(w io.Writer) { printHealth(w, rep) }); err != nil {
				return err
			}
			if !rep.OK {
				return fmt.Errorf("%w: %d problem(s)", errUnhealthy, len(rep.Problems))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&sample, "sample", "", "observe consumer groups for this long first (such as 30s), so lag statuses are known")
	return cmd
}

func printHealth(w io.Writer, rep ops.HealthReport) {
	if rep.OK {
		fmt.Fprintln(w, "OK")
		return
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(w, "PROBLEM: "+p)
	}
}

// watchGroup samples a group every interval for d (so its lag status is
// known) and returns the last description.
func watchGroup(ctx context.Context, svc ops.Service, group string, d time.Duration) (ops.GroupDetail, error) {
	interval := min(max(d/5, 100*time.Millisecond), 10*time.Second)
	deadline := time.Now().Add(d)
	for {
		gd, err := svc.DescribeGroup(ctx, "", group)
		if err != nil || !time.Now().Before(deadline) {
			return gd, err
		}
		if err := jobstate.Sleep(ctx, min(interval, time.Until(deadline))); err != nil {
			return gd, err
		}
	}
}
