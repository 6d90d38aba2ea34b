package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kdeck/kdeck/ops"
)

// newConnectDropSlotCmd previews, and with --execute performs, dropping a
// postgres-cdc connector's replication slot.
func newConnectDropSlotCmd(a *app) *cobra.Command {
	var execute bool
	cmd := &cobra.Command{
		Use:   "drop-slot NAME",
		Short: "Preview (and with --execute drop) a postgres-cdc connector's replication slot",
		Long: `Show the replication slot of a postgres-cdc connector (confirmed LSN, WAL it
retains) and what dropping it means; --execute drops it. The connector must be
STOPPED. Dropping releases the WAL the slot holds, is audited
(connect.slot.drop) and cannot be undone: the connector cannot resume from the
slot and must snapshot again (kdeck connect offsets NAME --reset).`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeConnectors,
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			sd, ok := svc.(ops.SlotDropper)
			if !ok {
				return fmt.Errorf("this service cannot drop replication slots: run 'kdeck connect drop-slot %s' with the worker's configuration (--server none)", args[0])
			}
			plan, err := sd.PlanDropSlot(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if !execute {
				return a.emit(plan, func(w io.Writer) {
					fmt.Fprintf(w, "slot %s in database %s: exists %v, active %v, confirmed LSN %s, WAL retained %d bytes\n%s\n",
						plan.Slot, plan.Database, plan.Exists, plan.Active, orDash(plan.ConfirmedLSN), plan.WALRetainedBytes, plan.Consequence)
					if plan.Exists {
						fmt.Fprintln(w, "dry run: nothing changed; add --execute to drop it")
					}
				})
			}
			e, err := sd.DropSlot(cmd.Context(), plan, strings.Join(os.Args, " "))
			if err != nil {
				return err
			}
			return a.emit(e, func(w io.Writer) {
				fmt.Fprintf(w, "dropped replication slot %s of %s (audit %s); reset its offsets before starting it again\n", plan.Slot, args[0], e.ID)
			})
		},
	}
	cmd.Flags().BoolVar(&execute, "execute", false, "drop the slot (default: preview only)")
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
