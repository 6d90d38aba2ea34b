package ops

import (
	"context"
	"fmt"

	"github.com/kdeck/kdeck/connect"
)

// SlotDropPlan is what dropping a postgres-cdc connector's replication slot
// would do: the slot as it is now and what follows.
type SlotDropPlan struct {
	Job string `json:"job"`
	connect.SlotInfo
	// Consequence says what dropping means for the connector.
	Consequence string `json:"consequence"`
}

// SlotDropper is implemented by services that host connector
// configurations and can reach their databases (Local): it previews and
// performs dropping a postgres-cdc connector's replication slot. It is an
// extension of Service, not part of it: a face asks for it with a type
// assertion and says so when the service it holds lacks it.
type SlotDropper interface {
	// PlanDropSlot reads the slot of postgres-cdc connector job; it changes
	// nothing.
	PlanDropSlot(ctx context.Context, job string) (SlotDropPlan, error)
	// DropSlot drops the slot of a plan, refused unless the connector is
	// STOPPED (or not hosted by this process), in read-only mode, or when
	// the slot is gone. Audited ("connect.slot.drop"); not undoable.
	DropSlot(ctx context.Context, plan SlotDropPlan, command string) (AuditEntry, error)
}

var _ SlotDropper = (*Local)(nil)

// PlanDropSlot implements SlotDropper.
func (l *Local) PlanDropSlot(ctx context.Context, job string) (SlotDropPlan, error) {
	h, err := l.job(job)
	if err != nil {
		return SlotDropPlan{}, err
	}
	if h.kind != KindConnector || h.class != "postgres-cdc" {
		return SlotDropPlan{}, invalidf("job %q is a %s %s, not a postgres-cdc connector: it has no replication slot", job, h.class, h.kind)
	}
	info, err := connect.PostgresSlot(ctx, l.registry(), h.spec.Table)
	if err != nil {
		return SlotDropPlan{}, fmt.Errorf("job %q: %w", job, err)
	}
	p := SlotDropPlan{Job: job, SlotInfo: info}
	if !info.Exists {
		p.Consequence = fmt.Sprintf("replication slot %s does not exist in database %s: nothing to drop", info.Slot, info.Database)
	} else {
		p.Consequence = fmt.Sprintf("drops replication slot %s in database %s, releasing %d bytes of WAL; %s cannot resume from it: reset its offsets ('kdeck connect offsets %s --reset') so that it snapshots again, with a new slot. Not undoable.",
			info.Slot, info.Database, info.WALRetainedBytes, job, job)
	}
	return p, nil
}

// DropSlot implements SlotDropper.
func (l *Local) DropSlot(ctx context.Context, plan SlotDropPlan, command string) (AuditEntry, error) {
	h, err := l.job(plan.Job)
	if err != nil {
		return AuditEntry{}, err
	}
	if err := l.checkWritable(ctx, fmt.Sprintf("drop the replication slot of %q", plan.Job)); err != nil {
		return AuditEntry{}, err
	}
	if h.class != "postgres-cdc" {
		return AuditEntry{}, invalidf("job %q is not a postgres-cdc connector: it has no replication slot", plan.Job)
	}
	if st := l.sup().status(h).State; st != StateStopped && st != StateUnassigned {
		return AuditEntry{}, refusedf("connector %q is %s: its slot can be dropped only while it is STOPPED; stop it first ('kdeck connect stop %s')", plan.Job, st, plan.Job)
	}
	if !plan.Exists {
		return AuditEntry{}, refusedf("replication slot %s does not exist: nothing to drop", plan.Slot)
	}
	entry := AuditEntry{Action: "connect.slot.drop", Job: plan.Job, Cluster: h.cluster, Command: command, Details: map[string]string{
		"slot": plan.Slot, "database": plan.Database, "confirmed_lsn": plan.ConfirmedLSN, "wal_retained_bytes": fmt.Sprint(plan.WALRetainedBytes),
	}}
	err = connect.DropPostgresSlot(ctx, l.registry(), h.spec.Table)
	return l.recordAudit(ctx, entry, err), err
}
