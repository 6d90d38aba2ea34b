package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

func newClustersCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "clusters",
		Short: "Show each cluster: reachable, cluster id, controller, brokers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			cis, err := svc.Clusters(cmd.Context())
			if err != nil {
				return err
			}
			if err := a.emit(cis, func(w io.Writer) {
				t := newTable("CLUSTER", "REACHABLE", "CLUSTER ID", "CONTROLLER", "BROKERS", "TOPICS", "GROUPS", "BOOTSTRAP / ERROR").Right(3, 5, 6).Flex(7, 2)
				for _, c := range cis {
					reach, ctl, tail := "yes", fmt.Sprint(c.Controller), strings.Join(c.Bootstrap, ",")
					if !c.Reachable {
						reach, ctl, tail = "NO", "-", c.Error
					}
					var bs []string
					for _, b := range c.Brokers {
						bs = append(bs, fmt.Sprintf("%d@%s:%d", b.ID, b.Host, b.Port))
					}
					t.Row(c.Name, reach, c.ClusterID, ctl, strings.Join(bs, ","), c.Topics, c.Groups, tail)
				}
				t.Write(w)
			}); err != nil {
				return err
			}
			for _, c := range cis {
				if !c.Reachable && len(cis) == 1 {
					return fmt.Errorf("%s", c.Error)
				}
			}
			return nil
		},
	}
}
